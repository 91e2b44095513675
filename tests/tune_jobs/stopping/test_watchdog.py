"""The hang watchdog: silent trials are failed as ``hung``, retried, the sweep goes on."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from ray.tune.schedulers import FIFOScheduler

from analysis import load_metrics, load_trials
from tests.conftest import run_spec_in_process
from tests.fixtures.user_trainables import value_at
from tune_jobs.stopping.watchdog import HANG_GRACE_S, HangWatchdog


class _Trial:
    def __init__(self, trial_id: str, status: str = "RUNNING") -> None:
        self.trial_id, self.status = trial_id, status


class _Controller:
    """The two calls the watchdog makes, recorded."""

    def __init__(self, trials: list[_Trial]) -> None:
        self.trials = trials
        self.failed: list[tuple[str, str]] = []

    def get_trials(self) -> list[_Trial]:
        return self.trials

    def _process_trial_failure(self, trial: _Trial, exception: Exception) -> None:
        self.failed.append((trial.trial_id, str(exception)))
        trial.status = "ERROR"


def test_silence_counts_from_start_then_from_the_last_result() -> None:
    now = [0.0]
    dog = HangWatchdog(FIFOScheduler(), hang_timeout_s=10, max_time_s=None, clock=lambda: now[0])
    a, b = _Trial("a"), _Trial("b")
    controller = _Controller([a, b])
    dog.choose_trial_to_run(controller)  # both seen running at t=0
    now[0] = 8.0
    dog.on_trial_result(controller, a, {})  # a reports at t=8
    now[0] = 10.5
    dog.choose_trial_to_run(controller)
    assert [t for t, _ in controller.failed] == ["b"]
    assert "no result for 10 s (stop.hang_timeout_s: 10)" in controller.failed[0][1]
    now[0] = 17.9
    dog.choose_trial_to_run(controller)
    assert len(controller.failed) == 1, "a has been silent for 9.9 s only"
    now[0] = 18.5  # (scans run at most every 0.5 s)
    dog.choose_trial_to_run(controller)
    assert [t for t, _ in controller.failed] == ["b", "a"]


def test_a_restarted_trial_gets_a_fresh_clock_and_max_time_has_a_grace() -> None:
    now = [0.0]
    dog = HangWatchdog(FIFOScheduler(), hang_timeout_s=None, max_time_s=5, clock=lambda: now[0])
    a = _Trial("a")
    controller = _Controller([a])
    dog.choose_trial_to_run(controller)
    a.status = "PENDING"  # e.g. retried after a failure
    now[0] = 30.0
    dog.choose_trial_to_run(controller)
    a.status = "RUNNING"
    now[0] = 31.0
    dog.choose_trial_to_run(controller)  # running again since t=31
    now[0] = 31.0 + 5 + HANG_GRACE_S
    dog.choose_trial_to_run(controller)
    assert controller.failed == []
    now[0] += 1
    dog.choose_trial_to_run(controller)
    assert len(controller.failed) == 1 and "past stop.max_time_s (5)" in controller.failed[0][1]


def test_needs_a_limit() -> None:
    with pytest.raises(ValueError, match="hang_timeout_s or max_time_s"):
        HangWatchdog(FIFOScheduler(), None, None)


def _spec(tmp_path: Path, max_failures: int) -> dict:
    # x=0 hangs once at iteration 3 (after a checkpoint at 2); x=1 never hangs.
    (tmp_path / "hung-1.0").write_text("never")
    return {
        "name": "hang",
        "trainable": "tests.fixtures.user_trainables:counter",
        "metric": "score",
        "mode": "max",
        "config": {"n": 5, "hang_at": 3, "marker_dir": str(tmp_path), "ckpt_every": 2},
        "space": {"x": {"grid": [0.0, 1.0]}},
        "search": {"algorithm": "grid"},
        "stop": {"hang_timeout_s": 4},
        "max_failures": max_failures,
    }


def _assert_killed(tmp_path: Path) -> None:
    """The hung worker process is killed, not left holding its CPU (Ray kills it
    asynchronously, soon after the sweep noticed)."""
    hung_pid = int((tmp_path / "hung-0.0").read_text())
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            os.kill(hung_pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.5)
    raise AssertionError(f"hung worker {hung_pid} still alive")


@pytest.mark.slow
def test_a_hung_trial_is_recorded_as_error_and_the_sweep_goes_on(
    ray_local: None, tmp_path: Path
) -> None:
    outcome = run_spec_in_process(tmp_path, _spec(tmp_path, max_failures=0))
    assert outcome.statuses == {"ERROR": 1, "TERMINATED": 1}
    trials = load_trials(outcome.run_dir).set_index("config/x")
    assert trials.loc[0.0, "status"] == "ERROR"
    assert "hung: no result for" in trials.loc[0.0, "error"]
    assert trials.loc[1.0, "training_iteration"] == 5
    _assert_killed(tmp_path)


@pytest.mark.slow
def test_a_hung_trial_is_retried_from_its_checkpoint_and_loses_nothing(
    ray_local: None, tmp_path: Path
) -> None:
    outcome = run_spec_in_process(tmp_path, _spec(tmp_path, max_failures=1))
    assert outcome.statuses == {"TERMINATED": 2}
    trials = load_trials(outcome.run_dir).set_index("config/x")
    assert trials.loc[0.0, "num_failures"] == 1 and trials.loc[1.0, "num_failures"] == 0
    metrics = load_metrics(outcome.run_dir)
    for x in (0.0, 1.0):
        rows = metrics[metrics["trial_id"] == trials.loc[x, "trial_id"]]
        rows = rows.sort_values("training_iteration")
        assert list(rows["training_iteration"]) == [1, 2, 3, 4, 5]
        assert list(rows["score"]) == [value_at(x, i) for i in range(1, 6)]
    _assert_killed(tmp_path)
