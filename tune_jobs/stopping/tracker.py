"""Per-trial bookkeeping behind target, divergence, time-to-target and budget rules.

``ResultTracker`` is plain Python (no Ray): it sees every result of every trial once
(``observe`` is idempotent per result, so the several Tune hooks that see the same
result agree) and derives:

- ``reached_target`` and, from the first result that reached it, ``time_to_target_s``
  (the trial's own training seconds, Tune's ``time_total_s``), ``iterations_to_target``
  and ``tokens_to_target`` (when the trainable reports ``tokens``);
- ``diverged`` (with ``diverged_reason``) when the watched loss is NaN/inf, exceeds
  ``factor`` x its best so far, or the trainable itself reported ``diverged: true``;
- the censored objective for ``metric: time_to_target_s`` (``objective``): a trial
  that reached the target scores its seconds; one that did not scores
  ``CENSORED_BASE`` + its remaining gap to the target, so it ranks after every trial
  that reached it and closer trials rank first.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from tune_jobs.names import CENSORED_BASE, NO_VALUE_GAP, TIME_TO_TARGET

__all__ = ["ResultTracker", "TrackerRules", "lookup"]


def lookup(result: dict[str, Any], key: str) -> Any:
    """``result[key]`` for flat (``a/b``) or nested (``{"a": {"b": ...}}``) results."""
    if key in result:
        return result[key]
    node: Any = result
    for part in key.split("/"):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


@dataclass(frozen=True)
class TrackerRules:
    """What the tracker watches (resolved from the spec by the runner)."""

    target: float | None = None
    target_metric: str | None = None
    target_mode: str = "min"
    divergence_metric: str | None = None
    divergence_factor: float | None = None
    divergence_grace: int = 1
    divergence_mode: str = "min"


@dataclass
class _TrialState:
    results: int = 0
    best_watch: float | None = None
    best_target: float | None = None
    reached: dict[str, Any] | None = None
    diverged: dict[str, Any] | None = None
    time_total_s: float = 0.0
    seen: set[tuple[Any, Any]] = field(default_factory=set)
    derived: dict[str, Any] = field(default_factory=dict)


class ResultTracker:
    """Derives target/divergence keys per result and the censored objective per trial."""

    def __init__(self, rules: TrackerRules) -> None:
        self.rules = rules
        self._trials: dict[str, _TrialState] = {}
        self.sweep_stopped: str | None = None
        """Why the stopper ended the whole sweep (target reached, budget), if it did."""

    def observe(self, trial_id: str, result: dict[str, Any]) -> dict[str, Any]:
        """The derived keys for ``result`` (computed once per result, then cached)."""
        state = self._trials.setdefault(trial_id, _TrialState())
        key = (result.get("training_iteration"), result.get("time_total_s"))
        if key in state.seen:
            return dict(state.derived)
        state.seen.add(key)
        if len(state.seen) > 64:  # only recent results can be seen again
            state.seen = {key}
        state.results += 1
        state.time_total_s = max(state.time_total_s, _number(result.get("time_total_s")) or 0.0)
        derived: dict[str, Any] = {}
        self._check_target(state, result, derived)
        self._check_divergence(state, result, derived)
        state.derived = derived
        return dict(derived)

    # --- rules --------------------------------------------------------------------
    def _check_target(self, state: _TrialState, result: dict[str, Any], out: dict) -> None:
        r = self.rules
        if r.target is None or r.target_metric is None:
            return
        value = _number(lookup(result, r.target_metric))
        sign = 1.0 if r.target_mode == "min" else -1.0
        if value is not None and math.isfinite(value):
            if state.best_target is None or sign * value < sign * state.best_target:
                state.best_target = value
            if state.reached is None and sign * value <= sign * r.target:
                state.reached = {
                    TIME_TO_TARGET: _number(result.get("time_total_s")),
                    "iterations_to_target": result.get("training_iteration"),
                }
                tokens = _number(lookup(result, "tokens"))
                if tokens is not None:
                    state.reached["tokens_to_target"] = tokens
        out["reached_target"] = state.reached is not None
        if state.reached is not None:
            out.update({k: v for k, v in state.reached.items() if v is not None})

    def _check_divergence(self, state: _TrialState, result: dict[str, Any], out: dict) -> None:
        r = self.rules
        if state.diverged is None:
            reason = None
            if lookup(result, "diverged") is True:
                reason = "the trainable reported diverged"
            elif r.divergence_metric is not None:
                reason = self._divergence_reason(state, result)
            if reason is not None:
                state.diverged = {"diverged": True, "diverged_reason": reason}
        if state.diverged is not None:
            out.update(state.diverged)

    def _divergence_reason(self, state: _TrialState, result: dict[str, Any]) -> str | None:
        r = self.rules
        assert r.divergence_metric is not None
        raw = lookup(result, r.divergence_metric)
        value = _number(raw)
        if value is None:
            return None
        if not math.isfinite(value):
            return f"{r.divergence_metric} is {value}"
        sign = 1.0 if r.divergence_mode == "min" else -1.0
        best = state.best_watch
        if (
            r.divergence_factor is not None
            and best is not None
            and state.results > r.divergence_grace
        ):
            if sign > 0 and best > 0 and value > r.divergence_factor * best:
                return (
                    f"{r.divergence_metric} {value:.4g} > {r.divergence_factor:g} x best {best:.4g}"
                )
            if sign < 0 and value > 0 and value * r.divergence_factor < best:
                return (
                    f"{r.divergence_metric} {value:.4g} < best {best:.4g} / {r.divergence_factor:g}"
                )
        if best is None or sign * value < sign * best:
            state.best_watch = value
        return None

    # --- queries ------------------------------------------------------------------
    def trial_finished(self, trial_id: str) -> None:
        """Drop what only a running trial needs (recent result keys), so the tracker's
        memory and snapshot size do not grow with every finished trial."""
        state = self._trials.get(trial_id)
        if state is not None:
            state.seen = set()
            state.derived = {}

    def reached(self, trial_id: str) -> bool:
        """Whether the trial has reached the target."""
        state = self._trials.get(trial_id)
        return state is not None and state.reached is not None

    def any_reached(self) -> bool:
        """Whether any trial has reached the target."""
        return any(s.reached is not None for s in self._trials.values())

    def diverged(self, trial_id: str) -> bool:
        """Whether the trial diverged."""
        state = self._trials.get(trial_id)
        return state is not None and state.diverged is not None

    def objective(self, trial_id: str) -> float:
        """The censored time-to-target score of a trial (lower is better)."""
        state = self._trials.get(trial_id)
        if state is not None and state.reached is not None:
            seconds = state.reached.get(TIME_TO_TARGET)
            return float(seconds) if seconds is not None else 0.0
        if state is None or state.best_target is None or self.rules.target is None:
            return CENSORED_BASE + NO_VALUE_GAP
        sign = 1.0 if self.rules.target_mode == "min" else -1.0
        gap = max(0.0, sign * (state.best_target - self.rules.target))
        return CENSORED_BASE + min(gap, NO_VALUE_GAP)

    def trial_seconds(self) -> dict[str, float]:
        """Training seconds so far per trial (latest ``time_total_s``)."""
        return {tid: s.time_total_s for tid, s in self._trials.items()}
