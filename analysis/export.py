"""Export sweep results: the best configurations (spec fragment, JSON, checkpoint) and CSV.

Ray Tune keeps a trial's checkpoints in its trial directory (``trials.parquet``'s
``path``; ``RUN_DIR/<trial_id>`` or ``RUN_DIR/stages/stage<k>/<trial_id>``) as
``checkpoint_<index>/`` directories; the highest index is the latest. The best one is
the existing checkpoint whose result (the metrics row naming it in ``checkpoint_dir_name``)
scored best on the metric; keep the best ones from being pruned with the spec's
``keep_best_checkpoints``. The iteration of the latest checkpoint is read from Tune's
``experiment_state-*.json`` next to the trial directory when its last result names it.
"""

from __future__ import annotations

import contextlib
import json
import math
import posixpath
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.fs as pafs
import yaml

from tune_jobs.nested import set_dotted
from tune_jobs.results.storage import RunStorage

__all__ = [
    "CHECKPOINT_CHOICES",
    "CheckpointRef",
    "best_checkpoint",
    "best_config",
    "export_ranked",
    "latest_checkpoint",
    "spec_fragment",
    "write_summary_csv",
]

_CHECKPOINT_DIR = re.compile(r"^checkpoint_(\d+)$")

#: ``tune-jobs best --checkpoint``: the best-scoring existing checkpoint, or the newest.
CHECKPOINT_CHOICES = ("best", "latest")
_META_KEYS = ("__trial_meta__",)


@dataclass(frozen=True)
class CheckpointRef:
    """A trial's checkpoint directory on some filesystem."""

    fs: pafs.FileSystem
    path: str
    """The ``checkpoint_<index>`` directory's path on ``fs``."""
    index: int
    iteration: int | None
    """``training_iteration`` of the result it was saved with (``None``: not recorded)."""

    @property
    def name(self) -> str:
        """``checkpoint_<index>``."""
        return posixpath.basename(self.path)


def best_config(row: pd.Series, param_columns: list[str] | None = None) -> dict[str, Any]:
    """The trial's resolved parameters as a nested dict (``config/a.b`` -> ``{a: {b: ..}}``).

    Missing values (a parameter another variant has) are left out; numpy scalars become
    plain Python values so the dict dumps to YAML and JSON.
    """
    columns = param_columns or [c for c in row.index if str(c).startswith("config/")]
    config: dict[str, Any] = {}
    for column in columns:
        key = str(column).removeprefix("config/")
        value = _plain(row.get(column))
        if value is None or key.split(".")[0] in _META_KEYS:
            continue
        set_dotted(config, key, value)
    return config


def spec_fragment(config: dict[str, Any], spec: dict[str, Any], header: str | None = None) -> str:
    """A spec that re-runs one configuration: the run's trainable, metric, mode,
    resources and stop rules, and ``config:`` with every resolved parameter (no
    ``space:``, so one trial)."""
    fragment: dict[str, Any] = {}
    if spec.get("name"):
        fragment["name"] = f"{spec['name']}-best"
    for key in ("trainable", "metric", "mode"):
        if spec.get(key) is not None:
            fragment[key] = spec[key]
    for key in ("resources", "stop"):
        kept = {k: v for k, v in (spec.get(key) or {}).items() if v not in (None, {}, [])}
        if kept:
            fragment[key] = kept
    fragment["config"] = config
    text = yaml.safe_dump(fragment, sort_keys=False, default_flow_style=False)
    return (f"# {header}\n" if header else "") + text


def trial_directory(run: RunStorage, row: pd.Series) -> tuple[pafs.FileSystem, str] | None:
    """Where Tune kept the trial's files, or ``None`` if no candidate exists."""
    trial_id = str(row["trial_id"])
    candidates: list[tuple[pafs.FileSystem, str]] = []
    recorded = row.get("path")
    if isinstance(recorded, str) and recorded:
        if "://" in recorded:
            fs, path = pafs.FileSystem.from_uri(recorded)
            candidates.append((fs, path.rstrip("/")))
        else:
            candidates.append((run.fs, recorded.rstrip("/")))
    stage = _plain(row.get("stage"))
    if isinstance(stage, int) and stage > 1:
        candidates.append((run.fs, run.path("stages", f"stage{stage}", trial_id)))
    candidates.append((run.fs, run.path(trial_id)))
    for fs, path in candidates:
        if fs.get_file_info(path).type == pafs.FileType.Directory:
            return fs, path
    return None


