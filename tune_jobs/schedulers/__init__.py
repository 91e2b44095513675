"""Trial-scheduler registry: spec name -> factory building a Ray Tune scheduler.

Every entry is Ray Tune's own class configured from ``scheduler:``; unknown names raise
``KeyError`` listing the allowed names.

| name | Ray Tune class | what it does |
|---|---|---|
| ``fifo`` | ``FIFOScheduler`` | runs every trial to its stop condition |
| ``asha`` | ``ASHAScheduler`` | asynchronous successive halving at rungs ``grace_period * rf^k`` |
| ``hyperband`` | ``HyperBandScheduler`` | synchronous HyperBand brackets |
| ``median`` | ``MedianStoppingRule`` | stops trials below the median of others at the same time |
| ``pbt`` | ``PopulationBasedTraining`` | bottom trials copy the top ones' checkpoint, then mutate |
| ``pb2`` | ``PB2`` | PBT with a GP-bandit choosing the new values (numeric ranges) |
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tune_jobs.nested import set_dotted
from tune_jobs.spec.domains import Domain

if TYPE_CHECKING:  # the spec validates scheduler names against this registry
    from tune_jobs.spec.search_schema import SchedulerSpec

__all__ = ["SCHEDULERS", "SchedulerRequest", "create_scheduler", "resolve_max_t"]


@dataclass(frozen=True)
class SchedulerRequest:
    """Exactly what a scheduler factory needs. (``metric``/``mode`` reach the scheduler
    through Tune's ``set_search_properties``; passing them twice is an error in Tune.)"""

    metric: str
    mode: str
    settings: SchedulerSpec
    """The spec's ``scheduler:`` block."""
    max_t: float | None = None
    """The resolved ``max_t`` (``resolve_max_t``)."""
    space: dict[str, Domain] = field(default_factory=dict)
    """The spec's ``space``: PBT mutates these, PB2 takes their bounds."""


def resolve_max_t(
    settings: SchedulerSpec, max_iterations: int | None, max_time_s: float | None
) -> float | None:
    """``max_t`` as given, else the trial stop condition in the scheduler's units."""
    if settings.max_t is not None:
        return settings.max_t
    if settings.time_attr == "iterations":
        return max_iterations
    if settings.time_attr == "seconds":
        return max_time_s
    return None


def _fifo(request: SchedulerRequest) -> Any:
    from ray.tune.schedulers import FIFOScheduler

    return FIFOScheduler()


def _asha(request: SchedulerRequest) -> Any:
    from ray.tune.schedulers import ASHAScheduler

    s = request.settings
    return ASHAScheduler(
        time_attr=s.time_key,
        max_t=request.max_t,
        grace_period=s.grace_period,
        reduction_factor=s.reduction_factor,
        brackets=s.brackets,
    )


def _hyperband(request: SchedulerRequest) -> Any:
    from ray.tune.schedulers import HyperBandScheduler

    s = request.settings
    return HyperBandScheduler(
        time_attr=s.time_key,
        max_t=request.max_t,
        reduction_factor=s.reduction_factor,
    )


def _median(request: SchedulerRequest) -> Any:
    from ray.tune.schedulers import MedianStoppingRule

    s = request.settings
    return MedianStoppingRule(
        time_attr=s.time_key,
        grace_period=s.grace_period,
        min_samples_required=s.min_samples_required,
    )


def _mutated(request: SchedulerRequest) -> dict[str, Domain]:
    keys = request.settings.mutate or list(request.space)
    return {k: request.space[k] for k in keys}


def _pbt(request: SchedulerRequest) -> Any:
    from tune_jobs.schedulers.pbt import CheckedPBT, ClipToSpace

    s = request.settings
    mutations: dict[str, Any] = {}
    for key, domain in _mutated(request).items():
        values = domain.values
        set_dotted(mutations, key, list(values) if values is not None else domain.to_tune())
    return CheckedPBT(
        time_attr=s.time_key,
        perturbation_interval=s.perturbation_interval,
        hyperparam_mutations=mutations,
        quantile_fraction=s.quantile_fraction,
        resample_probability=s.resample_probability,
        custom_explore_fn=ClipToSpace(_numeric_bounds(request)),
    )


def _numeric_bounds(request: SchedulerRequest) -> dict[str, tuple[float, float, bool]]:
    """Bounded numeric ranges of the mutated keys: ``key -> (low, high, integer)``."""
    out: dict[str, tuple[float, float, bool]] = {}
    for key, domain in _mutated(request).items():
        if domain.bounds is not None:
            low, high = domain.bounds
            out[key] = (float(low), float(high), domain.is_integer)
    return out


def _pb2(request: SchedulerRequest) -> Any:
    from tune_jobs.schedulers.pbt import CheckedPB2

    s = request.settings
    bounds: dict[str, list[float]] = {}
    for key, domain in _mutated(request).items():
        low, high = domain.bounds or (domain.args[0], domain.args[1])  # checked: a range
        bounds[key] = [float(low), float(high)]
    return CheckedPB2(
        time_attr=s.time_key,
        perturbation_interval=s.perturbation_interval,
        hyperparam_bounds=bounds,
        quantile_fraction=s.quantile_fraction,
    )


SCHEDULERS: dict[str, Callable[[SchedulerRequest], Any]] = {
    "fifo": _fifo,
    "asha": _asha,
    "hyperband": _hyperband,
    "median": _median,
    "pbt": _pbt,
    "pb2": _pb2,
}


def create_scheduler(name: str, request: SchedulerRequest) -> Any:
    """Build the scheduler registered as ``name``."""
    try:
        factory = SCHEDULERS[name]
    except KeyError:
        raise KeyError(f"unknown scheduler {name!r}; allowed: {', '.join(SCHEDULERS)}") from None
    return factory(request)
