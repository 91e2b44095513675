"""Assemble the driver-side strategy of a sweep: searcher, scheduler, stoppers, tracker.

The one place that combines the search registry, the scheduler registry and the
stopping rules into the objects ``Tuner`` takes, sharing one ``ResultTracker``.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Any

from tune_jobs.plan.run_plan import RunPlan, repeat_base
from tune_jobs.schedulers import SchedulerRequest, create_scheduler
from tune_jobs.search import SearchRequest, create_searcher
from tune_jobs.spec.schema import TIME_TO_TARGET, SweepSpec
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
    target_metric = stop.target_metric or (spec.metric if stop.target is not None else None)
    target_mode = stop.target_mode or ("min" if spec.metric == TIME_TO_TARGET else spec.mode)
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


class _MaxIterationStopper:
    """Stops a trial once its ``training_iteration`` reaches ``max_iterations``.

    Not Ray's ``MaximumIterationStopper``: that one counts results, and its counts come
    back with the experiment snapshot on resume, so the iterations a restored trial
    re-reports after its checkpoint were counted twice and the trial stopped early.
    """

    def __init__(self, max_iterations: int) -> None:
        self.max_iterations = max_iterations

    def __call__(self, trial_id: str, result: dict[str, Any]) -> bool:
        return int(result.get("training_iteration") or 0) >= self.max_iterations

    def stop_all(self) -> bool:
        return False


class _MaxTimeStopper:
    """Stops a trial after ``max_time_s`` seconds of its own training time."""

    def __init__(self, max_time_s: float) -> None:
        self.max_time_s = max_time_s

    def __call__(self, trial_id: str, result: dict[str, Any]) -> bool:
        return float(result.get("time_total_s") or 0.0) >= self.max_time_s

    def stop_all(self) -> bool:
        return False


class _PlateauStopper:
    """Stops a trial whose ``metric`` has a standard deviation below ``std`` over its
    last ``num_results`` iterations that report it, from ``training_iteration``
    ``grace_period`` on.

    Not Ray's ``TrialPlateauStopper``: that one counts results, so a restored trial's
    re-reported iterations fill its window twice, and it puts results without the metric
    into the window (a trainable that evaluates every few steps would never plateau).
    Here a re-reported iteration replaces what the trial reported for it and after it.
    """

    def __init__(self, metric: str, std: float, num_results: int, grace_period: int) -> None:
        self.metric = metric
        self.std = std
        self.num_results = num_results
        self.grace_period = grace_period
        self._windows: dict[str, dict[int, float]] = {}

    def __call__(self, trial_id: str, result: dict[str, Any]) -> bool:
        iteration = int(result.get("training_iteration") or 0)
        window = self._windows.setdefault(trial_id, {})
        for superseded in [i for i in window if i >= iteration]:  # restored: rewound
            del window[superseded]
        value = result.get(self.metric)
        if value is None:
            return False
        window[iteration] = float(value)
        if len(window) > self.num_results:
            del window[min(window)]
        if iteration < self.grace_period or len(window) < self.num_results:
            return False
        return statistics.pstdev(window.values()) < self.std

    def stop_all(self) -> bool:
        return False


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
        stoppers.append(_MaxIterationStopper(spec.stop.max_iterations))
    if spec.stop.max_time_s is not None:
        stoppers.append(_MaxTimeStopper(spec.stop.max_time_s))
    plateau = spec.stop.plateau
    if plateau is not None:
        stoppers.append(
            _PlateauStopper(
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
