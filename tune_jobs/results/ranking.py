"""The one rule for "the best trial" and "the best configuration".

Plain Python and pandas (no Ray). Every place that names a best trial or ranks trials
uses this module: the run summary, ``tune-jobs status``, the top-k a later stage starts
from, ``tune-jobs best``/``report``/``export`` and the analysis library.

Scores: the spec's metric; for ``metric: time_to_target_s`` the censored score (a trial
that never reached the target scores ``CENSORED_BASE`` + its last gap to the target,
so it ranks after every trial that reached it). A ``DIVERGED`` or ``ERROR`` trial scores
the worst possible value (+inf for ``min``, -inf for ``max``), whatever it reported
before: it is never best. Trials rank in three groups: valid trials by score, then
diverged and errored ones, then those without a score (not started, NaN); ties keep
``trial_id`` order. Configurations rank by the median score of their repeats; one whose
median is the worst value never counts as a top configuration.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from tune_jobs.names import (
    BAD_STATUSES,
    CENSORED_BASE,
    NO_VALUE_GAP,
    REACHED_TARGET,
    SCORED_STATUSES,
    TERMINATED,
    TIME_TO_TARGET,
)

if TYPE_CHECKING:
    from tune_jobs.spec.schema import SweepSpec

__all__ = [
    "Objective",
    "best_trial",
    "rank_configs",
    "rank_trials",
    "summary_lines",
    "target_defaults",
    "trial_scores",
]


def target_defaults(
    metric: str, mode: str, target: float | None, target_metric: str | None, target_mode: str | None
) -> tuple[str | None, str]:
    """The target's metric and mode as a spec leaves them to defaults: the target watches
    the spec's metric, in its mode (``min`` when the metric is time to target)."""
    resolved_metric = target_metric or (metric if target is not None else None)
    resolved_mode = target_mode or ("min" if metric == TIME_TO_TARGET else mode)
    return resolved_metric, resolved_mode


@dataclass(frozen=True)
class Objective:
    """What ranks trials: the spec's metric and mode, and its target (time-to-target)."""

    metric: str
    mode: str = "min"
    target: float | None = None
    target_metric: str | None = None
    target_mode: str = "min"

    @classmethod
    def from_spec(cls, spec: SweepSpec) -> Objective:
        """From a validated spec."""
        stop = spec.stop
        target_metric, target_mode = target_defaults(
            spec.metric, spec.mode, stop.target, stop.target_metric, stop.target_mode
        )
        return cls(spec.metric, spec.mode, stop.target, target_metric, target_mode)

    @classmethod
    def from_spec_dict(cls, spec: dict[str, Any]) -> Objective:
        """From a spec as plain data (``RUN_DIR/spec.yaml``)."""
        stop = spec.get("stop") or {}
        metric, mode = str(spec.get("metric")), str(spec.get("mode") or "min")
        target_metric, target_mode = target_defaults(
            metric, mode, stop.get("target"), stop.get("target_metric"), stop.get("target_mode")
        )
        return cls(metric, mode, stop.get("target"), target_metric, target_mode)

    @property
    def worst(self) -> float:
        """The score of a diverged or failed trial."""
        return math.inf if self.mode == "min" else -math.inf


def trial_scores(trials: pd.DataFrame, objective: Objective) -> pd.Series:
    """Per trial, the score it is ranked by (NaN: no score yet, not ranked)."""
    status = trials.get("status", pd.Series(TERMINATED, index=trials.index)).astype(str)
    if objective.metric == TIME_TO_TARGET:
        reached = trials.get(REACHED_TARGET, pd.Series(False, index=trials.index))
        reached = reached.fillna(False).astype(bool)
        raw = trials.get(TIME_TO_TARGET)
        seconds = (
            pd.Series(np.nan, index=trials.index)
            if raw is None
            else pd.to_numeric(raw, errors="coerce").astype(float)
        )
        last = trials.get(objective.target_metric or "")
        if last is None or objective.target is None:
            gap = pd.Series(NO_VALUE_GAP, index=trials.index)
        else:
            sign = 1.0 if objective.target_mode == "min" else -1.0
            values = pd.to_numeric(last, errors="coerce")
            gap = (sign * (values - objective.target)).clip(lower=0, upper=NO_VALUE_GAP)
            gap = gap.fillna(NO_VALUE_GAP)
        censored = (CENSORED_BASE + gap).where(status.isin(SCORED_STATUSES), np.nan)
        score = seconds.where(reached & seconds.notna(), censored)
    else:
        column = trials.get(objective.metric)
        score = (
            pd.Series(np.nan, index=trials.index)
            if column is None
            else pd.to_numeric(column, errors="coerce").astype(float)
        )
    return score.where(~status.isin(BAD_STATUSES), objective.worst).astype(float)


