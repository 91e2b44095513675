"""Plan-time checks and precomputation for the search/scheduler/stop part of a spec.

Everything that depends on more than one part of the spec (the scheduler and the
space, the searcher and the variants, the trainable and PBT) is checked here, before
Ray starts, so ``tune-jobs validate`` catches it with a one-line error.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tune_jobs.errors import SpecError
from tune_jobs.names import TIME_TO_TARGET
from tune_jobs.nested import MISSING, get_dotted, has_path, set_dotted
from tune_jobs.search import conditional
from tune_jobs.spec.schema import CommandSpec

if TYPE_CHECKING:
    from tune_jobs.plan.run_plan import RunPlan

__all__ = ["describe_strategy", "resolve_strategy"]


def resolve_strategy(plan: RunPlan) -> None:
    """Validate cross-part rules and fill ``space_points``, ``design`` and ``max_t``."""
    _check_scheduler(plan)
    algorithm = plan.spec.search.algorithm
    if not plan.owns_space:
        return
    if not plan.spec.space:
        raise SpecError(
            plan.source,
            "search.algorithm",
            f"{algorithm} proposes points of the space, and space: is empty; give it "
            "space: keys, or use random or grid (with variants: only, they run the variants)",
        )
    plan.space_points = [_space_part(plan, p) for p in plan.points]
    if algorithm == "hyperopt":
        from tune_jobs.search.hyperopt_space import check_hyperopt_points, hyperopt_space

        hyperopt_space(plan.spec.space, plan.source)  # every domain converts
        check_hyperopt_points(plan.spec.space, plan.space_points, plan.variant_names, plan.source)
    else:
        _make_design(plan)


def _space_part(plan: RunPlan, point: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in plan.spec.space:
        value = get_dotted(point, key)
        if value is not MISSING:
            set_dotted(out, key, value)
    return out


def _make_design(plan: RunPlan) -> None:
    from tune_jobs.search.design import design_points

    s = plan.spec
    algorithm = s.search.algorithm
    for key, domain in s.space.items():
        if conditional.is_conditional(domain):
            raise SpecError(
                plan.source, f"space.{key}", f"{algorithm} designs cannot use conditional choices"
            )
    if algorithm == "lhs" and s.num_samples < 1:
        raise SpecError(plan.source, "search.num_samples", "lhs needs num_samples >= 1")
    if not s.space:
        raise SpecError(plan.source, "space", f"{algorithm} needs at least one space key")
    try:
        design = design_points(
            s.space, algorithm, s.num_samples, s.search.seed, s.search.resolution
        )
    except ValueError as err:
        raise SpecError(plan.source, "space", str(err)) from None
    for point in plan.space_points:
        missing = [k for k in s.space if not has_path(point, k)]
        if missing:
            raise SpecError(
                plan.source,
                "variants",
                f"with {algorithm} every variant must set every space key; missing "
                f"{', '.join(missing)} (set them in variants.reference)",
            )
    plan.design = [*plan.space_points, *design]


def _check_scheduler(plan: RunPlan) -> None:
    from tune_jobs.schedulers import resolve_max_t

    s = plan.spec
    sch = s.scheduler
    where = "scheduler"
    if sch.type in ("asha", "hyperband"):
        plan.max_t = resolve_max_t(sch, s.stop.max_iterations, s.stop.max_time_s)
        if plan.max_t is None:
            raise SpecError(
                plan.source,
                f"{where}.max_t",
                f"required for {sch.type} with time_attr {sch.time_attr} "
                "(or set stop.max_iterations / stop.max_time_s)",
            )
        if sch.grace_period > plan.max_t:
            raise SpecError(
                plan.source,
                f"{where}.grace_period",
                f"must be <= max_t ({plan.max_t:g}); got {sch.grace_period:g}",
            )
    if not sch.is_population_based:
        return
    if isinstance(s.trainable, CommandSpec):
        raise SpecError(
            plan.source,
            f"{where}.type",
            f"{sch.type} copies a donor trial's checkpoint, and command trainables cannot "
            "checkpoint; use a function trainable that reports checkpoints",
        )
    if not s.space:
        raise SpecError(plan.source, "space", f"{sch.type} needs space keys to mutate")
    for key in sch.mutate or []:
        if key not in s.space:
            raise SpecError(
                plan.source,
                f"{where}.mutate",
                f"{key!r} is not a space key; allowed: {', '.join(s.space)}",
            )
    if sch.type == "pb2":
        for key in sch.mutate or list(s.space):
            domain = s.space[key]
            if not domain.is_range or "." in key:
                raise SpecError(
                    plan.source,
                    f"space.{key}",
                    f"pb2 needs top-level numeric ranges ({', '.join(_range_kinds())}); "
                    f"got {domain.kind}",
                )


def _range_kinds() -> list[str]:
    from tune_jobs.spec.kinds import KINDS

    return [kind for kind, info in KINDS.items() if info.shape == "range"]


def describe_strategy(plan: RunPlan) -> list[str]:
    """Extra ``validate`` lines: scheduler settings, target, divergence, budget."""
    s = plan.spec
    lines = []
    sch = s.scheduler
    if sch.type in ("asha", "hyperband"):
        lines.append(
            f"scheduler {sch.type}: time_attr={sch.time_attr} max_t={plan.max_t:g} "
            f"grace_period={sch.grace_period:g} reduction_factor={sch.reduction_factor:g}"
        )
    elif sch.is_population_based:
        mutated = ", ".join(sch.mutate or list(s.space))
        lines.append(
            f"scheduler {sch.type}: every {sch.perturbation_interval:g} {sch.time_attr}, "
            f"bottom {sch.quantile_fraction:g} copy the top and mutate {mutated} "
            "(every checkpoint is kept)"
        )
    if s.stop.target is not None:
        metric = s.stop.target_metric or s.metric
        lines.append(
            f"target: {metric} reaching {s.stop.target:g} stops a trial"
            + (
                "; the first trial to reach it stops the sweep"
                if s.stop.stop_sweep_on_target
                else ""
            )
        )
    if s.metric == TIME_TO_TARGET:
        lines.append(
            "objective time_to_target_s: trials that never reach the target are censored "
            "(ranked after every trial that did, closest first)"
        )
    if s.budget is not None:
        b = s.budget
        parts = [
            f"{name}={value:g}"
            for name, value in (
                ("gpu_hours", b.gpu_hours),
                ("trial_hours", b.trial_hours),
                ("wall_time_s", b.wall_time_s),
            )
            if value is not None
        ]
        lines.append("budget: " + ", ".join(parts) + " (then no new trials, running ones stop)")
    return lines
