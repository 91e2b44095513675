"""One rule for "the best trial": a trial that diverges after reporting the lowest value
is never named best, by the library or by any command."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

import analysis
from tests.conftest import cli_env
from tune_jobs.names import CENSORED_BASE
from tune_jobs.results.ranking import (
    Objective,
    best_trial,
    rank_configs,
    rank_trials,
    trial_scores,
)

REPO = Path(__file__).resolve().parents[2]


def _trials() -> pd.DataFrame:
    # A reported 0.01 before it diverged: its last value is 0.2, its best 0.01.
    return pd.DataFrame(
        {
            "trial_id": ["a", "b", "c", "d"],
            "status": ["DIVERGED", "TERMINATED", "TERMINATED", "PENDING"],
            "config_id": ["ca", "cb", "cc", "cd"],
            "loss": [0.01, 0.4, 0.5, np.nan],
        }
    )


def test_a_diverged_trial_is_never_best_anywhere():
    trials = _trials()
    objective = Objective("loss", "min")
    assert best_trial(trials, objective)["trial_id"] == "b"
    assert list(rank_trials(trials, objective)["trial_id"]) == ["b", "c", "a", "d"]
    assert rank_configs(trials, objective)["config_id"].iloc[0] == "cb"
    assert analysis.best_trial(trials, "loss", "min")["trial_id"] == "b"
    assert list(analysis.leaderboard(trials, "loss", "min")["trial_id"]) == ["b", "c", "a", "d"]


def test_errored_trials_rank_after_valid_ones_in_max_mode_too():
    trials = pd.DataFrame(
        {"trial_id": ["x", "y", "z"], "status": ["ERROR", "TERMINATED", "TERMINATED"]}
    ).assign(acc=[0.99, 0.7, 0.8])
    assert best_trial(trials, Objective("acc", "max"))["trial_id"] == "z"
    assert list(rank_trials(trials, Objective("acc", "max"))["trial_id"]) == ["z", "y", "x"]


def test_no_valid_trial_means_no_best():
    trials = _trials().iloc[[0, 3]]
    assert best_trial(trials, Objective("loss")) is None
    with pytest.raises(ValueError, match="diverged or failed"):
        analysis.best_trial(trials, "loss")


def test_time_to_target_censors_trials_that_never_reached_it():
    trials = pd.DataFrame(
        {
            "trial_id": ["fast", "slow", "close", "far"],
            "status": ["TERMINATED"] * 4,
            "reached_target": [True, True, False, False],
            "time_to_target_s": [10.0, 30.0, np.nan, np.nan],
            "val_loss": [3.2, 3.3, 3.4, 4.0],
        }
    )
    objective = Objective("time_to_target_s", "min", 3.3, "val_loss", "min")
    scores = trial_scores(trials, objective)
    assert list(scores[:2]) == [10.0, 30.0]
    assert scores[2] == pytest.approx(CENSORED_BASE + 0.1)  # its gap to the target
    assert list(rank_trials(trials, objective)["trial_id"]) == ["fast", "slow", "close", "far"]


def test_repeats_rank_by_their_median():
    trials = pd.DataFrame(
        {
            "trial_id": list("abcdef"),
            "status": ["TERMINATED"] * 6,
            "config_id": ["lucky"] * 3 + ["steady"] * 3,
            "loss": [0.1, 0.9, 0.8, 0.3, 0.35, 0.4],
        }
    )
    ranked = rank_configs(trials, Objective("loss"))
    assert list(ranked["config_id"]) == ["steady", "lucky"]
    assert ranked["median"].iloc[0] == pytest.approx(0.35)


_TRAINABLE = textwrap.dedent(
    """
    from ray import tune

    def train(config):
        if config["kind"] == "diverges":  # lowest value first, then it blows up
            tune.report({"loss": 0.01})
            tune.report({"loss": 0.2, "diverged": True})
            return
        for _ in range(3):
            tune.report({"loss": config["final"]})
    """
)


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tune_jobs", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env=cli_env(),
    )


@pytest.mark.slow
def test_run_status_best_and_report_name_the_same_best_trial(tmp_path: Path):
    (tmp_path / "diverging.py").write_text(_TRAINABLE)
    spec = {
        "name": "two_rules",
        "trainable": "diverging.py:train",
        "metric": "loss",
        "mode": "min",
        "storage": str(tmp_path / "results"),
        "variants": {
            "named": {
                "diverges": {"kind": "diverges", "final": 0.0},
                "good": {"kind": "steady", "final": 0.4},
                "worse": {"kind": "steady", "final": 0.5},
            }
        },
        "max_concurrent": 2,
    }
    (tmp_path / "spec.yaml").write_text(yaml.safe_dump(spec))
    run = _cli("run", "spec.yaml", cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    run_dir = tmp_path / "results" / "two_rules"
    trials = pd.read_parquet(run_dir / "trials.parquet").set_index("variant")
    good, bad = trials.loc["good", "trial_id"], trials.loc["diverges", "trial_id"]
    assert trials.loc["diverges", "status"] == "DIVERGED"

    assert f"best trial: {good}" in run.stdout
    status = _cli("status", str(run_dir), cwd=tmp_path)
    assert status.returncode == 0, status.stderr
    best_line = next(line for line in status.stdout.splitlines() if "best so far" in line)
    assert good in best_line and bad not in best_line
    best = _cli("best", str(run_dir), cwd=tmp_path)
    assert best.returncode == 0, best.stderr
    assert "final: 0.4" in best.stdout and "diverges" not in best.stdout
    report = _cli("report", str(run_dir), "--out", str(tmp_path / "report"), cwd=tmp_path)
    assert report.returncode == 0, report.stderr
    markdown = next((tmp_path / "report").glob("*.md")).read_text()
    best_section = markdown.split("## Best configuration", 1)[1].split("\n## ", 1)[0]
    assert good in best_section and bad not in best_section
