"""Our searchers in-process through Tune's Searcher API (no trials, no Ray cluster)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from tune_jobs.names import CENSORED_BASE
from tune_jobs.plan.run_plan import make_plan
from tune_jobs.search import SearchRequest, create_searcher
from tune_jobs.search.searchers import DesignSearcher, ObjectiveSearcher
from tune_jobs.spec import load_spec
from tune_jobs.spec.domains import Domain
from tune_jobs.stopping.tracker import ResultTracker, TrackerRules
from tune_jobs.trial.meta import TRIAL_META_KEY


class _Recorder:
    """A minimal inner searcher recording what it is told (a real Searcher subclass)."""

    def __new__(cls):  # built lazily so importing this module does not import Ray
        from ray.tune.search import Searcher

        class Recorder(Searcher):
            def __init__(self) -> None:
                super().__init__(metric="loss", mode="min")
                self.completed: dict[str, dict] = {}
                self.n = 0

            def suggest(self, trial_id: str) -> dict:
                self.n += 1
                return {"lr": 0.1 * self.n}

            def on_trial_complete(self, trial_id, result=None, error=False) -> None:
                self.completed[trial_id] = result

        return Recorder()


def test_diverged_trials_are_reported_with_the_worst_seen_objective() -> None:
    inner = _Recorder()
    tracker = ResultTracker(TrackerRules(divergence_metric="loss"))
    searcher = ObjectiveSearcher(inner, tracker, "loss", "min", [], time_to_target=False)
    for tid, loss in (("a", 2.0), ("b", 5.0), ("c", math.nan)):
        searcher.suggest(tid)
        searcher.on_trial_complete(tid, {"training_iteration": 1, "loss": loss})
    assert inner.completed["a"]["loss"] == 2.0
    assert inner.completed["c"]["loss"] == 5.0  # the worst seen, never NaN
    assert inner.completed["c"]["diverged"] is True


def test_variant_points_get_their_names_then_samples_get_none() -> None:
    inner = _Recorder()
    metas = [{"variant": "reference", "extra": "{}"}, {"variant": "fast", "extra": "{}"}]
    searcher = ObjectiveSearcher(inner, ResultTracker(TrackerRules()), "loss", "min", metas, False)
    got = [searcher.suggest(f"t{i}") for i in range(3)]
    assert [g.get(TRIAL_META_KEY, {}).get("variant") for g in got] == ["reference", "fast", None]


def test_time_to_target_objective_is_censored_for_the_searcher() -> None:
    inner = _Recorder()
    tracker = ResultTracker(TrackerRules(target=1.0, target_metric="loss"))
    searcher = ObjectiveSearcher(inner, tracker, "time_to_target_s", "min", [], True)
    searcher.on_trial_complete("hit", {"training_iteration": 3, "time_total_s": 42.0, "loss": 0.9})
    searcher.on_trial_complete("miss", {"training_iteration": 3, "time_total_s": 5.0, "loss": 1.5})
    assert inner.completed["hit"]["time_to_target_s"] == 42.0
    assert inner.completed["miss"]["time_to_target_s"] == pytest.approx(CENSORED_BASE + 0.5)


def test_state_round_trips_through_save_and_restore(tmp_path: Path) -> None:
    space = {"lr": Domain("loguniform", (1e-4, 1e-1))}
    request = SearchRequest("loss", "min", 7, [], None, space=space, source="x.yaml")
    first = ObjectiveSearcher(
        create_searcher("hyperopt", request),
        ResultTracker(TrackerRules()),
        "loss",
        "min",
        [{"variant": "reference", "extra": "{}"}],
        False,
    )
    first.set_search_properties("loss", "min", {})
    for i in range(3):
        first.suggest(f"t{i}")
        first.on_trial_complete(f"t{i}", {"loss": float(i)})
    first.save(str(tmp_path / "s.pkl"))
    expected = first.suggest("t3")

    second = ObjectiveSearcher(
        create_searcher("hyperopt", request),
        ResultTracker(TrackerRules()),
        "loss",
        "min",
        [{"variant": "reference", "extra": "{}"}],
        False,
    )
    second.restore(str(tmp_path / "s.pkl"))
    got = second.suggest("t3")
    assert TRIAL_META_KEY not in got  # the variant was already served before the save
    assert got == expected  # same hyperopt state, same next proposal


def test_design_searcher_serves_points_then_finishes() -> None:
    searcher = DesignSearcher([{"x": 1}, {"x": 2}], "loss", "min")
    assert [searcher.suggest("a"), searcher.suggest("b")] == [{"x": 1}, {"x": 2}]
    assert searcher.suggest("c") == DesignSearcher.FINISHED


def test_hyperopt_is_seeded_through_the_spec(tmp_path: Path) -> None:
    spec_file = tmp_path / "s.yaml"
    spec_file.write_text(
        "name: s\ntrainable: branin\nmetric: value\n"
        "space: {x1: {uniform: [-5, 10]}, x2: {uniform: [0, 15]}}\n"
        "search: {algorithm: tpe, num_samples: 5, seed: 11, n_initial_points: 2}\n"
    )

    def proposals() -> list[dict]:
        plan = make_plan(load_spec(spec_file), str(spec_file))
        assert plan.spec.search.algorithm == "hyperopt"  # tpe is an alias
        request = SearchRequest(
            "value", "min", plan.spec.search.seed, [], None, space=plan.spec.space
        )
        searcher = create_searcher("hyperopt", request)
        out = []
        for i in range(5):
            config = searcher.suggest(str(i))
            out.append(config)
            searcher.on_trial_complete(str(i), {"value": config["x1"] ** 2})
        return out

    first = proposals()
    assert first == proposals()
    assert all(-5 <= c["x1"] <= 10 and 0 <= c["x2"] <= 15 for c in first)
