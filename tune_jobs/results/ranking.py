"""Repeated seeds: per-trial identity (``config_id``, ``repeat``) and the median ranking.

Plain Python and pandas (no Ray). ``config_id`` is a stable short hash of the config a
trial trained with, without the seed key (and without bookkeeping such as the variant
name), so the repeats of one configuration share it. ``rank_configs`` ranks
configurations by the median of their repeats' scores; it is what ``tune-jobs run``
and ``tune-jobs status`` print and what a later stage takes its top-k from.

Scores: the spec's metric; for ``metric: time_to_target_s`` the censored score (a trial
that never reached the target scores ``CENSORED_BASE`` + its last gap to the target,
so it ranks after every trial that reached it). A ``DIVERGED`` or ``ERROR`` trial scores
the worst possible value (+inf for ``min``, -inf for ``max``); a configuration whose
median is that worst value never counts as a top configuration.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from tune_jobs.stopping.tracker import CENSORED_BASE

__all__ = [
    "Objective",
    "config_id",
    "rank_configs",
    "repeat_index",
    "repeat_seeds",
    "summary_lines",
    "trial_scores",
]

_TIME_TO_TARGET = "time_to_target_s"
_NO_VALUE_GAP = 1.0e6
_BAD = ("DIVERGED", "ERROR")
_FINISHED = ("TERMINATED", "DIVERGED", "ERROR")


def repeat_seeds(base: int, n: int) -> list[int]:
    """The seeds of the ``n`` runs of one configuration: ``base, base + 1, ...``."""
    return [base + i for i in range(n)]


def _without(config: dict[str, Any], dotted: str) -> dict[str, Any]:
    out = copy.deepcopy(config)
    node: Any = out
    *parents, leaf = dotted.split(".")
    for part in parents:
        node = node.get(part) if isinstance(node, dict) else None
    if isinstance(node, dict):
        node.pop(leaf, None)
    return out


def _lookup(config: dict[str, Any], dotted: str) -> Any:
    node: Any = config
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def config_id(config: dict[str, Any], seed_key: str) -> str:
    """10 hex digits identifying ``config`` (the effective config) without ``seed_key``."""
    text = json.dumps(_without(config, seed_key), sort_keys=True, default=str)
    return hashlib.sha1(text.encode()).hexdigest()[:10]


def repeat_index(config: dict[str, Any], seed_key: str, base: int, n: int) -> int:
    """Which of the ``n`` runs of its configuration this config is (0 without repeats)."""
    seed = _lookup(config, seed_key)
    if n <= 1 or isinstance(seed, bool) or not isinstance(seed, (int, float)):
        return 0
    return int(seed) - base


@dataclass(frozen=True)
class Objective:
    """What ranks trials: the spec's metric and mode, and its target (time-to-target)."""

    metric: str
    mode: str = "min"
    target: float | None = None
    target_metric: str | None = None
    target_mode: str = "min"

    @classmethod
    def from_spec_dict(cls, spec: dict[str, Any]) -> Objective:
        """From a spec as plain data (``RUN_DIR/spec.yaml``)."""
        stop = spec.get("stop") or {}
        metric, mode = str(spec.get("metric")), str(spec.get("mode") or "min")
        target_metric = stop.get("target_metric") or (
            metric if stop.get("target") is not None else None
        )
        target_mode = stop.get("target_mode") or ("min" if metric == _TIME_TO_TARGET else mode)
        return cls(metric, mode, stop.get("target"), target_metric, target_mode)

    @property
    def worst(self) -> float:
        """The score of a diverged or failed trial."""
        return math.inf if self.mode == "min" else -math.inf


def trial_scores(trials: pd.DataFrame, objective: Objective) -> pd.Series:
    """Per trial, the score it is ranked by (NaN: no score yet, not ranked)."""
    status = trials.get("status", pd.Series("TERMINATED", index=trials.index)).astype(str)
    if objective.metric == _TIME_TO_TARGET:
        reached = trials.get("reached_target", pd.Series(False, index=trials.index))
        reached = reached.fillna(False).astype(bool)
        raw = trials.get(_TIME_TO_TARGET)
        seconds = (
            pd.Series(np.nan, index=trials.index)
            if raw is None
            else pd.to_numeric(raw, errors="coerce").astype(float)
        )
        last = trials.get(objective.target_metric or "")
        if last is None or objective.target is None:
            gap = pd.Series(_NO_VALUE_GAP, index=trials.index)
        else:
            sign = 1.0 if objective.target_mode == "min" else -1.0
            values = pd.to_numeric(last, errors="coerce")
            gap = (sign * (values - objective.target)).clip(lower=0, upper=_NO_VALUE_GAP)
            gap = gap.fillna(_NO_VALUE_GAP)
        censored = (CENSORED_BASE + gap).where(status.isin(_FINISHED), np.nan)
        score = seconds.where(reached & seconds.notna(), censored)
    else:
        column = trials.get(objective.metric)
        score = (
            pd.Series(np.nan, index=trials.index)
            if column is None
            else pd.to_numeric(column, errors="coerce").astype(float)
        )
    return score.where(~status.isin(_BAD), objective.worst).astype(float)


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