def _trial_checkpoints(run: RunStorage, row: pd.Series) -> tuple[str, list[CheckpointRef]]:
    """The trial directory and its ``checkpoint_<index>`` directories, oldest first."""
    found = trial_directory(run, row)
    if found is None:
        return "", []
    fs, trial_path = found
    refs = [
        CheckpointRef(fs, info.path, int(match.group(1)), None)
        for info in fs.get_file_info(pafs.FileSelector(trial_path))
        if info.type == pafs.FileType.Directory and (match := _CHECKPOINT_DIR.match(info.base_name))
    ]
    return trial_path, sorted(refs, key=lambda ref: ref.index)


def latest_checkpoint(run: RunStorage, row: pd.Series) -> CheckpointRef | None:
    """The trial's newest ``checkpoint_<index>`` directory, or ``None`` if it has none."""
    trial_path, refs = _trial_checkpoints(run, row)
    if not refs:
        return None
    newest = refs[-1]
    iteration = _checkpoint_iteration(newest.fs, trial_path, str(row["trial_id"]), newest.name)
    return CheckpointRef(newest.fs, newest.path, newest.index, iteration)


def best_checkpoint(
    run: RunStorage, row: pd.Series, metrics: pd.DataFrame, metric: str, mode: str
) -> CheckpointRef | None:
    """The trial's existing checkpoint whose result scored best on ``metric`` (ties: the
    newer one), from the clean ``metrics`` view; ``None`` when no existing checkpoint's
    result reports ``metric`` (runs written before rows named their checkpoint)."""
    _, refs = _trial_checkpoints(run, row)
    by_name = {ref.name: ref for ref in refs}
    if not by_name or "checkpoint_dir_name" not in metrics.columns or metric not in metrics:
        return None
    rows = metrics[
        (metrics["trial_id"] == row["trial_id"]) & metrics["checkpoint_dir_name"].isin(by_name)
    ]
    rows = rows[pd.to_numeric(rows[metric], errors="coerce").map(_finite)]
    if rows.empty:
        return None
    ordered = rows.sort_values([metric, "training_iteration"], ascending=[mode == "min", False])
    chosen = ordered.iloc[0]
    ref = by_name[str(chosen["checkpoint_dir_name"])]
    return CheckpointRef(ref.fs, ref.path, ref.index, _plain(chosen["training_iteration"]))


def _finite(value: Any) -> bool:
    return isinstance(value, float | int) and math.isfinite(value)


def _checkpoint_iteration(
    fs: pafs.FileSystem, trial_path: str, trial_id: str, name: str
) -> int | None:
    """``training_iteration`` of the result that saved checkpoint ``name``, from Tune's
    newest experiment state (only known when it was the trial's last result)."""
    parent = posixpath.dirname(trial_path)
    states = sorted(
        info.path
        for info in fs.get_file_info(pafs.FileSelector(parent))
        if info.base_name.startswith("experiment_state-") and info.base_name.endswith(".json")
    )
    for state_path in reversed(states):
        try:
            with fs.open_input_stream(state_path) as f:
                state = json.loads(f.readall())
        except (OSError, ValueError):
            continue
        for entry in state.get("trial_data", []):
            try:
                meta, runtime = (json.loads(part) for part in entry)
            except (TypeError, ValueError):
                continue
            if meta.get("trial_id") != trial_id:
                continue
            last = runtime.get("last_result") or {}
            if last.get("checkpoint_dir_name") == name:
                return _plain(last.get("training_iteration"))
            return None
    return None


