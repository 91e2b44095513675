"""A ``TrialScheduler`` that forwards every call to the scheduler it wraps.

Base of the wrappers that add one behaviour around any of Tune's schedulers (ASHA,
PBT, ...): subclasses override only the calls they change.
"""

from __future__ import annotations

from typing import Any

from ray.tune.schedulers import TrialScheduler

__all__ = ["ForwardingScheduler"]


class ForwardingScheduler(TrialScheduler):
    """Forwards to ``inner``; subclass and override what to change."""

    def __init__(self, inner: TrialScheduler) -> None:
        super().__init__()
        self.inner = inner

    @property
    def metric(self) -> str | None:
        """The wrapped scheduler's metric."""
        return self.inner.metric

    @property
    def supports_buffered_results(self) -> bool:
        """As the wrapped scheduler."""
        return self.inner.supports_buffered_results

    def set_search_properties(self, metric: str | None, mode: str | None, **spec: Any) -> bool:
        """Forward to the wrapped scheduler."""
        return self.inner.set_search_properties(metric, mode, **spec)

    def on_trial_add(self, tune_controller: Any, trial: Any) -> None:
        """Forward."""
        self.inner.on_trial_add(tune_controller, trial)

    def on_trial_error(self, tune_controller: Any, trial: Any) -> None:
        """Forward."""
        self.inner.on_trial_error(tune_controller, trial)

    def on_trial_result(self, tune_controller: Any, trial: Any, result: dict) -> str:
        """Forward."""
        return self.inner.on_trial_result(tune_controller, trial, result)

    def on_trial_complete(self, tune_controller: Any, trial: Any, result: dict) -> None:
        """Forward."""
        self.inner.on_trial_complete(tune_controller, trial, result)

    def on_trial_remove(self, tune_controller: Any, trial: Any) -> None:
        """Forward."""
        self.inner.on_trial_remove(tune_controller, trial)

    def choose_trial_to_run(self, tune_controller: Any) -> Any:
        """Forward."""
        return self.inner.choose_trial_to_run(tune_controller)

    def debug_string(self) -> str:
        """Forward."""
        return self.inner.debug_string()

    def save(self, checkpoint_path: str) -> None:
        """Forward."""
        self.inner.save(checkpoint_path)

    def restore(self, checkpoint_path: str) -> None:
        """Forward."""
        self.inner.restore(checkpoint_path)
