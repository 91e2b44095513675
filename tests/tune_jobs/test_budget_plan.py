"""Budget planning: the arithmetic by hand, and what ``tune-jobs validate`` prints."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import write_spec
from tune_jobs.cli.app import main
from tune_jobs.plan.budget import (
    asha_iterations,
    concurrency,
    hyperband_iterations,
    scheduled_iterations,
    wall_seconds,
)
from tune_jobs.spec.search_schema import SchedulerSpec


def test_asha_hand_checked() -> None:
    # 81 trials, rungs at 1, 3, 9 below max_t 27, 1/3 pass each rung:
    # 54 stop at 1, 18 at 3, 6 at 9, 3 run to 27 -> 54 + 54 + 54 + 81.
    assert asha_iterations(81, 27, 1, 3) == pytest.approx(243)
    # Rungs 1, 2 below max_t 4, half pass: per trial 0.5*1 + 0.25*2 + 0.25*4 = 2.
    assert asha_iterations(9, 4, 1, 2) == pytest.approx(18)
    # A rung at 1.5 is judged at iteration 2: 0.5*2 + 0.5*3 per trial.
    assert asha_iterations(4, 3, 1.5, 2) == pytest.approx(4 * 2.5)


def test_asha_brackets_weighted_as_ray_draws_them() -> None:
    # Bracket 0: rungs 1, 3, 9 (+27) -> 3 per trial; bracket 1: rungs 3, 9 (+27) ->
    # 2/3*3 + 2/9*9 + 1/9*27 = 7 per trial. Ray picks bracket 1 with weight e**-1.
    w1 = 1 / (1 + 2.718281828459045)
    assert asha_iterations(100, 27, 1, 3, brackets=2) == pytest.approx(
        100 * (3 * (1 - w1) + 7 * w1)
    )


def test_hyperband_hand_checked() -> None:
    # max_t 9, eta 3: brackets of 3 trials x 9; 5 trials at 3 then 2 to 9;
    # 9 trials at 1, 3 to 3, 1 to 9 -> 27 + 27 + 21 over 17 trials.
    assert hyperband_iterations(17, 9, 3) == 75
    assert hyperband_iterations(3, 9, 3) == 27


def test_fifo_and_other_units_run_every_trial_to_the_end() -> None:
    assert scheduled_iterations(10, 20, SchedulerSpec(), None) == 200
    seconds = SchedulerSpec(type="asha", time_attr="seconds")
    assert scheduled_iterations(10, 20, seconds, 60) == 200
    asha = SchedulerSpec(type="asha", reduction_factor=3)
    assert scheduled_iterations(81, 27, asha, 27) == pytest.approx(243)


def test_concurrency_and_wall_time() -> None:
    assert concurrency(10, None, 1, 0) == 10  # nothing known: all at once
    assert concurrency(10, 2, 1, 0, cluster_cpus=8) == 2
    assert concurrency(10, None, 2, 0, cluster_cpus=5) == 2
    assert concurrency(10, None, 1, 0.5, cluster_cpus=16, cluster_gpus=2) == 4
    assert concurrency(10, None, 1, 1, cluster_cpus=16, cluster_gpus=0) == 0
    # FIFO: 10 trials, 3 at a time -> 4 waves of 20 iterations x 0.5 s.
    assert wall_seconds(10, 20, 200, 3, 0.5) == 40
    # Early stopping: the iterations spread over the slots, at least one full trial.
    assert wall_seconds(81, 27, 243, 9, 2.0) == 54
    assert wall_seconds(81, 27, 243, 81, 2.0) == 54


def _spec(**extra: object) -> dict:
    return {
        "name": "budget",
        "trainable": "branin",
        "metric": "value",
        "config": {"iterations": 27, "noise": 1.0},
        "space": {"x1": {"uniform": [-5, 10]}, "x2": {"uniform": [0, 15]}},
        "search": {"algorithm": "random", "num_samples": 81, "seed": 0},
        "stop": {"max_iterations": 27},
        "resources": {"cpu": 1, "gpu": 0.5},
        "max_concurrent": 9,
        **extra,
    }


def _validate(capsys: pytest.CaptureFixture[str], path: Path, *args: str) -> list[str]:
    code = main(["validate", str(path), *args])
    out, err = capsys.readouterr()
    assert code == 0, err
    return out.splitlines()


def test_validate_with_cost_prints_asha_saving_and_estimate(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, ray_started: list[str]
) -> None:
    path = write_spec(tmp_path, _spec(scheduler={"type": "asha", "reduction_factor": 3}))
    lines = _validate(capsys, path, "--cost-per-iteration", "2")
    assert "plan: 81 trials x 27 iterations = 2187 iterations if every trial runs to the end" in (
        lines
    )
    assert any(
        line.startswith(
            "plan: asha (grace_period 1, reduction_factor 3, max_t 27, brackets 1)"
            ": about 243 iterations expected, saving 1944 (89%)"
        )
        for line in lines
    ), lines
    # 243 iterations x 2 s = 0.135 h; x 0.5 GPU; 243 / 9 slots x 2 s = 54 s.
    assert (
        "estimate: 0.135 trial-hours, 0.0675 GPU-hours; wall about 54 s "
        "(max_concurrent 9, cluster size unknown)"
    ) in lines
    assert lines[-1] == "ok: spec is valid"
    assert not ray_started


def test_validate_without_cost_prints_plan_and_how_to_estimate(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, ray_started: list[str]
) -> None:
    lines = _validate(capsys, write_spec(tmp_path, _spec()))
    assert "plan: 81 trials x 27 iterations = 2187 iterations if every trial runs to the end" in (
        lines
    )
    hint = [line for line in lines if line.startswith("estimate: ")]
    assert len(hint) == 1
    assert "--cost-per-iteration SECONDS" in hint[0] and "--pilot" in hint[0]
    assert not any(line.startswith("cost: ") for line in lines)
    assert not ray_started


def test_cost_declared_in_the_spec_gives_the_estimate(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, ray_started: list[str]
) -> None:
    path = write_spec(tmp_path, _spec(cost={"seconds_per_iteration": 4}))
    lines = _validate(capsys, path)
    # FIFO: 2187 iterations x 4 s = 2.43 trial-hours, x 0.5 GPU.
    assert any(line.startswith("estimate: 2.43 trial-hours, 1.22 GPU-hours") for line in lines), (
        lines
    )
    assert any("cost.seconds_per_iteration in the spec" in line for line in lines), lines
    # The flag wins over the spec.
    lines = _validate(capsys, path, "--cost-per-iteration", "2")
    assert any(line.startswith("estimate: 1.22 trial-hours") for line in lines), lines
    assert not ray_started


def test_validate_rejects_non_positive_cost(capsys: pytest.CaptureFixture[str], tmp_path: Path):
    code = main(["validate", str(write_spec(tmp_path, _spec())), "--cost-per-iteration", "0"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.strip() == "tune-jobs: error: --cost-per-iteration: must be > 0 seconds; got 0"


@pytest.mark.slow
def test_validate_pilot_measures_seconds_per_iteration(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, ray_local: None
) -> None:
    spec = _spec(resources={"cpu": 1}, search={"algorithm": "random", "num_samples": 6})
    lines = _validate(capsys, write_spec(tmp_path, spec), "--pilot")
    cost = [line for line in lines if line.startswith("cost: ")]
    assert len(cost) == 1 and "measured by a pilot trial" in cost[0]
    seconds = float(re.match(r"cost: (\S+) s per iteration", cost[0]).group(1))
    assert seconds > 0
    estimate = [line for line in lines if line.startswith("estimate: ")]
    assert len(estimate) == 1
    # ray_local has 2 CPUs and 2 (fake) GPUs: the cluster's size is used.
    assert "trial-hours" in estimate[0] and "2 CPUs, 2 GPUs" in estimate[0]
    assert lines[-1] == "ok: spec is valid"
