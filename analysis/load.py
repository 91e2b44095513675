"""Load a RUN_DIR's Parquet results as DataFrames, also while the sweep is running.

A staged sweep keeps every stage in the same two tables (column ``stage``); both
loaders return all stages unless ``stage`` picks one.
"""

from __future__ import annotations

import pandas as pd
import pyarrow.dataset as ds

from tune_jobs.layout import METRICS_DIR, TRIALS_FILE
from tune_jobs.storage import RunStorage

__all__ = ["clean_view", "load_metrics", "load_trials"]


def load_trials(run_dir: str, stage: int | None = None) -> pd.DataFrame:
    """``trials.parquet``: one row per trial (empty frame if nothing was written yet).

    ``stage`` keeps only that stage's trials (runs without stages are stage 1).
    """
    run = RunStorage.open(run_dir)
    if not run.exists(TRIALS_FILE):
        return pd.DataFrame()
    with run.fs.open_input_file(run.path(TRIALS_FILE)) as f:
        return _only_stage(pd.read_parquet(f), stage)


def load_metrics(run_dir: str, clean: bool = True, stage: int | None = None) -> pd.DataFrame:
    """Every reported result; by default the clean view (see ``clean_view``).

    ``stage`` keeps only that stage's rows (runs without stages are stage 1).
    """
    run = RunStorage.open(run_dir)
    if not run.exists(METRICS_DIR):
        return pd.DataFrame()
    dataset = ds.dataset(run.path(METRICS_DIR), filesystem=run.fs, format="parquet")
    frame = _only_stage(dataset.to_table().to_pandas(), stage)
    return clean_view(frame) if clean else frame


def _only_stage(frame: pd.DataFrame, stage: int | None) -> pd.DataFrame:
    if stage is None or frame.empty:
        return frame
    if "stage" not in frame.columns:
        return frame if stage == 1 else frame.iloc[0:0]
    return frame[frame["stage"].fillna(1) == stage].reset_index(drop=True)


def clean_view(metrics: pd.DataFrame) -> pd.DataFrame:
    """One row per ``(trial_id, training_iteration)``: the row of the latest attempt.

    A restore starts a new attempt at some iteration ``k``; it supersedes every row of
    earlier attempts from ``k`` on (those results were rolled back), also iterations
    the new attempt has not reached yet. Rows of earlier attempts before ``k`` stay.
    """
    if metrics.empty:
        return metrics
    starts = (
        metrics.groupby(["trial_id", "attempt"], sort=True)["training_iteration"]
        .min()
        .rename("start")
        .reset_index()
        .sort_values(["trial_id", "attempt"], ascending=[True, False])
    )
    # For each attempt: the smallest start among the attempts that came after it.
    starts["cutoff"] = starts.groupby("trial_id")["start"].transform(lambda s: s.cummin().shift(1))
    merged = metrics.merge(starts[["trial_id", "attempt", "cutoff"]], on=["trial_id", "attempt"])
    keep = merged["cutoff"].isna() | (merged["training_iteration"] < merged["cutoff"])
    out = merged.loc[keep].drop(columns="cutoff")
    out = out.sort_values(["trial_id", "training_iteration", "attempt"])
    out = out.drop_duplicates(["trial_id", "training_iteration"], keep="last")
    return out.reset_index(drop=True)
