"""Read a RUN_DIR's two Parquet tables, also while the sweep is running.

``trials.parquet`` (one row per trial) and ``metrics/`` (one row per reported result).
A staged sweep keeps every stage in the same two tables (column ``stage``); the
readers return all stages unless ``stage`` picks one.

Readers never see half-written files: the sink writes a hidden temporary file and
renames it (dataset readers skip names starting with ``.`` or ``_``). A part file that
still cannot be read (a copy in progress, a foreign file) is skipped with a warning.
``analysis.load`` re-exports these readers for notebooks.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds

from tune_jobs.names import METRICS_DIR, TRIALS_FILE
from tune_jobs.results.storage import RunStorage

__all__ = ["clean_view", "load_metrics", "load_trials", "only_stage"]


def load_trials(run_dir: str, stage: int | None = None) -> pd.DataFrame:
    """``trials.parquet``: one row per trial (empty frame if nothing was written yet).

    ``stage`` keeps only that stage's trials (runs without stages are stage 1).
    """
    run = RunStorage.open(run_dir)
    if not run.exists(TRIALS_FILE):
        return pd.DataFrame()
    with run.fs.open_input_file(run.path(TRIALS_FILE)) as f:
        return only_stage(pd.read_parquet(f), stage)


def load_metrics(run_dir: str, clean: bool = True, stage: int | None = None) -> pd.DataFrame:
    """Every reported result; by default the clean view (see ``clean_view``).

    ``stage`` keeps only that stage's rows (runs without stages are stage 1).
    """
    run = RunStorage.open(run_dir)
    if not run.exists(METRICS_DIR):
        return pd.DataFrame()
    frame = only_stage(_read_dataset(run), stage)
    return clean_view(frame) if clean else frame


def clean_view(metrics: pd.DataFrame) -> pd.DataFrame:
    """One row per ``(trial_id, training_iteration)``: the row of the latest attempt.

    A restore starts a new attempt at some iteration ``k``; it supersedes every row of
    earlier attempts from ``k`` on (those results were rolled back), also iterations the
    new attempt has not reached yet. Rows of earlier attempts before ``k`` stay. Rows
    come sorted by ``trial_id`` then ``training_iteration``. Vectorised: a million rows
    take well under a second.
    """
    if metrics.empty:
        return metrics
    trial_codes, _ = pd.factorize(metrics["trial_id"], sort=True)
    attempt = metrics["attempt"].to_numpy()
    iteration = metrics["training_iteration"].to_numpy()
    keep = np.ones(len(metrics), dtype=bool)
    if attempt.max(initial=0) > 0:
        # Start iteration of each (trial, attempt); for each attempt, the smallest start
        # among the attempts after it is its cutoff.
        starts = (
            pd.DataFrame({"t": trial_codes, "a": attempt, "i": iteration})
            .groupby(["t", "a"], sort=True)["i"]
            .min()
            .iloc[::-1]
        )
        later = starts.groupby(level="t").cummin().groupby(level="t").shift(1)
        index = pd.MultiIndex.from_arrays([trial_codes, attempt])
        cutoff = later.reindex(index).to_numpy(dtype=float)
        keep = np.isnan(cutoff) | (iteration < cutoff)
    rows = np.flatnonzero(keep)
    order = rows[np.lexsort((attempt[rows], iteration[rows], trial_codes[rows]))]
    # Last row of each (trial, iteration) run in that order: the latest attempt.
    t, i = trial_codes[order], iteration[order]
    last = np.ones(len(order), dtype=bool)
    last[:-1] = (t[1:] != t[:-1]) | (i[1:] != i[:-1])
    return metrics.iloc[order[last]].reset_index(drop=True)


def _read_dataset(run: RunStorage) -> pd.DataFrame:
    """Every readable part of ``metrics/``; unreadable parts are skipped with a warning."""
    dataset = ds.dataset(run.path(METRICS_DIR), filesystem=run.fs, format="parquet")
    try:
        table = dataset.to_table()
    except (pa.ArrowInvalid, OSError):
        tables = []
        for fragment in dataset.get_fragments():
            try:
                tables.append(fragment.to_table(schema=dataset.schema))
            except (pa.ArrowInvalid, OSError) as err:
                warnings.warn(f"skipped unreadable part {fragment.path}: {err}", stacklevel=3)
        table = pa.concat_tables(tables) if tables else dataset.schema.empty_table()
    return table.to_pandas()


def only_stage(frame: pd.DataFrame, stage: int | None) -> pd.DataFrame:
    """``frame`` restricted to stage ``stage`` (unchanged for None; no stage column = stage 1)."""
    if stage is None or frame.empty:
        return frame
    if "stage" not in frame.columns:
        return frame if stage == 1 else frame.iloc[0:0]
    return frame[frame["stage"].fillna(1) == stage].reset_index(drop=True)
