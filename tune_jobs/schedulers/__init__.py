"""Trial-scheduler registry: spec name -> factory building a Tune scheduler.

Unknown names raise ``KeyError`` listing the allowed names.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["SCHEDULERS", "SchedulerRequest", "create_scheduler"]


@dataclass(frozen=True)
class SchedulerRequest:
    """Exactly what a scheduler factory needs."""

    metric: str
    mode: str
    max_iterations: int | None


def _fifo(request: SchedulerRequest) -> Any:
    from ray.tune.schedulers import FIFOScheduler

    return FIFOScheduler()


SCHEDULERS: dict[str, Callable[[SchedulerRequest], Any]] = {
    "fifo": _fifo,
}


def create_scheduler(name: str, request: SchedulerRequest) -> Any:
    """Build the scheduler registered as ``name``."""
    try:
        factory = SCHEDULERS[name]
    except KeyError:
        raise KeyError(f"unknown scheduler {name!r}; allowed: {', '.join(SCHEDULERS)}") from None
    return factory(request)
