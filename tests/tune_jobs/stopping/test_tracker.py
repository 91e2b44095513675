"""The result tracker: target, divergence and the censored time-to-target objective."""

from __future__ import annotations

import math

from tune_jobs.names import CENSORED_BASE
from tune_jobs.stopping.tracker import ResultTracker, TrackerRules, lookup


def _result(it: int, loss: float, seconds: float | None = None, **extra: object) -> dict:
    return {
        "training_iteration": it,
        "time_total_s": seconds if seconds is not None else float(it),
        "loss": loss,
        **extra,
    }


def test_lookup_reads_flat_and_nested_results() -> None:
    assert lookup({"val/loss": 1.0}, "val/loss") == 1.0
    assert lookup({"val": {"loss": 2.0}}, "val/loss") == 2.0
    assert lookup({"val": 3}, "val/loss") is None


def test_target_records_first_crossing_and_keeps_it() -> None:
    tracker = ResultTracker(TrackerRules(target=5.0, target_metric="loss"))
    assert tracker.observe("a", _result(1, 7.0)) == {"reached_target": False}
    derived = tracker.observe("a", _result(2, 4.5, seconds=12.5, tokens=2000))
    assert derived == {
        "reached_target": True,
        "time_to_target_s": 12.5,
        "iterations_to_target": 2,
        "tokens_to_target": 2000.0,
    }
    # A later, worse result does not move the first crossing.
    later = tracker.observe("a", _result(3, 6.0, seconds=20.0))
    assert later["time_to_target_s"] == 12.5 and later["iterations_to_target"] == 2
    assert tracker.reached("a") and tracker.any_reached()


def test_target_from_below_in_max_mode() -> None:
    tracker = ResultTracker(TrackerRules(target=0.9, target_metric="acc", target_mode="max"))
    assert not tracker.observe("a", {"training_iteration": 1, "acc": 0.5})["reached_target"]
    assert tracker.observe("a", {"training_iteration": 2, "acc": 0.95})["reached_target"]


def test_observe_is_idempotent_per_result() -> None:
    tracker = ResultTracker(
        TrackerRules(divergence_metric="loss", divergence_factor=2.0, divergence_grace=2)
    )
    result = _result(1, 1.0)
    tracker.observe("a", result)
    tracker.observe("a", dict(result))  # the same result seen by another hook
    # Had the second call counted, the grace period would be over already.
    assert tracker.observe("a", _result(2, 5.0)) == {}
    assert tracker.observe("a", _result(3, 5.0))["diverged"] is True


def test_nan_and_infinite_losses_diverge() -> None:
    tracker = ResultTracker(TrackerRules(divergence_metric="loss"))
    assert tracker.observe("a", _result(1, math.nan))["diverged"] is True
    assert "nan" in tracker.observe("a", _result(1, math.nan))["diverged_reason"]
    assert tracker.observe("b", _result(1, math.inf))["diverged"] is True
    assert tracker.observe("c", _result(1, 3.0)) == {}
    assert tracker.diverged("a") and not tracker.diverged("c")


def test_factor_rule_compares_with_the_best_so_far() -> None:
    tracker = ResultTracker(
        TrackerRules(divergence_metric="loss", divergence_factor=3.0, divergence_grace=0)
    )
    for it, loss in enumerate([4.0, 2.0, 5.9], start=1):
        assert tracker.observe("a", _result(it, loss)) == {}, loss
    derived = tracker.observe("a", _result(4, 6.1))  # > 3 x best (2.0)
    assert derived["diverged"] is True
    assert "3 x best 2" in derived["diverged_reason"]


def test_trainable_reported_divergence_counts() -> None:
    tracker = ResultTracker(TrackerRules())
    assert tracker.observe("a", _result(1, 1.0, diverged=False)) == {}
    assert tracker.observe("a", _result(2, 1.0, diverged=True))["diverged"] is True


def test_censored_objective_ranks_unreached_after_reached_closest_first() -> None:
    tracker = ResultTracker(TrackerRules(target=5.0, target_metric="loss"))
    tracker.observe("slow", _result(1, 4.9, seconds=900.0))  # reached late
    tracker.observe("near", _result(1, 5.2, seconds=10.0))  # never reached, close
    tracker.observe("far", _result(1, 8.0, seconds=10.0))  # never reached, far
    tracker.observe("blind", {"training_iteration": 1, "time_total_s": 1.0})  # no metric
    scores = {t: tracker.objective(t) for t in ("slow", "near", "far", "blind")}
    assert scores["slow"] == 900.0
    assert scores["slow"] < scores["near"] < scores["far"] < scores["blind"]
    assert scores["near"] >= CENSORED_BASE
    assert math.isclose(scores["near"] - CENSORED_BASE, 0.2, rel_tol=1e-6)


def test_trial_seconds_follow_the_latest_time_total() -> None:
    tracker = ResultTracker(TrackerRules())
    tracker.observe("a", _result(1, 1.0, seconds=3.0))
    tracker.observe("a", _result(2, 1.0, seconds=7.0))
    tracker.observe("b", _result(1, 1.0, seconds=2.0))
    assert tracker.trial_seconds() == {"a": 7.0, "b": 2.0}


def test_finished_trial_keeps_its_outcome_but_not_its_recent_results() -> None:
    tracker = ResultTracker(TrackerRules(target=5.0, target_metric="loss"))
    for it in range(1, 40):
        tracker.observe("a", _result(it, 10.0 - it, seconds=float(it)))
    tracker.trial_finished("a")
    state = tracker._trials["a"]
    assert state.seen == set() and state.derived == {}
    # What the sweep still needs of a finished trial stays: its target crossing.
    assert tracker.reached("a") and tracker.objective("a") == 5.0
    tracker.trial_finished("never-seen")  # a trial with no results is not an error
