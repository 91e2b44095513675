"""``--fail-fast``: the first trial error stops the sweep; by default the sweep goes on."""

from __future__ import annotations

from pathlib import Path

import pytest

from analysis import load_trials
from tests.conftest import run_spec_in_process, write_spec
from tune_jobs.api import SweepResult
from tune_jobs.cli.app import _report, main
from tune_jobs.execution.tuner import FAIL_FAST


def _spec(tmp_path: Path) -> dict:
    # Only the trial x=0 raises, at its 2nd iteration, once: the counter fixture skips
    # the failure when its marker file exists, and the markers of x=1, x=2 exist.
    for x in (1.0, 2.0):
        (tmp_path / f"failed-{x}").write_text("1")
    return {
        "name": "ff",
        "trainable": "tests.fixtures.user_trainables:counter",
        "metric": "score",
        "mode": "max",
        "config": {"n": 3, "fail_at": 2, "marker_dir": str(tmp_path)},
        "space": {"x": {"grid": [0.0, 1.0, 2.0]}},
        "search": {"algorithm": "grid"},
        "max_concurrent": 1,
    }


@pytest.mark.slow
def test_default_records_each_error_and_goes_on(ray_local: None, tmp_path: Path) -> None:
    outcome = run_spec_in_process(tmp_path, _spec(tmp_path))
    assert outcome.statuses == {"ERROR": 1, "TERMINATED": 2}
    assert outcome.stop_reason is None
    trials = load_trials(outcome.run_dir).set_index("config/x")
    assert "planned failure at iteration 2" in trials.loc[0.0, "error"]


@pytest.mark.slow
def test_fail_fast_stops_at_the_first_error(
    ray_local: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    outcome = run_spec_in_process(tmp_path, _spec(tmp_path), ["fail_fast=true"])
    assert outcome.stop_reason == FAIL_FAST
    assert outcome.statuses.get("ERROR") == 1
    assert outcome.statuses.get("TERMINATED", 0) == 0, "no other trial ran to the end"
    assert _report(SweepResult.from_outcome(outcome)) == 1
    out = capsys.readouterr().out
    assert "stopped at the first trial error" in out and "tune-jobs status" in out

    trials = load_trials(outcome.run_dir)
    assert list(trials["status"]) == ["ERROR"], "no trial after the failed one started"
    assert "planned failure at iteration 2" in trials["error"].iloc[0]


def test_fail_fast_with_retries_is_a_spec_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_spec(tmp_path, {**_spec(tmp_path), "fail_fast": True, "max_failures": 2})
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "fail_fast: needs max_failures: 0" in err, err
    # The flag sets both keys, so it works with any spec.
    assert main(["validate", str(path), "--fail-fast"]) == 0
