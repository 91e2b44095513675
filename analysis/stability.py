"""Learning-rate stability of an LR sweep: best LR, largest stable LR."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis._checks import check_columns, check_metric, check_mode
from tune_jobs.names import DIVERGED, ERROR

__all__ = ["LRStability", "diverged_mask", "lr_stability"]


@dataclass(frozen=True)
class LRStability:
    """Result of ``lr_stability``.

    Attributes:
        table: one row per learning rate (ascending): ``lr``, ``n`` (runs), ``n_diverged``,
            ``n_error``, ``final`` (median final metric of the runs that did not diverge),
            ``best_final`` (best of them), ``diverged`` (some run diverged or ended with
            a non-finite metric), ``stable`` (no run diverged and at least one finished
            with a finite metric).
        best_lr: the LR with the best ``final`` among stable LRs (``None`` if none).
        largest_stable_lr: the largest stable LR (``None`` if none).
        ratio: ``largest_stable_lr / best_lr`` (>= 1; how much headroom the best LR has).
        metric, mode: what ``final`` measures.
    """

    table: pd.DataFrame
    best_lr: float | None
    largest_stable_lr: float | None
    ratio: float | None
    metric: str
    mode: str


def diverged_mask(trials: pd.DataFrame, metric: str | None = None) -> pd.Series:
    """Per trial: ``DIVERGED`` status, a true ``diverged`` flag, or an infinite ``metric``
    (NaN is not enough: it also means "not reported yet"; trials the sink saw go NaN are
    ``DIVERGED``)."""
    out = pd.Series(False, index=trials.index)
    if "status" in trials:
        out |= trials["status"].eq(DIVERGED)
    if "diverged" in trials:
        out |= trials["diverged"].fillna(False).astype(bool)
    if metric is not None and metric in trials:
        values = pd.to_numeric(trials[metric], errors="coerce").astype(float)
        out |= np.isinf(values)
    return out


def lr_stability(
    trials: pd.DataFrame, lr_column: str, metric: str, mode: str = "min"
) -> LRStability:
    """Per learning rate: final ``metric`` and divergence; the best and largest stable LR.

    Definitions: an LR is *stable* when none of its runs diverged (status ``DIVERGED``,
    ``diverged`` flag, or an infinite final metric) and at least one run has a finite
    final metric; ``ERROR`` runs (crashes) and runs without results are left out. The
    *largest stable LR* is the largest stable LR (smaller unstable LRs do not matter);
    the *best LR* is the stable LR with the best median final metric.
    """
    check_mode(mode)
    check_columns(trials, lr_column)
    check_metric(trials, metric)
    frame = pd.DataFrame(
        {
            "lr": pd.to_numeric(trials[lr_column], errors="coerce").astype(float),
            "value": pd.to_numeric(trials[metric], errors="coerce").astype(float),
            "diverged": diverged_mask(trials, metric),
            "error": trials["status"].eq(ERROR) if "status" in trials else False,
        }
    ).dropna(subset=["lr"])
    ok = ~frame["diverged"] & ~frame["error"] & np.isfinite(frame["value"])
    frame["ok_value"] = frame["value"].where(ok)
    grouped = frame.groupby("lr", sort=True)
    table = pd.DataFrame(
        {
            "n": grouped.size(),
            "n_diverged": grouped["diverged"].sum().astype(int),
            "n_error": grouped["error"].sum().astype(int),
            "final": grouped["ok_value"].median(),
            "best_final": grouped["ok_value"].min() if mode == "min" else grouped["ok_value"].max(),
        }
    ).reset_index()
    table["diverged"] = table["n_diverged"] > 0
    table["stable"] = ~table["diverged"] & table["final"].notna()
    stable = table[table["stable"]]
    if stable.empty:
        return LRStability(table, None, None, None, metric, mode)
    best = stable.loc[stable["final"].idxmin() if mode == "min" else stable["final"].idxmax()]
    best_lr = float(best["lr"])
    largest = float(stable["lr"].max())
    return LRStability(table, best_lr, largest, largest / best_lr, metric, mode)