def rank_trials(trials: pd.DataFrame, objective: Objective) -> pd.DataFrame:
    """``trials`` best first: valid trials by score, then diverged/errored, then those
    without a score; ties in ``trial_id`` order. Adds no columns; the index is reset."""
    if trials.empty:
        return trials.reset_index(drop=True)
    score = trial_scores(trials, objective)
    status = trials.get("status", pd.Series(TERMINATED, index=trials.index)).astype(str)
    bad = status.isin(BAD_STATUSES)
    finite = np.isfinite(score.to_numpy(dtype=float))
    group = np.where(bad, 1, np.where(finite, 0, 2))
    key = pd.DataFrame(
        {
            "group": group,
            "score": (score if objective.mode == "min" else -score).fillna(np.inf).to_numpy(),
            "id": trials["trial_id"].astype(str).to_numpy()
            if "trial_id" in trials
            else np.arange(len(trials)).astype(str),
        },
        index=trials.index,
    )
    order = key.sort_values(["group", "score", "id"], kind="stable").index
    return trials.loc[order].reset_index(drop=True)


def best_trial(trials: pd.DataFrame, objective: Objective) -> pd.Series | None:
    """The best trial's row (``None`` while no trial has a valid score)."""
    ranked = rank_trials(trials, objective)
    if ranked.empty:
        return None
    first = ranked.iloc[0]
    score = float(trial_scores(ranked.iloc[:1], objective).iloc[0])
    if str(first.get("status", TERMINATED)) in BAD_STATUSES or not math.isfinite(score):
        return None
    return first


def _quantile(values: np.ndarray, q: float) -> float:
    with np.errstate(invalid="ignore"):
        out = float(np.quantile(values, q))
    return out if not math.isnan(out) else float(np.quantile(values, q, method="nearest"))


def rank_configs(trials: pd.DataFrame, objective: Objective) -> pd.DataFrame:
    """Configurations ranked by the median score of their repeats, best first.

    Columns: ``config_id``, ``n`` (repeats with a score), ``median``, ``q25``, ``q75``,
    ``iqr``, ``top`` (may count as a top configuration: median better than the worst
    score), ``trial_ids`` (the scored trials, in ``trials`` order).
    """
    columns = ["config_id", "n", "median", "q25", "q75", "iqr", "top", "trial_ids"]
    if trials.empty:
        return pd.DataFrame(columns=columns)
    ids = trials["config_id"] if "config_id" in trials.columns else trials["trial_id"]
    frame = pd.DataFrame(
        {
            "config_id": ids.astype(str).to_numpy(),
            "trial_id": trials["trial_id"].astype(str).to_numpy(),
            "score": trials_score(trials, objective),
        }
    ).dropna(subset=["score"])
    rows = []
    for cid, group in frame.groupby("config_id", sort=False):
        values = np.sort(group["score"].to_numpy(dtype=float))
        median = float(np.median(values))
        q25, q75 = _quantile(values, 0.25), _quantile(values, 0.75)
        with np.errstate(invalid="ignore"):
            iqr = q75 - q25
        top = bool(math.isfinite(median))
        rows.append([cid, len(values), median, q25, q75, iqr, top, list(group["trial_id"])])
    out = pd.DataFrame(rows, columns=columns)
    if out.empty:
        return out
    out = out.sort_values("median", ascending=objective.mode == "min", kind="stable")
    return out.reset_index(drop=True)


def trials_score(trials: pd.DataFrame, objective: Objective) -> np.ndarray:
    """``trial_scores`` as a plain array (positional)."""
    return trial_scores(trials, objective).to_numpy(dtype=float)


def _show(value: float) -> str:
    if math.isinf(value):
        return "diverged/error"
    if abs(value) >= CENSORED_BASE:
        return "censored"
    return f"{value:.6g}"


def summary_lines(
    trials: pd.DataFrame, objective: Objective, seed_key: str, limit: int = 5
) -> list[str]:
    """The median ranking as text: ``n``, median and IQR per configuration, best first."""
    ranked = rank_configs(trials, objective)
    if ranked.empty:
        return []
    params = [
        c
        for c in trials.columns
        if c.startswith("config/")
        and c != f"config/{seed_key}"
        and trials[c].astype(str).nunique(dropna=True) > 1
    ]
    by_id = trials.set_index("trial_id")
    lines = [f"configurations by median {objective.metric} over repeats (best first):"]
    for rank, row in enumerate(ranked.head(limit).itertuples(index=False), start=1):
        first = by_id.loc[row.trial_ids[0]]
        shown = ", ".join(
            f"{c.removeprefix('config/')}={first[c]:.4g}"
            if isinstance(first[c], float)
            else f"{c.removeprefix('config/')}={first[c]}"
            for c in params
            if not (isinstance(first[c], float) and math.isnan(first[c]))
        )
        iqr = "n/a" if math.isnan(row.iqr) else _show(row.iqr)
        lines.append(
            f"  {rank}. config {row.config_id}  n={row.n}  median={_show(row.median)}  "
            f"IQR={iqr}  {shown}".rstrip()
        )
    if len(ranked) > limit:
        lines.append(f"  ... {len(ranked) - limit} more configurations")
    return lines
