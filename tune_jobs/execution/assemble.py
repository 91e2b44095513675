"""Assemble the driver-side strategy of a sweep: searcher, scheduler, stoppers, tracker.

The one place that combines the search registry, the scheduler registry and the
stopping rules into the objects ``Tuner`` takes, sharing one ``ResultTracker``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tune_jobs.names import TIME_TO_TARGET
from tune_jobs.plan.run_plan import RunPlan, repeat_base
from tune_jobs.results.ranking import target_defaults
from tune_jobs.schedulers import SchedulerRequest, create_scheduler
from tune_jobs.search import SearchRequest, create_searcher
from tune_jobs.spec.schema import SweepSpec
from tune_jobs.stopping.stoppers import MaxIterationStopper, MaxTimeStopper, PlateauStopper
from tune_jobs.stopping.tracker import ResultTracker, TrackerRules

__all__ = ["Strategy", "build_strategy", "tracker_rules"]


@dataclass
class Strategy:
    """What ``Tuner`` needs beyond the trainable and the param space."""

    searcher: Any
    scheduler: Any
    stopper: Any
    callback: Any
    """``DerivedMetricsCallback``: must be the first callback."""
    tracker: ResultTracker


def tracker_rules(spec: SweepSpec) -> TrackerRules:
    """The tracker's rules resolved from the spec's defaults (see docs/search.md)."""
    stop = spec.stop
    target_metric, target_mode = target_defaults(
        spec.metric, spec.mode, stop.target, stop.target_metric, stop.target_mode
    )
    divergence = stop.divergence
    watched = (divergence.metric if divergence else None) or target_metric or spec.metric
    if watched == spec.metric and spec.metric != TIME_TO_TARGET:
        watched_mode = spec.mode
    elif watched == target_metric:
        watched_mode = target_mode
    else:
        watched_mode = "min"
    return TrackerRules(
        target=stop.target,
        target_metric=target_metric,
        target_mode=target_mode,
        divergence_metric=None if watched == TIME_TO_TARGET else watched,
        divergence_factor=divergence.factor if divergence else None,
        divergence_grace=divergence.grace_results if divergence else 1,
        divergence_mode=watched_mode,
    )


def build_strategy(plan: RunPlan) -> Strategy:
    """Build the searcher, scheduler, stoppers and tracker for ``plan``."""
    from ray.tune.search import ConcurrencyLimiter
    from ray.tune.stopper import CombinedStopper

    from tune_jobs.search.searchers import ObjectiveSearcher
    from tune_jobs.stopping.hooks import DerivedMetricsCallback, ObjectiveScheduler, SweepStopper

    spec = plan.spec
    tracker = ResultTracker(tracker_rules(spec))
    time_to_target = spec.metric == TIME_TO_TARGET
    searcher = create_searcher(
        spec.search.algorithm,
        SearchRequest(
            metric=spec.metric,
            mode=spec.mode,
            seed=spec.search.seed,
            points_to_evaluate=plan.space_points if plan.owns_space else plan.points,
            max_concurrent=spec.max_concurrent,
            space=spec.space,
            num_samples=spec.num_samples,
            n_initial_points=spec.search.n_initial_points,
            resolution=spec.search.resolution,
            source=plan.source,
            design=plan.design,
            constant_grid_search=spec.repeats.n > 1,
        ),
    )
    if plan.owns_space:
        metas = plan.variant_metas
        if spec.repeats.n > 1:  # Ray's Repeater: the searcher learns the mean over repeats
            from tune_jobs.search.repeater import SeedRepeater

            n, key = spec.repeats.n, spec.repeats.seed_key
            searcher = SeedRepeater(searcher, n, key, repeat_base(spec))
            metas = [meta for meta in metas for _ in range(n)]
        searcher = ObjectiveSearcher(
            searcher, tracker, spec.metric, spec.mode, metas, time_to_target
        )
        if spec.max_concurrent:
            searcher = ConcurrencyLimiter(searcher, max_concurrent=spec.max_concurrent)
    scheduler = create_scheduler(
        spec.scheduler.type,
        SchedulerRequest(spec.metric, spec.mode, spec.scheduler, plan.max_t, spec.space),
    )
    if time_to_target:
        scheduler = ObjectiveScheduler(scheduler, tracker, spec.metric)
    if spec.stop.hang_timeout_s is not None or spec.stop.max_time_s is not None:
        from tune_jobs.stopping.watchdog import HangWatchdog

        scheduler = HangWatchdog(scheduler, spec.stop.hang_timeout_s, spec.stop.max_time_s)
    stoppers: list[Any] = [
        SweepStopper(
            tracker,
            stop_on_target=spec.stop.target is not None,
            stop_sweep_on_target=spec.stop.stop_sweep_on_target,
            budget=spec.budget,
            gpus_per_trial=spec.resources.gpu,
        )
    ]
    if spec.stop.max_iterations is not None:
        stoppers.append(MaxIterationStopper(spec.stop.max_iterations))
    if spec.stop.max_time_s is not None:
        stoppers.append(MaxTimeStopper(spec.stop.max_time_s))
    plateau = spec.stop.plateau
    if plateau is not None:
        stoppers.append(
            PlateauStopper(
                metric=plateau.metric or spec.metric,
                std=plateau.std,
                num_results=plateau.num_results,
                grace_period=plateau.grace_period,
            )
        )
    return Strategy(
        searcher=searcher,
        scheduler=scheduler,
        stopper=CombinedStopper(*stoppers),
        callback=DerivedMetricsCallback(tracker),
        tracker=tracker,
    )
