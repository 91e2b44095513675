"""Where the ``ResultTracker`` plugs into Ray Tune's driver loop.

Tune shows each result to several consumers, in this order: the stopper (nested
result), the scheduler and searcher (a flattened copy), then the callbacks (nested
result, which becomes ``trial.last_result``). Each hook asks the same tracker, which
computes a result's derived keys once:

- ``SweepStopper``: stops a trial that reached the target or diverged; stops the sweep
  when a trial reached the target (``stop_sweep_on_target``) or the budget is spent.
- ``DerivedMetricsCallback``: writes the derived keys into the result that the sinks,
  TensorBoard and ``trial.last_result`` see (so it must be the first callback).
- ``ObjectiveScheduler``: for ``metric: time_to_target_s``, hands the wrapped
  scheduler (e.g. ASHA) the censored score.
"""

from __future__ import annotations

import time
from typing import Any

from ray.tune import Callback, Stopper
from ray.tune.schedulers import TrialScheduler

from tune_jobs.spec.search_schema import BudgetSpec
from tune_jobs.stopping.forwarding import ForwardingScheduler
from tune_jobs.stopping.tracker import ResultTracker

__all__ = ["DerivedMetricsCallback", "ObjectiveScheduler", "SweepStopper"]


class SweepStopper(Stopper):
    """Per-trial target/divergence stops and sweep-level target/budget stops.

    Args:
        tracker: the sweep's tracker.
        stop_on_target: stop a trial once it reached the target.
        stop_sweep_on_target: stop the sweep once any trial reached it.
        budget: the sweep budget, if any.
        gpus_per_trial: GPUs each trial holds (for ``budget.gpu_hours``).
    """

    def __init__(
        self,
        tracker: ResultTracker,
        stop_on_target: bool,
        stop_sweep_on_target: bool,
        budget: BudgetSpec | None,
        gpus_per_trial: float,
    ) -> None:
        self._tracker = tracker
        self._stop_on_target = stop_on_target
        self._stop_sweep_on_target = stop_sweep_on_target
        self._budget = budget
        self._gpus = gpus_per_trial
        self._started = time.time()
        self.stop_reason: str | None = None

    def __call__(self, trial_id: str, result: dict[str, Any]) -> bool:
        """Whether this trial stops now."""
        derived = self._tracker.observe(trial_id, result)
        if derived.get("diverged") is True:
            return True
        return self._stop_on_target and derived.get("reached_target") is True

    def stop_all(self) -> bool:
        """Whether the whole sweep stops now (sets ``stop_reason``)."""
        if self._stop_sweep_on_target and self._tracker.any_reached():
            self.stop_reason = "a trial reached the target"
        elif self._budget is not None:
            self.stop_reason = self._budget_spent()
        if self.stop_reason is not None:
            self._tracker.sweep_stopped = self.stop_reason
        return self.stop_reason is not None

    def _budget_spent(self) -> str | None:
        b = self._budget
        assert b is not None
        hours = sum(self._tracker.trial_seconds().values()) / 3600
        if b.wall_time_s is not None and time.time() - self._started >= b.wall_time_s:
            return f"budget: wall time {b.wall_time_s:g} s spent"
        if b.trial_hours is not None and hours >= b.trial_hours:
            return f"budget: {b.trial_hours:g} trial-hours spent"
        if b.gpu_hours is not None and hours * self._gpus >= b.gpu_hours:
            return f"budget: {b.gpu_hours:g} GPU-hours spent"
        return None


class DerivedMetricsCallback(Callback):
    """Adds the tracker's derived keys to every result before other callbacks see it."""

    def __init__(self, tracker: ResultTracker) -> None:
        self._tracker = tracker

    def on_trial_result(
        self, iteration: int, trials: list, trial: Any, result: dict, **info: Any
    ) -> None:
        """Annotate ``result`` in place (Tune allows callbacks to)."""
        result.update(self._tracker.observe(trial.trial_id, result))

    def on_trial_complete(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        """A finished trial reports no more: the tracker forgets its recent results."""
        self._tracker.trial_finished(trial.trial_id)

    def get_state(self) -> dict[str, Any]:
        """The tracker's state, saved with each experiment snapshot."""
        return {"tracker": self._tracker.__dict__.copy()}

    def set_state(self, state: dict[str, Any]) -> None:
        """Restore the tracker in place (the stopper shares it)."""
        self._tracker.__dict__.update(state["tracker"])


class ObjectiveScheduler(ForwardingScheduler):
    """Wraps a scheduler so it ranks trials by the censored time-to-target score."""

    def __init__(self, inner: TrialScheduler, tracker: ResultTracker, metric: str) -> None:
        super().__init__(inner)
        self._tracker = tracker
        self._objective = metric

    def _fill(self, trial: Any, result: dict[str, Any]) -> None:
        result.update(self._tracker.observe(trial.trial_id, result))
        result[self._objective] = self._tracker.objective(trial.trial_id)

    def on_trial_result(self, tune_controller: Any, trial: Any, result: dict) -> str:
        """Forward with the censored objective filled in."""
        self._fill(trial, result)
        return self.inner.on_trial_result(tune_controller, trial, result)

    def on_trial_complete(self, tune_controller: Any, trial: Any, result: dict) -> None:
        """Forward with the censored objective filled in."""
        self._fill(trial, result)
        self.inner.on_trial_complete(tune_controller, trial, result)
