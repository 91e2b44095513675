"""Budget planning for ``tune-jobs validate``: trials, iterations, GPU-hours, wall time.

The arithmetic (pure functions, no Ray):

- iterations if every trial runs to the end: trials x ``stop.max_iterations``;
- under ``asha``: the expected iterations of ideal successive halving on Ray's rung
  schedule (rungs at ``grace_period * rf**(k + s)`` below ``max_t`` for bracket ``s``,
  ``1/rf`` of the trials passing each rung, brackets drawn as Ray draws them);
  Ray's ASHA is asynchronous (early trials pass rungs that are still empty), so a real
  sweep runs somewhat more (benchmarks/asha_fidelity.py measures how much);
- under ``hyperband``: Ray's synchronous brackets, filled in Ray's order;
- cost: seconds per iteration, from ``--cost-per-iteration`` or a measured pilot
  (``validate --pilot``: one short trial on a local Ray);
- wall time: trials run ``concurrency`` at a time, where concurrency is the smallest of
  ``max_concurrent``, what the cluster's CPUs/GPUs fit (when known) and the trial count.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from tune_jobs.spec.search_schema import SchedulerSpec

if TYPE_CHECKING:
    from tune_jobs.plan.run_plan import RunPlan

__all__ = [
    "StageBudget",
    "asha_iterations",
    "budget_lines",
    "concurrency",
    "hyperband_iterations",
    "scheduled_iterations",
    "stage_budgets",
    "wall_seconds",
]

#: Results a pilot trial reports (the first one is also timed, as set-up).


def asha_iterations(
    trials: int, max_t: int, grace_period: float, reduction_factor: float, brackets: int = 1
) -> float:
    """Expected total iterations of ``trials`` trials under ASHA (ideal halving).

    Follows Ray's ``_Bracket``: bracket ``s`` has ``int(log(max_t/grace)/log(rf) - s + 1)``
    rungs at ``grace * rf**(k + s)``; a trial stops at a rung unless it is in the top
    ``1/rf`` there; survivors of the last rung run to ``max_t``. A trial is put in
    bracket ``s`` with probability proportional to ``e**(rungs_s - max rungs)``.
    """
    sizes, costs = [], []
    for s in range(brackets):
        n_rungs = int(np.log(max_t / grace_period) / np.log(reduction_factor) - s + 1)
        milestones = [grace_period * reduction_factor ** (k + s) for k in range(n_rungs)]
        per_trial, alive = 0.0, 1.0
        for milestone in milestones:
            if milestone >= max_t:
                break
            # Results are whole iterations: a rung at 1.5 is judged at iteration 2.
            per_trial += alive * (1 - 1 / reduction_factor) * math.ceil(milestone)
            alive /= reduction_factor
        per_trial += alive * max_t
        sizes.append(len(milestones))
        costs.append(per_trial)
    weights = np.e ** (np.array(sizes) - max(sizes))
    weights /= weights.sum()
    return float(trials * np.dot(weights, costs))


def hyperband_iterations(trials: int, max_t: int, reduction_factor: float) -> float:
    """Total iterations of ``trials`` trials under Ray's synchronous HyperBand.

    Brackets ``s = 0, 1, ...`` of a band take ``ceil(s_max/(s+1) * eta**s)`` trials
    each, in order, starting at ``int(max_t / eta**s)`` iterations; each halving keeps
    ``ceil(n/eta)`` (of the bracket's nominal size, at most those present) and
    multiplies the iterations by ``eta`` up to ``max_t``.
    """
    eta = reduction_factor
    s_max = int(np.round(np.log(max_t) / np.log(eta))) + 1
    total, left, s = 0.0, trials, 0
    while left > 0:
        r = int(max_t * eta ** (-s))
        if r > 0:
            nominal = math.ceil(s_max / (s + 1) * eta**s)
            present = min(left, nominal)
            left -= present
            for _ in range(s):
                nominal = math.ceil(nominal / eta)
                kept = min(present, nominal)
                total += (present - kept) * r
                present, r = kept, int(min(r * eta, max_t))
            total += present * r
        s = (s + 1) % s_max
    return total


def scheduled_iterations(
    trials: int, iterations: int, scheduler: SchedulerSpec, max_t: float | None
) -> float:
    """Expected iterations of ``trials`` trials of ``iterations`` each under ``scheduler``
    (``asha``/``hyperband`` counting iterations); others run every trial to the end."""
    if scheduler.type not in ("asha", "hyperband") or scheduler.time_attr != "iterations":
        return float(trials * iterations)
    top = int(min(iterations, max_t or iterations))
    if scheduler.type == "asha":
        return asha_iterations(
            trials, top, scheduler.grace_period, scheduler.reduction_factor, scheduler.brackets
        )
    return hyperband_iterations(trials, top, scheduler.reduction_factor)


def concurrency(
    trials: int,
    max_concurrent: int | None,
    cpu: float,
    gpu: float,
    cluster_cpus: float | None = None,
    cluster_gpus: float | None = None,
) -> int:
    """Trials running at once: the smallest of ``max_concurrent``, what the cluster
    fits (when its CPUs/GPUs are known) and ``trials``; 0 when a trial cannot fit."""
    limit = trials if max_concurrent is None else min(trials, max_concurrent)
    if cluster_cpus is not None and cpu > 0:
        limit = min(limit, int(cluster_cpus // cpu))
    if cluster_gpus is not None and gpu > 0:
        limit = min(limit, int(cluster_gpus // gpu))
    return max(limit, 0)


def wall_seconds(
    trials: int, iterations: int, total_iterations: float, at_once: int, seconds: float
) -> float:
    """Wall time of a stage: equal trials in waves of ``at_once`` when every trial runs
    to the end, else the iterations spread over ``at_once`` slots (at least one trial)."""
    if total_iterations >= trials * iterations:
        return math.ceil(trials / at_once) * iterations * seconds
    return max(total_iterations / at_once, iterations) * seconds


@dataclass(frozen=True)
class StageBudget:
    """One stage's share of the budget (a spec without stages is one stage)."""

    trials: int
    iterations: int | None
    """Iterations per trial run to the end (``None``: the spec sets no bound)."""
    scheduler: SchedulerSpec
    max_t: float | None


def stage_budgets(plan: RunPlan) -> list[StageBudget]:
    """Per stage: planned trials, iterations per trial and scheduler."""

    def budget(p: RunPlan) -> StageBudget:
        s = p.spec
        iterations = s.stop.max_iterations
        if iterations is None and s.scheduler.time_attr == "iterations" and p.max_t:
            iterations = int(p.max_t)
        return StageBudget(p.num_trials, iterations, s.scheduler, p.max_t)

    out = [budget(plan)]
    stages = getattr(plan.spec, "stages", None) or []
    if stages:
        from tune_jobs.plan.run_plan import make_plan
        from tune_jobs.plan.stages import nominal_stage_spec

        prev = plan.num_configs
        for index in range(2, len(stages) + 2):
            stage_plan = make_plan(nominal_stage_spec(plan.spec, index, prev), plan.source)
            out.append(budget(stage_plan))
            prev = stage_plan.num_configs
    return out


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 2 * 3600:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def budget_lines(
    plan: RunPlan,
    seconds_per_iteration: float | None = None,
    cost_source: str = "",
    cluster: dict[str, float] | None = None,
) -> list[str]:
    """``validate`` lines: planned trials and iterations per stage, the scheduler's
    saving, and (given a cost per iteration) trial-hours, GPU-hours and wall time."""
    s = plan.spec
    stages = stage_budgets(plan)
    cluster = cluster or {}
    lines: list[str] = []
    total = {"iterations": 0.0, "wall": 0.0}
    for number, stage in enumerate(stages, start=1):
        name = f"stage {number}: " if len(stages) > 1 else ""
        if stage.iterations is None:
            lines.append(
                f"plan: {name}{stage.trials} trials; iterations per trial not bounded by the spec "
                "(set stop.max_iterations for an estimate)"
            )
            total["iterations"] = math.nan
            continue
        full = stage.trials * stage.iterations
        expected = scheduled_iterations(
            stage.trials, stage.iterations, stage.scheduler, stage.max_t
        )
        lines.append(
            f"plan: {name}{stage.trials} trials x {stage.iterations} iterations = "
            f"{full} iterations if every trial runs to the end"
        )
        if expected < full:
            sch = stage.scheduler
            lines.append(
                f"plan: {name}{sch.type} (grace_period {sch.grace_period:g}, reduction_factor "
                f"{sch.reduction_factor:g}, max_t {min(stage.iterations, stage.max_t or 1e18):g}"
                f"{f', brackets {sch.brackets}' if sch.type == 'asha' else ''}): about "
                f"{expected:.0f} iterations expected, saving {full - expected:.0f} "
                f"({1 - expected / full:.0%})"
                + ("; asynchronous ASHA runs somewhat more" if sch.type == "asha" else "")
            )
        at_once = concurrency(
            stage.trials,
            s.max_concurrent,
            s.resources.cpu,
            s.resources.gpu,
            cluster.get("CPU"),
            cluster.get("GPU"),
        )
        total["iterations"] += expected
        if seconds_per_iteration is not None and at_once > 0:
            total["wall"] += wall_seconds(
                stage.trials, stage.iterations, expected, at_once, seconds_per_iteration
            )
        if at_once == 0:
            lines.append(f"plan: {name}a trial needs more CPUs/GPUs than the cluster has")
            total["wall"] = math.nan
    if seconds_per_iteration is None:
        lines.append(
            "estimate: needs a cost per iteration: pass --cost-per-iteration SECONDS, or "
            "--pilot to measure one short trial on a local Ray"
        )
        return lines
    lines.append(f"cost: {seconds_per_iteration:.4g} s per iteration ({cost_source})")
    if math.isnan(total["iterations"]):
        lines.append("estimate: unavailable (a stage has no iteration bound)")
        return lines
    hours = total["iterations"] * seconds_per_iteration / 3600
    where = (
        f"{cluster.get('CPU', 0):g} CPUs, {cluster.get('GPU', 0):g} GPUs"
        if cluster
        else "cluster size unknown"
    )
    lines.append(
        f"estimate: {hours:.3g} trial-hours, {hours * s.resources.gpu:.3g} GPU-hours; "
        f"wall about {_duration(total['wall'])} (max_concurrent "
        f"{s.max_concurrent or 'unlimited'}, {where})"
    )
    return lines
