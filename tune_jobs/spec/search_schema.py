"""The strategy part of a spec: how configurations are proposed, scheduled and stopped.

``search:``, ``scheduler:``, ``stop:`` and ``budget:`` as typed dataclasses, validated on
construction (``FieldError`` names the offending field). Settings that do not apply to
the chosen algorithm or scheduler are errors, never silently ignored.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Literal

from tune_jobs.errors import FieldError

__all__ = [
    "TIME_ATTRS",
    "BudgetSpec",
    "CostSpec",
    "DivergenceSpec",
    "PlateauSpec",
    "SchedulerSpec",
    "SearchSpec",
    "StopSpec",
]

#: ``scheduler.time_attr`` names -> the result key Tune's schedulers count in.
TIME_ATTRS: dict[str, str] = {
    "iterations": "training_iteration",
    "seconds": "time_total_s",
    "tokens": "tokens",
}

#: Scheduler settings each scheduler type accepts (beyond ``type``).
_SCHEDULER_FIELDS: dict[str, frozenset[str]] = {
    "fifo": frozenset(),
    "asha": frozenset({"time_attr", "max_t", "grace_period", "reduction_factor", "brackets"}),
    "hyperband": frozenset({"time_attr", "max_t", "reduction_factor"}),
    "median": frozenset({"time_attr", "grace_period", "min_samples_required"}),
    "pbt": frozenset(
        {
            "time_attr",
            "perturbation_interval",
            "quantile_fraction",
            "resample_probability",
            "mutate",
        }
    ),
    "pb2": frozenset({"time_attr", "perturbation_interval", "quantile_fraction", "mutate"}),
}

#: Search settings each algorithm accepts (beyond ``algorithm``, ``num_samples``, ``seed``).
_SEARCH_FIELDS: dict[str, frozenset[str]] = {
    "random": frozenset(),
    "grid": frozenset(),
    "hyperopt": frozenset({"n_initial_points"}),
    "lhs": frozenset(),
    "factorial": frozenset({"resolution"}),
}


def _check_applicable(spec: object, kind: str, allowed: frozenset[str], skip: set[str]) -> None:
    """Raise for any non-default field that ``kind`` does not use."""
    for f in fields(spec):  # type: ignore[arg-type]
        if f.name in skip or f.name in allowed:
            continue
        default = f.default_factory() if callable(f.default_factory) else f.default
        if getattr(spec, f.name) != default:
            uses = ", ".join(sorted(allowed)) or "no other settings"
            raise FieldError(f.name, f"does not apply to {kind!r}; {kind} takes: {uses}")


@dataclass(frozen=True)
class SearchSpec:
    """How configurations are proposed."""

    algorithm: str = "random"
    """``random``, ``grid``, ``hyperopt`` (TPE; alias ``tpe``), ``lhs`` (Latin hypercube)
    or ``factorial`` (2-level fractional factorial); ``tune-jobs validate`` lists them."""
    num_samples: int | None = None
    """Trials sampled from the space (each grid point is repeated this many times).
    Defaults to 1, or to 0 when ``variants`` are given (then only the variants run);
    variants are run in addition to these samples. For ``factorial`` the design size
    is set by the number of factors and ``resolution`` instead."""
    seed: int | None = None
    """Seed for the searcher, so the same spec proposes the same configurations."""
    n_initial_points: int = 20
    """``hyperopt``: random trials before TPE starts modelling (hyperopt's default 20)."""
    resolution: int = 3
    """``factorial``: design resolution (3: main effects clear of each other; 4: also
    clear of two-factor interactions; 5: two-factor interactions estimable)."""

    def __post_init__(self) -> None:
        from tune_jobs.search import SEARCHERS, canonical_algorithm

        # Normalised once, at validation: the spec is frozen from here on.
        object.__setattr__(self, "algorithm", canonical_algorithm(self.algorithm))
        if self.algorithm not in SEARCHERS:
            allowed = ", ".join(sorted(SEARCHERS))
            raise FieldError("algorithm", f"got {self.algorithm!r}; allowed: {allowed}")
        if self.num_samples is not None and self.num_samples < 0:
            raise FieldError("num_samples", f"must be >= 0; got {self.num_samples}")
        if self.n_initial_points < 1:
            raise FieldError("n_initial_points", f"must be >= 1; got {self.n_initial_points}")
        if self.resolution not in (3, 4, 5):
            raise FieldError("resolution", f"got {self.resolution}; allowed: 3, 4, 5")
        _check_applicable(
            self,
            self.algorithm,
            _SEARCH_FIELDS[self.algorithm],
            {"algorithm", "num_samples", "seed"},
        )


@dataclass(frozen=True)
class SchedulerSpec:
    """Which trial scheduler continues, pauses, stops or perturbs running trials."""

    type: str = "fifo"
    """``fifo``, ``asha``, ``hyperband``, ``median``, ``pbt`` or ``pb2``."""
    time_attr: Literal["iterations", "seconds", "tokens"] = "iterations"
    """What the scheduler counts in: reported results, training seconds, or the
    ``tokens`` the trainable reports."""
    max_t: float | None = None
    """``asha``/``hyperband``: the most a trial can run, in ``time_attr`` units
    (default: ``stop.max_iterations`` or ``stop.max_time_s`` for those units)."""
    grace_period: float = 1
    """``asha``/``median``: no trial is stopped before this much ``time_attr``."""
    reduction_factor: float = 3
    """``asha``/``hyperband``: keep 1/``reduction_factor`` of the trials at each rung."""
    brackets: int = 1
    """``asha``: number of brackets (differently aggressive early stopping)."""
    min_samples_required: int = 3
    """``median``: trials needed at a step before the median rule applies."""
    perturbation_interval: float = 5
    """``pbt``/``pb2``: exploit/explore every this much ``time_attr``; the trainable
    should checkpoint at least this often (PBT copies the donor's latest checkpoint)."""
    quantile_fraction: float = 0.25
    """``pbt``/``pb2``: the bottom fraction copies the top fraction."""
    resample_probability: float = 0.25
    """``pbt``: chance a mutated value is resampled from ``space`` instead of perturbed."""
    mutate: list[str] | None = None
    """``pbt``/``pb2``: which ``space`` keys are mutated (default: all of them)."""

    #: Schedulers that copy a donor trial's checkpoint into others (exploit/explore).
    POPULATION_BASED = frozenset({"pbt", "pb2"})

    @property
    def is_population_based(self) -> bool:
        """PBT or PB2: trials are mutated and continue from other trials' checkpoints."""
        return self.type in self.POPULATION_BASED

    def __post_init__(self) -> None:
        from tune_jobs.schedulers import SCHEDULERS

        if self.type not in SCHEDULERS:
            allowed = ", ".join(sorted(SCHEDULERS))
            raise FieldError("type", f"got {self.type!r}; allowed: {allowed}")
        _check_applicable(self, self.type, _SCHEDULER_FIELDS[self.type], {"type"})
        if self.max_t is not None and self.max_t <= 0:
            raise FieldError("max_t", f"must be > 0; got {self.max_t}")
        if self.grace_period <= 0:
            raise FieldError("grace_period", f"must be > 0; got {self.grace_period}")
        if self.max_t is not None and self.grace_period > self.max_t:
            raise FieldError(
                "grace_period", f"must be <= max_t ({self.max_t:g}); got {self.grace_period:g}"
            )
        if self.reduction_factor <= 1:
            raise FieldError("reduction_factor", f"must be > 1; got {self.reduction_factor}")
        if self.brackets < 1:
            raise FieldError("brackets", f"must be >= 1; got {self.brackets}")
        if self.min_samples_required < 1:
            raise FieldError(
                "min_samples_required", f"must be >= 1; got {self.min_samples_required}"
            )
        if self.perturbation_interval <= 0:
            raise FieldError(
                "perturbation_interval", f"must be > 0; got {self.perturbation_interval}"
            )
        if not 0 < self.quantile_fraction <= 0.5:
            raise FieldError(
                "quantile_fraction", f"must be in (0, 0.5]; got {self.quantile_fraction}"
            )
        if not 0 <= self.resample_probability <= 1:
            raise FieldError(
                "resample_probability", f"must be in [0, 1]; got {self.resample_probability}"
            )
        if self.mutate is not None and not self.mutate:
            raise FieldError("mutate", "needs at least one space key (or leave it out)")

    @property
    def time_key(self) -> str:
        """The result key counted in (``training_iteration``, ``time_total_s``, ``tokens``)."""
        return TIME_ATTRS[self.time_attr]


@dataclass(frozen=True)
class DivergenceSpec:
    """When a trial counts as diverged: its status becomes ``DIVERGED`` and it stops.

    A NaN or infinite value of ``metric`` always counts, as does a trainable reporting
    ``diverged: true`` itself.
    """

    metric: str | None = None
    """The loss watched (default: ``stop.target_metric``, else the spec's ``metric``)."""
    factor: float | None = None
    """Also diverged when ``metric`` exceeds ``factor`` x its best value so far (for
    ``mode: min``; for ``max``, falls below best / ``factor``)."""
    grace_results: int = 1
    """Results before the ``factor`` rule applies (early losses jump around)."""

    def __post_init__(self) -> None:
        if self.factor is not None and self.factor <= 1:
            raise FieldError("factor", f"must be > 1; got {self.factor}")
        if self.grace_results < 0:
            raise FieldError("grace_results", f"must be >= 0; got {self.grace_results}")


@dataclass(frozen=True)
class PlateauSpec:
    """Stop a trial whose metric stopped moving (like Ray Tune's ``TrialPlateauStopper``,
    but by ``training_iteration``: re-reported iterations after a restore count once)."""

    metric: str | None = None
    """The metric watched (default: the spec's ``metric``)."""
    std: float = 0.01
    """Plateau when the standard deviation of the last ``num_results`` is below this."""
    num_results: int = 4
    """Window: the last this many iterations that report the metric."""
    grace_period: int = 4
    """The rule applies from this ``training_iteration`` on."""

    def __post_init__(self) -> None:
        if self.std < 0:
            raise FieldError("std", f"must be >= 0; got {self.std}")
        if self.num_results < 2:
            raise FieldError("num_results", f"must be >= 2; got {self.num_results}")
        if self.grace_period < 1:
            raise FieldError("grace_period", f"must be >= 1; got {self.grace_period}")


@dataclass(frozen=True)
class StopSpec:
    """When a trial stops (whichever comes first)."""

    max_iterations: int | None = None
    """Stop after this many reported results (``training_iteration``)."""
    max_time_s: float | None = None
    """Stop a trial after this many seconds of its own training time (at its first
    result past the limit; one still silent 60 s past it is killed as hung)."""
    hang_timeout_s: float | None = None
    """Kill a running trial that reports nothing for this many seconds (its first
    result counted from its start, set-up included) and record it as ERROR ``hung``;
    it is retried from its last checkpoint under ``max_failures``. Default: off."""
    target: float | None = None
    """Stop a trial once ``target_metric`` reaches this value (<= for ``mode: min``,
    >= for ``max``) and record ``reached_target``, ``time_to_target_s``,
    ``iterations_to_target`` and ``tokens_to_target``."""
    target_metric: str | None = None
    """The metric compared with ``target`` (default: the spec's ``metric``; required
    when the spec optimises ``time_to_target_s``)."""
    target_mode: Literal["min", "max"] | None = None
    """Whether ``target_metric`` reaches the target from above (``min``: value <= target)
    or below (``max``). Default: the spec's ``mode``, or ``min`` when the spec
    optimises ``time_to_target_s``."""
    stop_sweep_on_target: bool = False
    """Stop the whole sweep once any trial reaches ``target`` (W&B's semantics)."""
    divergence: DivergenceSpec | None = None
    """Extra divergence rule (NaN/inf always ends a trial as ``DIVERGED``)."""
    plateau: PlateauSpec | None = None
    """Stop trials whose metric has plateaued."""

    def __post_init__(self) -> None:
        if self.max_iterations is not None and self.max_iterations < 1:
            raise FieldError("max_iterations", f"must be >= 1; got {self.max_iterations}")
        for name in ("max_time_s", "hang_timeout_s"):
            value = getattr(self, name)
            if value is not None and (value <= 0 or not math.isfinite(value)):
                raise FieldError(name, f"must be > 0; got {value}")
        for name in ("target_metric", "target_mode"):
            if self.target is None and getattr(self, name) is not None:
                raise FieldError(name, "needs stop.target")
        if self.target is None and self.stop_sweep_on_target:
            raise FieldError("stop_sweep_on_target", "needs stop.target")


@dataclass(frozen=True)
class BudgetSpec:
    """A sweep-level budget: once spent, no new trial starts and running trials stop
    at their next result (their results so far are kept)."""

    gpu_hours: float | None = None
    """Sum over trials of training hours x GPUs per trial."""
    trial_hours: float | None = None
    """Sum over trials of training hours (for CPU sweeps)."""
    wall_time_s: float | None = None
    """Seconds since the sweep started (a resumed sweep continues the count)."""

    def __post_init__(self) -> None:
        for name in ("gpu_hours", "trial_hours", "wall_time_s"):
            value = getattr(self, name)
            if value is not None and (value <= 0 or not math.isfinite(value)):
                raise FieldError(name, f"must be > 0; got {value}")
        if self.gpu_hours is None and self.trial_hours is None and self.wall_time_s is None:
            raise FieldError("gpu_hours", "a budget needs gpu_hours, trial_hours or wall_time_s")


@dataclass(frozen=True)
class CostSpec:
    """A declared cost, for ``tune-jobs validate``'s GPU-hour and wall-time estimate."""

    seconds_per_iteration: float
    """Seconds one iteration (one reported result) of one trial takes."""

    def __post_init__(self) -> None:
        if not (self.seconds_per_iteration > 0 and math.isfinite(self.seconds_per_iteration)):
            raise FieldError(
                "seconds_per_iteration", f"must be > 0; got {self.seconds_per_iteration}"
            )
