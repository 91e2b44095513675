"""The Parquet results sink: ``RUN_DIR/metrics/`` (one row per result) and ``trials.parquet``.

Exactly-once, how: Tune re-reports iterations after a restore, so each row carries
``attempt``, bumped whenever a trial's results restart (``iterations_since_restore``
back to 1, or ``training_iteration`` not increasing). Rows are buffered and written by
a background thread; the buffer is flushed synchronously in ``get_state``, which Tune
calls right before it writes each experiment snapshot. So every result older than the
snapshot a resumed driver restarts from is on disk, and every newer one is reported
again by the restored trial (with a higher attempt): nothing is lost, and nothing is
written twice within an attempt. Readers take the clean view (``analysis.load``).

Stages and repeats: every row carries ``stage`` (1 unless the sweep is staged); trial
rows also carry ``config_id`` and ``repeat`` (``tune_jobs.results.ranking``). A later stage is
another Tune experiment with its own sink: at setup it reads back the rows of earlier
stages from ``trials.parquet`` (and the union schema of ``metrics/``) and keeps writing
them, so both tables hold every stage.
"""

from __future__ import annotations

import re
import time
import uuid
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from ray.tune import Callback

from tune_jobs.names import (
    BOOKKEEPING_COLUMNS,
    DIVERGED,
    ERROR,
    METRICS_DIR,
    PENDING,
    SCHEMA_PART,
    SKIPPED,
    TERMINATED,
    TRIALS_FILE,
)
from tune_jobs.results.background import BackgroundWorker
from tune_jobs.results.repeats import config_id, repeat_index
from tune_jobs.results.rows import flatten, metrics_of, rows_to_table, rows_to_table_inferred
from tune_jobs.results.storage import RunStorage
from tune_jobs.trial.meta import effective_config

__all__ = ["ParquetResultsSink"]

_ERROR_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Exit|Interrupt|Failure)\b.*")


