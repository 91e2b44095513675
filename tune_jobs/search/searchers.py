"""Tune ``Searcher`` classes of our own: a fixed design, and the objective wrapper.

``DesignSearcher`` serves precomputed design points (``design.py``). ``ObjectiveSearcher``
wraps any model-based searcher (TPE) so that it learns the right thing:

- variant points (``points_to_evaluate``) come back with their variant name attached;
- a diverged trial is reported with the worst objective seen so far (never NaN, which
  would poison the model), so the searcher learns the region is bad;
- with ``metric: time_to_target_s`` the searcher sees the censored score, so trials
  that never reached the target rank after every trial that did.
"""

from __future__ import annotations

import math
import os
import pickle
import tempfile
from typing import Any

from ray.tune.search import Searcher

from tune_jobs.names import CENSORED_BASE
from tune_jobs.stopping.tracker import ResultTracker
from tune_jobs.trial.meta import TRIAL_META_KEY

__all__ = ["DesignSearcher", "ObjectiveSearcher"]


class _PickledStateSearcher(Searcher):
    """``save``/``restore`` through ``get_state``/``set_state`` (one pickle file)."""

    def get_state(self) -> dict[str, Any]:  # pragma: no cover - overridden
        raise NotImplementedError

    def set_state(self, state: dict[str, Any]) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def save(self, checkpoint_path: str) -> None:
        """Pickle the state (Tune calls this at each experiment snapshot)."""
        with open(checkpoint_path, "wb") as f:
            pickle.dump(self.get_state(), f)

    def restore(self, checkpoint_path: str) -> None:
        """Load what ``save`` wrote (after ``tune-jobs resume``)."""
        with open(checkpoint_path, "rb") as f:
            self.set_state(pickle.load(f))


class DesignSearcher(_PickledStateSearcher):
    """Proposes a fixed list of configurations in order, then finishes."""

    def __init__(self, points: list[dict[str, Any]], metric: str, mode: str) -> None:
        super().__init__(metric=metric, mode=mode)
        self._points = list(points)
        self._next = 0

    def set_search_properties(
        self, metric: str | None, mode: str | None, config: dict, **spec: Any
    ) -> bool:
        """Accept Tune's metric/mode; the space is the design itself."""
        self._metric = metric or self._metric
        self._mode = mode or self._mode
        return True

    def suggest(self, trial_id: str) -> dict[str, Any] | None:
        """The next design point, or ``Searcher.FINISHED`` when all were proposed."""
        if self._next >= len(self._points):
            return Searcher.FINISHED
        point = self._points[self._next]
        self._next += 1
        return point

    def on_trial_complete(
        self, trial_id: str, result: dict[str, Any] | None = None, error: bool = False
    ) -> None:
        """Designs do not learn from results."""

    def get_state(self) -> dict[str, Any]:
        """Position in the design."""
        return {"points": self._points, "next": self._next}

    def set_state(self, state: dict[str, Any]) -> None:
        """Continue the design where a killed driver left it."""
        self._points, self._next = state["points"], state["next"]


class ObjectiveSearcher(_PickledStateSearcher):
    """Wraps a searcher: variant names, divergence penalties, censored time-to-target.

    Args:
        inner: the searcher doing the work (e.g. ``HyperOptSearch``).
        tracker: the sweep's ``ResultTracker`` (divergence and target state).
        metric: the objective key the inner searcher optimises.
        mode: ``min`` or ``max``.
        variant_metas: per variant point, in ``points_to_evaluate`` order, its
            ``__trial_meta__`` value (the inner searcher proposes those points first).
        time_to_target: whether ``metric`` is the censored time-to-target objective.
    """

    def __init__(
        self,
        inner: Searcher,
        tracker: ResultTracker,
        metric: str,
        mode: str,
        variant_metas: list[dict[str, Any]],
        time_to_target: bool,
    ) -> None:
        super().__init__(metric=metric, mode=mode)
        self.inner = inner
        self._tracker = tracker
        self._metas = list(variant_metas)
        self._served = 0
        self._time_to_target = time_to_target
        self._worst: float | None = None

    def set_search_properties(
        self, metric: str | None, mode: str | None, config: dict, **spec: Any
    ) -> bool:
        """Forward to the wrapped searcher."""
        return self.inner.set_search_properties(metric, mode, config, **spec)

    def suggest(self, trial_id: str) -> dict[str, Any] | None:
        """The inner suggestion; variant points get their variant name attached."""
        config = self.inner.suggest(trial_id)
        if isinstance(config, dict) and self._served < len(self._metas):
            config = {**config, TRIAL_META_KEY: self._metas[self._served]}
            self._served += 1
        return config

    def on_trial_result(self, trial_id: str, result: dict[str, Any]) -> None:
        """Forward with the objective corrected."""
        self.inner.on_trial_result(trial_id, self._corrected(trial_id, result))

    def on_trial_complete(
        self, trial_id: str, result: dict[str, Any] | None = None, error: bool = False
    ) -> None:
        """Forward with the objective corrected (a diverged trial scores the worst)."""
        if result is not None:
            result = self._corrected(trial_id, result)
        self.inner.on_trial_complete(trial_id, result=result, error=error)

    def _corrected(self, trial_id: str, result: dict[str, Any]) -> dict[str, Any]:
        out = dict(result)
        out.update(self._tracker.observe(trial_id, result))
        if self._time_to_target:
            out[self.metric] = self._tracker.objective(trial_id)
        value = out.get(self.metric)
        finite = isinstance(value, (int, float)) and math.isfinite(value)
        if self._tracker.diverged(trial_id) or (value is not None and not finite):
            out[self.metric] = self._penalty()
        elif finite and value is not None:
            better_worst = self._worst is None or (
                value > self._worst if self.mode == "min" else value < self._worst
            )
            if better_worst:
                self._worst = float(value)
        return out

    def _penalty(self) -> float:
        if self._worst is not None:
            return self._worst
        return CENSORED_BASE * 2 if self.mode == "min" else -CENSORED_BASE * 2

    def get_state(self) -> dict[str, Any]:
        """Our counters plus the inner searcher's own saved bytes."""
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "inner.pkl")
            self.inner.save(path)
            with open(path, "rb") as f:
                inner = f.read()
        return {"served": self._served, "worst": self._worst, "inner": inner}

    def set_state(self, state: dict[str, Any]) -> None:
        """Restore counters and the inner searcher."""
        self._served, self._worst = state["served"], state["worst"]
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "inner.pkl")
            with open(path, "wb") as f:
                f.write(state["inner"])
            self.inner.restore(path)