def export_ranked(
    run_dir: str,
    ranked: pd.DataFrame,
    out_dir: str | Path,
    metric: str,
    mode: str,
    spec: dict[str, Any],
    param_columns: list[str] | None = None,
    checkpoint: str = "best",
) -> list[dict[str, Any]]:
    """Write each row of ``ranked`` (best first) with its checkpoint; returns the metadata.

    One row: ``out_dir/best.yaml``, ``best.json``, ``metadata.json`` and ``checkpoint/``
    (the files of the trial's best-scoring existing checkpoint, or with
    ``checkpoint="latest"`` or no score recorded its newest one). Several rows: the same
    in ``out_dir/rank01_<trial_id>/`` ..., plus ``out_dir/top.json`` listing them all.
    """
    if checkpoint not in CHECKPOINT_CHOICES:
        raise ValueError(f"checkpoint must be one of {CHECKPOINT_CHOICES}; got {checkpoint!r}")
    run = RunStorage.open(run_dir)
    metrics = pd.DataFrame()
    if checkpoint == "best":
        from analysis.load import load_metrics

        metrics = load_metrics(run_dir)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    several = len(ranked) > 1
    written: list[dict[str, Any]] = []
    for rank, (_, row) in enumerate(ranked.iterrows(), start=1):
        target = out / f"rank{rank:02d}_{row['trial_id']}" if several else out
        chosen = best_checkpoint(run, row, metrics, metric, mode) if checkpoint == "best" else None
        choice = ("best", chosen) if chosen is not None else ("latest", latest_checkpoint(run, row))
        written.append(
            _export_one(run_dir, row, rank, target, metric, mode, spec, param_columns, choice)
        )
    if several:
        (out / "top.json").write_text(json.dumps(written, indent=2) + "\n")
    return written


def _export_one(
    run_dir: str,
    row: pd.Series,
    rank: int,
    target: Path,
    metric: str,
    mode: str,
    spec: dict[str, Any],
    param_columns: list[str] | None,
    choice: tuple[str, CheckpointRef | None],
) -> dict[str, Any]:
    target.mkdir(parents=True, exist_ok=True)
    config = best_config(row, param_columns)
    value = _plain(row.get(metric))
    header = f"rank {rank}: trial {row['trial_id']} of {run_dir}, {metric}={value} ({mode})"
    (target / "best.yaml").write_text(spec_fragment(config, spec, header))
    (target / "best.json").write_text(json.dumps(config, indent=2) + "\n")
    chosen_as, checkpoint = choice
    meta: dict[str, Any] = {
        "rank": rank,
        "trial_id": str(row["trial_id"]),
        "metric": metric,
        "mode": mode,
        "value": value,
        "config": config,
        "status": _plain(row.get("status")),
        "variant": _plain(row.get("variant")),
        "stage": _plain(row.get("stage")),
        "source_run_dir": run_dir,
        "trial_iteration": _plain(row.get("training_iteration")),
        "checkpoint": None,
        "iteration": None,
        "checkpoint_source": None,
    }
    if checkpoint is not None:
        dest = target / "checkpoint"
        dest.mkdir(parents=True, exist_ok=True)  # copy_files does not create it locally
        pafs.copy_files(
            checkpoint.path,
            str(dest.resolve()),
            source_filesystem=checkpoint.fs,
            destination_filesystem=pafs.LocalFileSystem(),
        )
        meta["checkpoint"] = "checkpoint"
        meta["checkpoint_name"] = checkpoint.name
        meta["checkpoint_choice"] = chosen_as
        meta["iteration"] = checkpoint.iteration
        meta["checkpoint_source"] = checkpoint.path
    (target / "metadata.json").write_text(json.dumps(meta, indent=2) + "\n")
    return meta


def write_summary_csv(summary: pd.DataFrame, out: str | Path | None) -> str:
    """Write the per-trial summary as CSV to ``out`` (``None``: return the text only)."""
    text = summary.to_csv(index=False)
    if out is not None:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_text(text)
    return text


def _plain(value: Any) -> Any:
    """numpy scalars to Python; NaN / NA / None to ``None``."""
    if value is None:
        return None
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        with contextlib.suppress(ValueError, AttributeError):
            value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return value
