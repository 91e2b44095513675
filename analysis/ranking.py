"""Rank trials and configurations: leaderboard, best trial, repeats, time to target.

The order is the service's one rule (``tune_jobs.results.ranking``, the same that
``tune-jobs run``, ``status``, ``best`` and later stages use): trials with a valid score
and a status other than ``DIVERGED``/``ERROR`` come first, best first for the ``mode``;
then diverged and errored trials, whatever they reported before; then trials without a
value (not started, NaN). With ``metric: time_to_target_s`` trials that never reached
the target are censored after those that did. Ties keep ``trial_id`` order.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from analysis._checks import BAD_STATUSES, check_columns, check_metric, check_mode
from tune_jobs.names import TIME_TO_TARGET
from tune_jobs.results.ranking import Objective, rank_trials
from tune_jobs.results.ranking import best_trial as rank_best_trial

__all__ = ["aggregate_repeats", "best_trial", "leaderboard", "time_to_target_ranking"]

_FRONT = ("trial_id", "status", "variant", "stage", "config_id", "repeat")


def leaderboard(
    trials: pd.DataFrame,
    metric: str,
    mode: str = "min",
    top: int | None = None,
    params: list[str] | None = None,
    objective: Objective | None = None,
) -> pd.DataFrame:
    """Trials ranked by ``metric``: best first, diverged/errored next, no value last.

    Returns every column of ``trials``, reordered: ``rank`` (1 = best), the bookkeeping
    columns, ``metric``, the parameters (``params``, default every ``config/`` column
    that varies), then the rest. ``top`` keeps the first ``top`` rows. ``objective``
    (default: ``metric`` and ``mode``) adds a time-to-target run's target, for the gap
    that orders censored trials (``Objective.from_spec_dict(run.spec)``).
    """
    check_mode(mode)
    if trials.empty:
        return pd.DataFrame(columns=["rank", *trials.columns])
    check_metric(trials, metric)
    if top is not None and top < 1:
        raise ValueError(f"top must be a positive number of trials, got {top}")
    ranked = rank_trials(trials, objective or Objective(metric, mode))
    ranked.insert(0, "rank", np.arange(1, len(ranked) + 1))
    if params is None:
        params = [
            c
            for c in ranked
            if str(c).startswith("config/") and ranked[c].astype(str).nunique() > 1
        ]
    front = ["rank", *[c for c in _FRONT if c in ranked], metric, *params]
    ranked = ranked[[*front, *[c for c in ranked if c not in front]]]
    return ranked.head(top) if top is not None else ranked


def best_trial(
    trials: pd.DataFrame, metric: str, mode: str = "min", objective: Objective | None = None
) -> pd.Series:
    """The best trial's row (``ValueError`` if no trial has a valid value)."""
    check_mode(mode)
    if not trials.empty:
        check_metric(trials, metric)
    best = rank_best_trial(trials, objective or Objective(metric, mode))
    if best is not None:
        return best
    values = pd.to_numeric(trials.get(metric, pd.Series(dtype=float)), errors="coerce")
    if np.isfinite(values.astype(float)).any():
        raise ValueError(f"every trial with a value of {metric!r} diverged or failed")
    raise ValueError(f"no trial has a finite value of {metric!r} yet")


