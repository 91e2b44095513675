"""Per-trial stopping rules by ``training_iteration``, passed to Tune as stoppers.

Ray's own stoppers count results; a restored trial re-reports the iterations after its
checkpoint, so those count twice. These compare the iteration a result names instead.
"""

from __future__ import annotations

import statistics
from typing import Any

__all__ = ["MaxIterationStopper", "MaxTimeStopper", "PlateauStopper"]


class MaxIterationStopper:
    """Stops a trial once its ``training_iteration`` reaches ``max_iterations``.

    Not Ray's ``MaximumIterationStopper``: that one counts results, and its counts come
    back with the experiment snapshot on resume, so the iterations a restored trial
    re-reports after its checkpoint were counted twice and the trial stopped early.
    """

    def __init__(self, max_iterations: int) -> None:
        self.max_iterations = max_iterations

    def __call__(self, trial_id: str, result: dict[str, Any]) -> bool:
        """Whether trial ``trial_id`` stops after ``result``."""
        return int(result.get("training_iteration") or 0) >= self.max_iterations

    def stop_all(self) -> bool:
        """Never stops the whole sweep."""
        return False


class MaxTimeStopper:
    """Stops a trial after ``max_time_s`` seconds of its own training time."""

    def __init__(self, max_time_s: float) -> None:
        self.max_time_s = max_time_s

    def __call__(self, trial_id: str, result: dict[str, Any]) -> bool:
        """Whether trial ``trial_id`` stops after ``result``."""
        return float(result.get("time_total_s") or 0.0) >= self.max_time_s

    def stop_all(self) -> bool:
        """Never stops the whole sweep."""
        return False


class PlateauStopper:
    """Stops a trial whose ``metric`` has a standard deviation below ``std`` over its
    last ``num_results`` iterations that report it, from ``training_iteration``
    ``grace_period`` on.

    Not Ray's ``TrialPlateauStopper``: that one counts results, so a restored trial's
    re-reported iterations fill its window twice, and it puts results without the metric
    into the window (a trainable that evaluates every few steps would never plateau).
    Here a re-reported iteration replaces what the trial reported for it and after it.
    """

    def __init__(self, metric: str, std: float, num_results: int, grace_period: int) -> None:
        self.metric = metric
        self.std = std
        self.num_results = num_results
        self.grace_period = grace_period
        self._windows: dict[str, dict[int, float]] = {}

    def __call__(self, trial_id: str, result: dict[str, Any]) -> bool:
        """Whether trial ``trial_id`` stops after ``result``."""
        iteration = int(result.get("training_iteration") or 0)
        window = self._windows.setdefault(trial_id, {})
        for superseded in [i for i in window if i >= iteration]:  # restored: rewound
            del window[superseded]
        value = result.get(self.metric)
        if value is None:
            return False
        window[iteration] = float(value)
        if len(window) > self.num_results:
            del window[min(window)]
        if iteration < self.grace_period or len(window) < self.num_results:
            return False
        return statistics.pstdev(window.values()) < self.std

    def stop_all(self) -> bool:
        """Never stops the whole sweep."""
        return False