class ParquetResultsSink(Callback):
    """Tune callback writing every reported result to Parquet, exactly once per attempt.

    Args:
        storage: the spec's ``storage`` (local directory or URI).
        name: the experiment name (RUN_DIR = storage/name).
        flush_interval_s: write buffered rows at least this often.
        max_buffered_rows: write as soon as this many rows are buffered.
        stage: the stage this experiment runs (1 unless the sweep is staged).
        seed_key: the config key repeats set (left out of ``config_id``).
        seed_base: the first seed of each configuration's repeats.
        repeats: runs per configuration.
    """

    # Defaults for sinks unpickled from runs made before these settings existed.
    _stage = 1
    _seed_key = "seed"
    _seed_base = 0
    _repeats = 1

    def __init__(
        self,
        storage: str,
        name: str,
        flush_interval_s: float = 2.0,
        max_buffered_rows: int = 5000,
        *,
        stage: int = 1,
        seed_key: str = "seed",
        seed_base: int = 0,
        repeats: int = 1,
        sweep_state: Any = None,
    ) -> None:
        self._sweep_state = sweep_state
        self._stage = stage
        self._seed_key = seed_key
        self._seed_base = seed_base
        self._repeats = repeats
        self._storage_spec = storage
        self._name = name
        self._flush_interval_s = flush_interval_s
        self._max_buffered_rows = max_buffered_rows
        # Persistent state (saved with each experiment snapshot).
        self._attempts: dict[str, int] = {}
        self._last_iteration: dict[str, int] = {}
        self._latest_metrics: dict[str, dict[str, Any]] = {}
        self._final_status: dict[str, str] = {}
        self._errors: dict[str, str] = {}
        self._schema: dict[str, pa.DataType] = {}
        self._schema_written = 0
        self._next_part = 1
        self._rows_written = 0
        self._init_runtime()

    def _init_runtime(self) -> None:
        self._run: RunStorage | None = None
        self._reconcile_attempts = False
        self._worker: BackgroundWorker | None = None
        self._buffer: list[dict[str, Any]] = []
        self._trials: dict[str, Any] = {}
        self._carried: list[dict[str, Any]] = []
        self._trials_dirty = False
        self._last_flush = time.monotonic()
        self._session = uuid.uuid4().hex[:8]

    # Tune pickles callbacks into tuner.pkl: keep threads and handles out of it.
    def __getstate__(self) -> dict[str, Any]:
        runtime = {
            "_run",
            "_worker",
            "_buffer",
            "_trials",
            "_carried",
            "_trials_dirty",
            "_last_flush",
            "_session",
            "_reconcile_attempts",
        }
        return {k: v for k, v in self.__dict__.items() if k not in runtime}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._init_runtime()

    @property
    def rows_written(self) -> int:
        """Result rows written to ``metrics/`` so far (all sessions of this run)."""
        return self._rows_written

    def setup(self, **info: Any) -> None:
        """Open RUN_DIR and start the writer thread."""
        self._run = RunStorage.for_run(self._storage_spec, self._name)
        self._run.makedirs(METRICS_DIR)
        if self._stage > 1:
            self._carry_earlier_stages()
        self._worker = BackgroundWorker("tune-jobs-parquet")

    def _carry_earlier_stages(self) -> None:
        """Keep earlier stages' trial rows, and extend (never replace) their schema."""
        assert self._run is not None
        if self._run.exists(TRIALS_FILE):
            with self._run.fs.open_input_file(self._run.path(TRIALS_FILE)) as f:
                rows = pq.read_table(f).to_pylist()
            self._carried = [r for r in rows if (r.get("stage") or 1) < self._stage]
        if not self._schema and self._run.exists(METRICS_DIR, SCHEMA_PART):
            with self._run.fs.open_input_file(self._run.path(METRICS_DIR, SCHEMA_PART)) as f:
                schema = pq.read_schema(f)
            self._schema = {name: schema.field(name).type for name in schema.names}
            self._schema_written = len(self._schema)

    # --- Tune hooks -------------------------------------------------------------
    def on_trial_start(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self._final_status.pop(trial.trial_id, None)
        self._touch(trial)

    def on_trial_restore(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self._touch(trial)

    def on_trial_result(
        self, iteration: int, trials: list, trial: Any, result: dict, **info: Any
    ) -> None:
        tid = trial.trial_id
        step = result.get("training_iteration")
        if self._reconcile_attempts and self._run is not None:
            self._reconcile()
        if tid not in self._attempts:
            self._attempts[tid] = 0
        elif result.get("iterations_since_restore") == 1 or (
            step is not None and step <= self._last_iteration.get(tid, -1)
        ):
            self._attempts[tid] += 1
        if step is not None:
            self._last_iteration[tid] = step
        metrics = metrics_of(result)
        self._latest_metrics.setdefault(tid, {}).update(metrics)
        row = {"trial_id": tid, "attempt": self._attempts[tid], "stage": self._stage, **metrics}
        if result.get("checkpoint_dir_name"):  # which result a checkpoint belongs to
            row["checkpoint_dir_name"] = str(result["checkpoint_dir_name"])
        self._buffer.append(row)
        self._touch(trial, flush=False)
        if (
            len(self._buffer) >= self._max_buffered_rows
            or time.monotonic() - self._last_flush >= self._flush_interval_s
        ):
            self._flush_async()

    def on_trial_complete(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self._final_status[trial.trial_id] = _completed_status(
            trial, self._latest_metrics.get(trial.trial_id, {})
        )
        self._errors.pop(trial.trial_id, None)
        self._touch(trial)

    def on_trial_error(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self._final_status[trial.trial_id] = ERROR
        self._errors[trial.trial_id] = _error_summary(trial)
        self._touch(trial)

    def on_trial_recover(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self._errors[trial.trial_id] = _error_summary(trial)
        self._touch(trial)

    def on_experiment_end(self, trials: list, **info: Any) -> None:
        for trial in trials:
            self._trials[trial.trial_id] = trial
            tid = trial.trial_id
            if tid in self._final_status:
                continue
            if trial.status == TERMINATED and self._sweep_stopped():
                # Stopped with the whole sweep (target reached, budget spent): Tune sets
                # the status without a completion event.
                metrics = self._latest_metrics.get(tid, {})
                self._final_status[tid] = _completed_status(trial, metrics) if metrics else SKIPPED
            elif trial.status != PENDING:
                # Stopped by Ctrl-C (no completion or error event; Tune's clean-up may
                # have set TERMINATED): resumable, not finished.
                self._final_status[tid] = "INTERRUPTED"
        self._trials_dirty = True
        self._flush_async()
        if self._worker is not None:
            self._worker.close()

    def _sweep_stopped(self) -> bool:
        """Whether the sweep's stopper ended the sweep (``sweep_state.sweep_stopped``)."""
        return bool(getattr(self._sweep_state, "sweep_stopped", None))

    def get_state(self) -> dict[str, Any]:
        """Flush everything, then hand Tune the state to snapshot."""
        self._flush_async()
        if self._worker is not None:
            self._worker.drain()
        # The sweep state is shared with the stopper (restored with tuner.pkl): not ours.
        return {k: v for k, v in self.__getstate__().items() if k != "_sweep_state"}

    def set_state(self, state: dict[str, Any]) -> None:
        """Restore counters after ``Tuner.restore`` (attempts continue from here)."""
        for key, value in state.items():
            setattr(self, key, value)
        # The snapshot can lag what was written after it (a driver killed between two
        # snapshots): attempts continue after the newest attempt on disk, so rows of a
        # re-run never share an attempt number with rows already written.
        self._reconcile_attempts = True

    def _attempts_on_disk(self) -> dict[str, int]:
        """The highest ``attempt`` per trial in ``metrics/`` (empty if none written)."""
        import pyarrow.dataset as ds

        assert self._run is not None
        if not self._run.exists(METRICS_DIR):
            return {}
        table = ds.dataset(
            self._run.path(METRICS_DIR), filesystem=self._run.fs, format="parquet"
        ).to_table(columns=["trial_id", "attempt"])
        if table.num_rows == 0:
            return {}
        grouped = table.group_by("trial_id").aggregate([("attempt", "max")])
        ids, newest = grouped["trial_id"].to_pylist(), grouped["attempt_max"].to_pylist()
        return dict(zip(ids, newest, strict=True))

    def _reconcile(self) -> None:
        self._reconcile_attempts = False
        for tid, newest in self._attempts_on_disk().items():
            if newest is not None and newest > self._attempts.get(tid, -1):
                self._attempts[tid] = int(newest)
                self._last_iteration[tid] = 1 << 62  # the next result starts a new attempt

    # --- writing ----------------------------------------------------------------
    def _touch(self, trial: Any, flush: bool = True) -> None:
        self._trials[trial.trial_id] = trial
        self._trials_dirty = True
        if flush:
            self._flush_async()

    def _flush_async(self) -> None:
        if self._worker is None or self._run is None:
            return
        self._last_flush = time.monotonic()
        rows, self._buffer = self._buffer, []
        trial_rows = self._trial_rows() if self._trials_dirty else None
        self._trials_dirty = False
        if not rows and trial_rows is None:
            return
        part = None
        if rows:
            part = self._next_part
            self._next_part += 1
            self._rows_written += len(rows)
        self._worker.submit(lambda: self._write(rows, part, trial_rows))

    def _write(self, rows: list[dict[str, Any]], part: int | None, trial_rows: Any) -> None:
        assert self._run is not None
        if rows and part is not None:
            table = rows_to_table(rows, self._schema)
            if len(self._schema) != self._schema_written:
                self._run.write_parquet(table.schema.empty_table(), METRICS_DIR, SCHEMA_PART)
                self._schema_written = len(self._schema)
            name = f"part-{part:08d}-{self._session}.parquet"
            self._run.write_parquet(table, METRICS_DIR, name)
        if trial_rows is not None:
            rows_list, columns = trial_rows
            self._run.write_parquet(rows_to_table_inferred(rows_list, columns), TRIALS_FILE)

    def _trial_rows(self) -> tuple[list[dict[str, Any]], list[str]]:
        """One row per known trial, built on the controller thread (reads Trial objects)."""
        rows = list(self._carried)
        for tid, trial in self._trials.items():
            config, variant = effective_config(trial.config)
            row: dict[str, Any] = {
                "trial_id": tid,
                "trial_name": str(trial),
                "status": self._final_status.get(tid, trial.status),
                "variant": variant,
                "stage": self._stage,
                "config_id": config_id(config, self._seed_key),
                "repeat": repeat_index(config, self._seed_key, self._seed_base, self._repeats),
                "attempt": self._attempts.get(tid, 0),
                "num_failures": trial.num_failures,
                "error": self._errors.get(tid),
                "path": _trial_path(trial),
            }
            row.update({f"config/{k}": v for k, v in flatten(config, sep=".").items()})
            row.update(self._latest_metrics.get(tid, {}))
            rows.append(row)
        seen: dict[str, None] = {}
        for row in rows:
            seen.update(dict.fromkeys(row))
        # Bookkeeping first, then every config/ column together, then the metrics.
        config_columns = [c for c in seen if c.startswith("config/")]
        columns = [*BOOKKEEPING_COLUMNS, *config_columns]
        columns += [c for c in seen if c not in set(columns)]
        return rows, columns


def _completed_status(trial: Any, metrics: dict[str, Any]) -> str:
    """``DIVERGED`` for a trial whose results say so, ``SKIPPED`` for one stopped
    before it ever started (the sweep stopped: target reached, budget spent)."""
    if metrics.get("diverged") is True:
        return DIVERGED
    if trial.status == PENDING and not metrics:
        return SKIPPED
    return TERMINATED


def _trial_path(trial: Any) -> str | None:
    """Where Tune keeps the trial's files (None before the trial first started)."""
    try:
        return trial.path
    except RuntimeError:
        return None


def _error_summary(trial: Any) -> str:
    """The last exception line from the trial's error file, on one line."""
    path = getattr(trial, "error_file", None)
    try:
        text = Path(path).read_text(errors="replace") if path else ""
    except OSError:
        text = ""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    matches = [line for line in lines if _ERROR_LINE.match(line)]
    summary = (matches or lines or ["unknown error"])[-1]
    return summary[:500]
