"""Kill trials that hang: running, but silent for too long.

Tune's stoppers only look at results, so a trial stuck in a deadlock, a dead data
loader or a wedged collective would hold its GPU forever. The watchdog wraps the
sweep's scheduler (Tune asks the scheduler for work at every step of its loop) and
fails a trial that has reported nothing for ``hang_timeout_s`` seconds (counted from
its start for the first result), or that is still running ``HANG_GRACE_S`` seconds
past ``max_time_s``. The trial is recorded as ERROR with a ``TrialHung`` error and,
like any failed trial, retried from its last checkpoint under ``max_failures``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from ray.tune.schedulers import TrialScheduler

from tune_jobs.names import RUNNING
from tune_jobs.ray_internals import fail_trial
from tune_jobs.stopping.forwarding import ForwardingScheduler

__all__ = ["HANG_GRACE_S", "HangWatchdog", "TrialHung"]

#: Seconds past ``max_time_s`` after which a trial that never reported is hung.
HANG_GRACE_S = 60.0
#: Seconds between two scans of the running trials.
_SCAN_EVERY_S = 0.5


class TrialHung(RuntimeError):
    """The error a hung trial is recorded with."""


class HangWatchdog(ForwardingScheduler):
    """Forwards to ``inner`` and fails running trials that stay silent too long.

    Args:
        inner: the sweep's scheduler.
        hang_timeout_s: seconds without a result before a running trial is hung.
        max_time_s: the per-trial time limit; a trial running ``HANG_GRACE_S`` past it
            without being stopped is hung.
        clock: monotonic seconds (tests pass a fake clock).
    """

    def __init__(
        self,
        inner: TrialScheduler,
        hang_timeout_s: float | None,
        max_time_s: float | None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if hang_timeout_s is None and max_time_s is None:
            raise ValueError("HangWatchdog needs hang_timeout_s or max_time_s")
        super().__init__(inner)
        self.hang_timeout_s = hang_timeout_s
        self.max_time_s = max_time_s
        self._clock = clock
        self._started: dict[str, float] = {}  # trial id -> when we saw it RUNNING
        self._last_result: dict[str, float] = {}
        self._next_scan = 0.0

    def on_trial_result(self, tune_controller: Any, trial: Any, result: dict) -> str:
        """Note the result's arrival, then forward."""
        self._last_result[trial.trial_id] = self._clock()
        return self.inner.on_trial_result(tune_controller, trial, result)

    def choose_trial_to_run(self, tune_controller: Any) -> Any:
        """Scan the running trials (at most every half second), then forward."""
        now = self._clock()
        if now >= self._next_scan:
            self._next_scan = now + _SCAN_EVERY_S
            self._scan(tune_controller, now)
        return self.inner.choose_trial_to_run(tune_controller)

    def hang_reason(self, trial_id: str, now: float) -> str | None:
        """Why the running trial ``trial_id`` counts as hung at ``now`` (None: it does not)."""
        started = self._started[trial_id]
        silent_since = max(started, self._last_result.get(trial_id, started))
        if self.hang_timeout_s is not None and now - silent_since > self.hang_timeout_s:
            return (
                f"hung: no result for {now - silent_since:.0f} s "
                f"(stop.hang_timeout_s: {self.hang_timeout_s:g})"
            )
        if self.max_time_s is not None and now - started > self.max_time_s + HANG_GRACE_S:
            return (
                f"hung: still running {now - started:.0f} s after its start, past "
                f"stop.max_time_s ({self.max_time_s:g}) + {HANG_GRACE_S:g} s without a result "
                "that could stop it"
            )
        return None

    def _scan(self, tune_controller: Any, now: float) -> None:
        running = {t.trial_id: t for t in tune_controller.get_trials() if t.status == RUNNING}
        for trial_id in list(self._started):
            if trial_id not in running:  # paused, stopped or failed: a restart starts anew
                del self._started[trial_id]
                self._last_result.pop(trial_id, None)
        for trial_id, trial in running.items():
            self._started.setdefault(trial_id, now)
            reason = self.hang_reason(trial_id, now)
            if reason is not None:
                del self._started[trial_id]
                self._last_result.pop(trial_id, None)
                fail_trial(tune_controller, trial, TrialHung(reason))
