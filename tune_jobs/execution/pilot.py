"""The ``validate --pilot`` measurement: one short trial on a local Ray, then the budget.

The pilot's Tuner is built by ``tune_jobs.execution.tuner.build_pilot_tuner`` (the one module
that builds Tuners); the budget arithmetic is ``tune_jobs.plan.budget``.
"""

from __future__ import annotations

import tempfile
import time
from typing import Any

from tune_jobs.errors import UserError
from tune_jobs.execution.connect import init_ray
from tune_jobs.execution.tuner import build_pilot_tuner
from tune_jobs.nested import deep_merge
from tune_jobs.plan.budget import budget_lines
from tune_jobs.plan.run_plan import RunPlan
from tune_jobs.trial.trainable import resolve_trainable

__all__ = ["PILOT_ITERATIONS", "pilot_budget_lines", "run_pilot"]

#: Results the pilot trial reports before it is stopped.
PILOT_ITERATIONS = 4


def run_pilot(plan: RunPlan, iterations: int = PILOT_ITERATIONS) -> tuple[float, dict[str, float]]:
    """Run the plan's first trial (first variant, else a sample; grid values: the first)
    for ``iterations`` results on the local Ray (started if needed).

    Returns seconds per iteration (between the first and the last result, so set-up is
    excluded; the first result's time when only one was reported) and the cluster's
    resources (``CPU``, ``GPU``).
    """
    import ray
    from ray import tune

    spec = plan.spec
    trainable = resolve_trainable(spec.trainable, plan.source)
    config = deep_merge(_first_grid_values(plan.param_space), plan.points[0] if plan.points else {})
    init_ray(None)
    times: list[float] = []

    class _Times(tune.Callback):
        def on_trial_result(self, iteration: int, trials: Any, trial: Any, result: dict) -> None:
            times.append(time.perf_counter())

    with tempfile.TemporaryDirectory(prefix="tune-jobs-pilot-") as tmp:
        start = time.perf_counter()
        grid = build_pilot_tuner(spec, trainable, config, tmp, iterations, _Times()).fit()
        errors = [r.error for r in grid if r.error is not None]
    if errors:
        raise UserError(f"{plan.source}: the pilot trial failed: {errors[0]}")
    if not times:
        raise UserError(f"{plan.source}: the pilot trial reported no result")
    per = (times[-1] - times[0]) / (len(times) - 1) if len(times) > 1 else times[0] - start
    resources = ray.cluster_resources()
    return per, {"CPU": resources.get("CPU", 0.0), "GPU": resources.get("GPU", 0.0)}


def pilot_budget_lines(plan: RunPlan, cost_per_iteration: float | None, pilot: bool) -> list[str]:
    """``budget_lines`` for the CLI: the cost from ``--pilot`` (measured) or
    ``--cost-per-iteration`` (declared), else the plan without an estimate."""
    if cost_per_iteration is not None and not cost_per_iteration > 0:
        raise UserError(f"--cost-per-iteration: must be > 0 seconds; got {cost_per_iteration:g}")
    if pilot:
        seconds, cluster = run_pilot(plan)
        source = f"measured by a pilot trial of {PILOT_ITERATIONS} iterations on a local Ray"
        return budget_lines(plan, seconds, source, cluster)
    if cost_per_iteration is not None:
        return budget_lines(plan, cost_per_iteration, "--cost-per-iteration")
    if plan.spec.cost is not None:
        return budget_lines(
            plan, plan.spec.cost.seconds_per_iteration, "cost.seconds_per_iteration in the spec"
        )
    return budget_lines(plan)


def _first_grid_values(node: Any) -> Any:
    """``node`` with every ``grid_search`` replaced by its first value."""
    if isinstance(node, dict):
        if set(node) == {"grid_search"}:
            return node["grid_search"][0]
        return {k: _first_grid_values(v) for k, v in node.items()}
    return node
