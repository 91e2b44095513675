"""Load a RUN_DIR's Parquet results as DataFrames, also while the sweep is running.

A staged sweep keeps every stage in the same two tables (column ``stage``); the
loaders return all stages unless ``stage`` picks one. ``load_run`` bundles both tables
with the run's spec (metric, mode, searched parameters) as a ``SweepRun``.

Readers never see half-written files: the sink writes a hidden temporary file and
renames it (dataset readers skip names starting with ``.`` or ``_``). A part file that
still cannot be read (a copy in progress, a foreign file) is skipped with a warning.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import yaml

from analysis.run import SweepRun, param_columns_of
from tune_jobs.names import SPEC_FILE
from tune_jobs.results.storage import RunStorage
from tune_jobs.results.tables import clean_view, load_metrics, load_trials, only_stage

__all__ = [
    "SweepRun",
    "clean_view",
    "filter_trials",
    "load_metrics",
    "load_run",
    "load_spec",
    "load_trials",
]


def load_spec(run_dir: str) -> dict:
    """``RUN_DIR/spec.yaml`` as a dict (empty if the run has not written it yet)."""
    run = RunStorage.open(run_dir)
    if not run.exists(SPEC_FILE):
        return {}
    spec = yaml.safe_load(run.read_bytes(SPEC_FILE).decode())
    return spec if isinstance(spec, dict) else {}


def load_run(
    run_dir: str,
    stage: int | None = None,
    status: str | Sequence[str] | None = None,
    variant: str | None = None,
    clean: bool = True,
) -> SweepRun:
    """Trials, metrics and spec of a RUN_DIR (local path or URI) as one ``SweepRun``.

    ``stage``, ``status`` (one status or several, e.g. ``["TERMINATED", "DIVERGED"]``)
    and ``variant`` filter the trials; the metrics keep the rows of the trials kept.
    Works on a new or empty RUN_DIR (empty frames) and while the sweep writes.
    """
    spec = load_spec(run_dir)
    trials = filter_trials(load_trials(run_dir), stage=stage, status=status, variant=variant)
    metrics = load_metrics(run_dir, clean=clean, stage=stage)
    if not metrics.empty and (status is not None or variant is not None):
        metrics = metrics[metrics["trial_id"].isin(trials["trial_id"])].reset_index(drop=True)
    return SweepRun(
        run_dir=str(run_dir),
        trials=trials,
        metrics=metrics,
        metric=spec.get("metric"),
        mode=spec.get("mode"),
        spec=spec,
        param_columns=param_columns_of(trials, spec),
    )


def filter_trials(
    trials: pd.DataFrame,
    stage: int | None = None,
    status: str | Sequence[str] | None = None,
    variant: str | None = None,
) -> pd.DataFrame:
    """The trials of one ``stage``, with a ``status`` (or one of several), of a ``variant``."""
    out = only_stage(trials, stage)
    if out.empty:
        return out
    if status is not None:
        wanted = [status] if isinstance(status, str) else list(status)
        out = out[out["status"].isin([s.upper() for s in wanted])]
    if variant is not None:
        if "variant" not in out.columns:
            return out.iloc[0:0].reset_index(drop=True)
        out = out[out["variant"] == variant]
    return out.reset_index(drop=True)