def aggregate_repeats(
    trials: pd.DataFrame,
    metric: str,
    mode: str = "min",
    confidence: float = 0.95,
    n_boot: int = 1000,
    seed: int = 0,
) -> pd.DataFrame:
    """Per configuration (``config_id``): statistics of ``metric`` over its repeats.

    Columns: ``rank``, ``config_id``, ``n`` (trials), ``n_valid`` (finite value, not
    diverged/errored), ``n_failed`` (diverged or errored), ``median``, ``q25``, ``q75``,
    ``iqr``, ``mean``, ``std``, ``ci_low``/``ci_high`` (percentile bootstrap CI of the
    median, ``scipy.stats.bootstrap``, NaN with fewer than 2 valid repeats), ``trial_ids``
    and the first trial's ``config/`` values. Statistics use the valid repeats only;
    configurations are ranked by median like ``leaderboard`` ranks trials (a
    configuration with no valid repeat last).
    """
    check_mode(mode)
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    if trials.empty:
        return pd.DataFrame(columns=["rank", "config_id", "n", "median", "iqr"])
    check_metric(trials, metric)
    check_columns(trials, "config_id")
    values = pd.to_numeric(trials[metric], errors="coerce").astype(float)
    failed = (
        trials["status"].isin(BAD_STATUSES)
        if "status" in trials
        else pd.Series(False, index=trials.index)
    )
    frame = pd.DataFrame(
        {"config_id": trials["config_id"], "v": values.where(~failed & np.isfinite(values))}
    )
    grouped = frame.groupby("config_id", sort=True)["v"]
    out = pd.DataFrame(
        {
            "n": grouped.size(),
            "n_valid": grouped.count(),
            "n_failed": failed.groupby(trials["config_id"]).sum().astype(int),
            "median": grouped.median(),
            "q25": grouped.quantile(0.25),
            "q75": grouped.quantile(0.75),
            "mean": grouped.mean(),
            "std": grouped.std(),
        }
    )
    out["iqr"] = out["q75"] - out["q25"]
    rng = np.random.default_rng(seed)
    cis = {cid: _median_ci(v.dropna().to_numpy(), confidence, n_boot, rng) for cid, v in grouped}
    out["ci_low"] = [cis[c][0] for c in out.index]
    out["ci_high"] = [cis[c][1] for c in out.index]
    out["trial_ids"] = trials.groupby("config_id")["trial_id"].agg(list)
    params = [c for c in trials.columns if str(c).startswith("config/")]
    out = out.join(trials.groupby("config_id")[params].first()).reset_index()
    score = out["median"] if mode == "min" else -out["median"]
    out = out.assign(_s=score.fillna(np.inf)).sort_values(["_s", "config_id"], kind="stable")
    out = out.drop(columns="_s").reset_index(drop=True)
    out.insert(0, "rank", np.arange(1, len(out) + 1))
    return out


def _median_ci(
    values: np.ndarray, confidence: float, n_boot: int, rng: np.random.Generator
) -> tuple[float, float]:
    if len(values) < 2 or np.all(values == values[0]):
        same = float(values[0]) if len(values) >= 2 else np.nan
        return same, same
    result = stats.bootstrap(
        (values,),
        np.median,
        confidence_level=confidence,
        n_resamples=n_boot,
        method="percentile",
        vectorized=True,
        random_state=rng,
    )
    return float(result.confidence_interval.low), float(result.confidence_interval.high)


def time_to_target_ranking(
    trials: pd.DataFrame,
    target_metric: str | None = None,
    target: float | None = None,
    target_mode: str = "min",
    metrics: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Trials by time to target: reached first (``time_to_target_s`` ascending), then
    the censored ones (never reached it), closest to the target first.

    A censored trial's ``gap`` is how far its best ``target_metric`` value (over
    ``metrics`` rows if given, else its last value in ``trials``) is from ``target``
    (``max(0, best - target)`` for ``min``); without ``target`` its best value orders
    it. Censored trials without any value come last. Adds ``rank``, ``censored``,
    ``best_target_value`` and ``gap``.
    """
    check_mode(target_mode, "target_mode")
    if trials.empty:
        return pd.DataFrame(columns=["rank", "trial_id", TIME_TO_TARGET, "censored", "gap"])
    check_columns(trials, "trial_id", TIME_TO_TARGET)
    out = trials.copy()
    seconds = pd.to_numeric(out[TIME_TO_TARGET], errors="coerce")
    reached = seconds.notna()
    if "reached_target" in out:
        reached &= out["reached_target"].fillna(False).astype(bool)
    out["censored"] = ~reached
    best = pd.Series(np.nan, index=out.index)
    if target_metric:
        if metrics is not None and not metrics.empty and target_metric in metrics:
            agg = "min" if target_mode == "min" else "max"
            per_trial = metrics.groupby("trial_id")[target_metric].agg(agg)
            best = out["trial_id"].map(per_trial).astype(float)
        elif target_metric in out:
            best = pd.to_numeric(out[target_metric], errors="coerce").astype(float)
    sign = 1.0 if target_mode == "min" else -1.0
    out["best_target_value"] = best
    out["gap"] = (sign * (best - target)).clip(lower=0) if target is not None else sign * best
    out.loc[reached, "gap"] = 0.0
    key = np.where(reached, seconds, out["gap"].where(np.isfinite(out["gap"]), np.inf))
    group = np.where(reached, 0, np.where(np.isfinite(out["gap"]), 1, 2))
    out = out.assign(_g=group, _k=key, _id=out["trial_id"].astype(str))
    out = out.sort_values(["_g", "_k", "_id"], kind="stable").drop(columns=["_g", "_k", "_id"])
    out = out.reset_index(drop=True)
    out.insert(0, "rank", np.arange(1, len(out) + 1))
    front = ["rank", "trial_id", "status", TIME_TO_TARGET, "censored", "gap"]
    front = [c for c in front if c in out]
    return out[[*front, *[c for c in out if c not in front]]]
