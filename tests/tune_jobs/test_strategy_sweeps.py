"""Real Ray sweeps through the search/scheduler/stopping strategy (tiny, CPU)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from analysis import load_metrics, load_trials
from tests.conftest import run_spec_in_process
from tests.fixtures.curves import loss_at

pytestmark = pytest.mark.slow

CURVE = "tests/fixtures/curves.py:curve"


def _spec(name: str, **parts: Any) -> dict[str, Any]:
    return {"name": name, "trainable": CURVE, "metric": "loss", "mode": "min", **parts}


def _iterations(run_dir: str) -> dict[float, int]:
    trials = load_trials(run_dir)
    return dict(zip(trials["config/lr"], trials["training_iteration"], strict=False))


@pytest.mark.parametrize(
    "units",
    [
        {"grace_period": 1},
        # Counting the tokens the trainable reports (100 per step): same rungs in tokens.
        {"time_attr": "tokens", "grace_period": 100, "max_t": 800},
    ],
    ids=["iterations", "tokens"],
)
def test_asha_stops_the_slow_learners_early(
    ray_local: None, tmp_path: Path, units: dict[str, Any]
) -> None:
    # Best learners first: asynchronous halving can only cut a trial by comparing it
    # with results already at the rung.
    lrs = [0.9, 0.3, 0.1, 0.05, 0.02, 0.01]
    outcome = run_spec_in_process(
        tmp_path,
        _spec(
            "asha",
            config={"steps": 8},
            space={"lr": {"grid": lrs}},
            search={"algorithm": "grid"},
            scheduler={"type": "asha", "reduction_factor": 2, **units},
            stop={"max_iterations": 8},
            max_concurrent=2,
        ),
    )
    assert outcome.statuses == {"TERMINATED": 6}
    iterations = _iterations(outcome.run_dir)
    assert iterations[0.9] == 8  # the best learner always runs to max_t
    assert sum(iterations.values()) < 6 * 8  # ...and some others were cut at a rung
    assert min(iterations.values()) < 8
    # The metrics table has exactly the rows each trial reported.
    metrics = load_metrics(outcome.run_dir)
    assert len(metrics) == sum(iterations.values())


def test_target_and_divergence_end_trials_with_their_own_status(
    ray_local: None, tmp_path: Path
) -> None:
    outcome = run_spec_in_process(
        tmp_path,
        _spec(
            "target",
            config={"steps": 10},
            space={"lr": {"grid": [0.05, 0.5, 1.2]}},
            search={"algorithm": "grid"},
            stop={"target": 1.5},
        ),
    )
    assert outcome.statuses == {"TERMINATED": 2, "DIVERGED": 1}
    trials = load_trials(outcome.run_dir).set_index("config/lr")
    diverged = trials.loc[1.2]
    assert diverged["status"] == "DIVERGED"
    assert diverged["diverged"] and "loss is nan" in diverged["diverged_reason"]
    assert diverged["training_iteration"] == 2  # stopped at the first NaN
    hit = trials.loc[0.5]
    # loss_at(0.5, 4) = 1.476 is the first value <= 1.5: the trial stops there.
    assert loss_at(0.5, 3) > 1.5 >= loss_at(0.5, 4)
    assert hit["reached_target"] and hit["iterations_to_target"] == 4
    assert hit["tokens_to_target"] == 400 and hit["training_iteration"] == 4
    assert 0 < hit["time_to_target_s"] <= hit["time_total_s"]
    miss = trials.loc[0.05]
    assert not miss["reached_target"] and miss["training_iteration"] == 10
    assert miss["time_to_target_s"] != miss["time_to_target_s"]  # NaN: never reached


def test_first_trial_on_target_stops_the_sweep(ray_local: None, tmp_path: Path) -> None:
    outcome = run_spec_in_process(
        tmp_path,
        _spec(
            "sweep_target",
            config={"steps": 10, "sleep_s": 0.05},
            space={"lr": {"grid": [0.5, 0.01, 0.02, 0.03]}},
            search={"algorithm": "grid"},
            stop={"target": 1.5, "stop_sweep_on_target": True},
            max_concurrent=1,
        ),
    )
    trials = load_trials(outcome.run_dir)
    assert outcome.unfinished == 0
    assert trials["reached_target"].fillna(False).sum() == 1
    # The searcher was told to finish: the later grid points never became trials
    # (or, if already queued, were skipped without starting).
    assert (trials["status"] == "TERMINATED").sum() == 1
    assert set(trials["status"]) <= {"TERMINATED", "SKIPPED"}


def test_budget_stops_launching_and_running_trials(ray_local: None, tmp_path: Path) -> None:
    outcome = run_spec_in_process(
        tmp_path,
        _spec(
            "budget",
            config={"steps": 40, "sleep_s": 0.1},
            space={"lr": {"grid": [0.01, 0.02, 0.03]}},
            search={"algorithm": "grid"},
            budget={"trial_hours": 1.0 / 3600},  # one second of training in all
            max_concurrent=1,
        ),
    )
    trials = load_trials(outcome.run_dir)
    ran = trials[trials["status"] == "TERMINATED"]
    assert len(ran) == 1 and ran["training_iteration"].iloc[0] < 40
    assert ran["time_total_s"].iloc[0] >= 1.0
    assert set(trials["status"]) <= {"TERMINATED", "SKIPPED"}


def test_plateau_stops_flat_curves(ray_local: None, tmp_path: Path) -> None:
    outcome = run_spec_in_process(
        tmp_path,
        _spec(
            "plateau",
            config={"steps": 20, "constant": True},
            stop={"plateau": {"std": 0.001, "num_results": 3, "grace_period": 3}},
        ),
    )
    trials = load_trials(outcome.run_dir)
    assert trials["training_iteration"].iloc[0] <= 4


def test_time_to_target_objective_drives_tpe_and_asha(ray_local: None, tmp_path: Path) -> None:
    outcome = run_spec_in_process(
        tmp_path,
        {
            "name": "ttt",
            "trainable": CURVE,
            "metric": "time_to_target_s",
            "config": {"steps": 10, "sleep_s": 0.02},
            "space": {"lr": {"loguniform": [0.01, 1.0]}},
            "search": {"algorithm": "hyperopt", "num_samples": 8, "seed": 3, "n_initial_points": 4},
            "scheduler": {"type": "asha", "grace_period": 2, "reduction_factor": 2},
            "stop": {"target": 1.5, "target_metric": "loss", "max_iterations": 10},
            "max_concurrent": 2,
        },
    )
    trials = load_trials(outcome.run_dir)
    assert len(trials) == 8
    reached = trials[trials["reached_target"].fillna(False).astype(bool)]
    assert not reached.empty
    # The best trial is the fastest of those that reached the target; the censored
    # ones never win, whatever their (absent) time.
    assert outcome.best_trial in set(reached["trial_id"])
    assert outcome.best_value == pytest.approx(reached["time_to_target_s"].min())
    censored = trials[~trials["trial_id"].isin(reached["trial_id"])]
    assert censored["time_to_target_s"].isna().all()


def test_conditional_choices_sample_their_own_parameters(ray_local: None, tmp_path: Path) -> None:
    for algorithm in ("random", "hyperopt"):
        (tmp_path / algorithm).mkdir()
        outcome = run_spec_in_process(
            tmp_path / algorithm,
            _spec(
                f"cond_{algorithm}",
                config={"steps": 2},
                space={
                    "lr": {"loguniform": [0.01, 0.5]},
                    "opt": {
                        "choice": [
                            {"name": "adam", "beta": {"uniform": [0.8, 0.99]}},
                            {"name": "sgd", "momentum": {"choice": [0.0, 0.9]}},
                        ]
                    },
                },
                search={"algorithm": algorithm, "num_samples": 6, "seed": 0},
            ),
        )
        trials = load_trials(outcome.run_dir)
        assert len(trials) == 6
        adam = trials[trials["config/opt.name"] == "adam"]
        sgd = trials[trials["config/opt.name"] == "sgd"]
        assert not adam.empty or not sgd.empty
        assert adam["config/opt.beta"].between(0.8, 0.99).all()
        assert adam["config/opt.momentum"].isna().all()
        assert sgd["config/opt.momentum"].isin([0.0, 0.9]).all()
        assert sgd["config/opt.beta"].isna().all() if "config/opt.beta" in sgd else True


@pytest.mark.parametrize(
    "scheduler",
    [
        {"type": "hyperband", "reduction_factor": 2},
        {"type": "median", "grace_period": 2, "min_samples_required": 2},
    ],
)
def test_hyperband_and_median_stop_some_trials_early(
    ray_local: None, tmp_path: Path, scheduler: dict[str, Any]
) -> None:
    outcome = run_spec_in_process(
        tmp_path,
        _spec(
            f"sched_{scheduler['type']}",
            config={"steps": 8, "sleep_s": 0.01},
            space={"lr": {"grid": [0.9, 0.6, 0.3, 0.1, 0.05, 0.02, 0.01, 0.005]}},
            search={"algorithm": "grid"},
            scheduler=scheduler,
            stop={"max_iterations": 8},
            # Synchronous HyperBand halves a bracket only once all its trials exist.
            max_concurrent=None if scheduler["type"] == "hyperband" else 2,
        ),
    )
    iterations = _iterations(outcome.run_dir)
    assert len(iterations) == 8
    assert min(iterations.values()) < 8  # some trials were stopped early
    assert sum(iterations.values()) < 8 * 8
    assert iterations[0.005] < 8  # the slowest learner is among them
