"""Live TensorBoard: one run per trial under ``RUN_DIR/tensorboard/<trial_id>``.

Scalars are written by a background thread as results arrive and flushed every
``flush_secs``, so ``tensorboard --logdir RUN_DIR`` shows running trials. Each run also
carries the HParams summaries (searched and fixed parameters, the objective metric),
so TensorBoard's HParams view compares trials.

URI storage (``s3://...``): TensorBoard writes only to local files (without extra
dependencies), so event files are written to a local staging directory (under
``TMPDIR``) and every file that grew since the last upload is copied to
``RUN_DIR/tensorboard/`` at each flush (at most every ``flush_secs``) and when a trial
ends; the staging directory is removed at the end of the experiment. See docs/storage.md
for pointing ``tensorboard --logdir`` at the bucket.
"""

from __future__ import annotations

import math
import posixpath
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import pyarrow.fs as pafs
from ray.tune import Callback

from tune_jobs.names import TENSORBOARD_DIR
from tune_jobs.results.background import BackgroundWorker
from tune_jobs.results.rows import flatten, metrics_of
from tune_jobs.results.storage import RunStorage
from tune_jobs.trial.meta import effective_config

__all__ = ["TensorBoardSink"]
_SKIP_SCALARS = frozenset({"training_iteration", "timestamp", "time_this_iter_s"})


class TensorBoardSink(Callback):
    """Tune callback writing each trial's numeric metrics to TensorBoard event files.

    Args:
        storage: the spec's ``storage``; name: experiment name.
        metric: the objective, listed as the HParams metric.
        flush_secs: how often event files are flushed (and uploaded for URIs).
    """

    def __init__(self, storage: str, name: str, metric: str, flush_secs: float = 2.0) -> None:
        self._storage_spec = storage
        self._name = name
        self._metric = metric
        self._flush_secs = flush_secs
        self._init_runtime()

    def _init_runtime(self) -> None:
        self._worker: BackgroundWorker | None = None
        self._writers: dict[str, Any] = {}
        self._local_root: Path | None = None
        self._run: RunStorage | None = None
        self._last_upload = 0.0
        self._uploaded: dict[str, int] = {}
        self._staging: Path | None = None

    def __getstate__(self) -> dict[str, Any]:
        keep = ("_storage_spec", "_name", "_metric", "_flush_secs")
        return {k: self.__dict__[k] for k in keep}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._init_runtime()

    def setup(self, **info: Any) -> None:
        """Pick the event-file directory and start the writer thread."""
        self._run = RunStorage.for_run(self._storage_spec, self._name)
        if self._run.is_local:
            self._local_root = Path(self._run.path(TENSORBOARD_DIR))
        else:
            self._staging = Path(tempfile.mkdtemp(prefix="tune-jobs-tb-"))
            self._local_root = self._staging / TENSORBOARD_DIR
        self._local_root.mkdir(parents=True, exist_ok=True)
        # Import the writer now: importing it at the first result (on the writer
        # thread) holds the GIL long enough to stall the controller.
        import torch.utils.tensorboard  # noqa: F401

        self._worker = BackgroundWorker("tune-jobs-tensorboard")

    def on_trial_result(
        self, iteration: int, trials: list, trial: Any, result: dict, **info: Any
    ) -> None:
        if self._worker is None:
            return
        step = int(result.get("training_iteration") or 0)
        scalars = {
            k: float(v)
            for k, v in metrics_of(result).items()
            if k not in _SKIP_SCALARS and isinstance(v, (int, float)) and not isinstance(v, bool)
        }
        tid = trial.trial_id
        config = dict(trial.config) if tid not in self._writers else None
        self._worker.submit(lambda: self._write(tid, config, step, scalars))

    def on_trial_complete(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self._close(trial.trial_id)

    def on_trial_error(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self._close(trial.trial_id)

    def on_experiment_end(self, trials: list, **info: Any) -> None:
        if self._worker is None:
            return
        for tid in list(self._writers):
            self._close(tid)
        self._worker.submit(lambda: self._upload(force=True))
        try:
            self._worker.close()
        finally:
            if self._staging is not None:
                shutil.rmtree(self._staging, ignore_errors=True)
                self._staging = None

    # --- writer thread ----------------------------------------------------------
    def _write(self, tid: str, config: dict | None, step: int, scalars: dict[str, float]) -> None:
        writer = self._writers.get(tid)
        if writer is None:
            writer = self._open(tid, config or {})
        for tag, value in scalars.items():
            writer.add_scalar(tag, value, global_step=step)
        self._upload(force=False)

    def _open(self, tid: str, config: dict[str, Any]) -> Any:
        from torch.utils.tensorboard import SummaryWriter
        from torch.utils.tensorboard.summary import hparams

        assert self._local_root is not None
        writer = SummaryWriter(str(self._local_root / tid), flush_secs=self._flush_secs)
        plain, variant = effective_config(config)
        params = {k: _hparam_value(v) for k, v in flatten(plain, sep=".").items()}
        if variant:
            params["variant"] = str(variant)
        exp, ssi, sei = hparams(params, {self._metric: math.nan})
        for summary in (exp, ssi, sei):
            writer.file_writer.add_summary(summary)
        self._writers[tid] = writer
        return writer

    def _close(self, tid: str) -> None:
        if self._worker is None:
            return

        def job() -> None:
            # Dropped, not kept closed: a finished trial's writer would otherwise stay
            # in memory for the rest of the sweep (~50 KiB each); a restored trial that
            # reports again opens a new event file in the same directory.
            writer = self._writers.pop(tid, None)
            if writer is not None:
                writer.close()
            self._upload(force=True)

        self._worker.submit(job)

    def _upload(self, force: bool) -> None:
        """Copy event files that changed to URI storage (no-op for local RUN_DIRs)."""
        run = self._run
        if run is None or run.is_local or self._local_root is None:
            return
        if not force and time.monotonic() - self._last_upload < self._flush_secs:
            return
        for writer in self._writers.values():
            writer.flush()
        local = pafs.LocalFileSystem()
        for info in local.get_file_info(pafs.FileSelector(str(self._local_root), recursive=True)):
            if info.type != pafs.FileType.File or self._uploaded.get(info.path) == info.size:
                continue
            rel = Path(info.path).relative_to(self._local_root).as_posix()
            target = run.path(TENSORBOARD_DIR, rel)
            run.fs.create_dir(posixpath.dirname(target), recursive=True)
            pafs.copy_files(
                info.path, target, source_filesystem=local, destination_filesystem=run.fs
            )
            self._uploaded[info.path] = info.size
        self._last_upload = time.monotonic()


def _hparam_value(value: Any) -> Any:
    """HParams accept numbers, strings and booleans; render everything else as text."""
    if isinstance(value, (bool, int, float, str)):
        return value
    return "null" if value is None else str(value)
