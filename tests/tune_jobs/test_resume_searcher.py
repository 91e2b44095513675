"""A killed TPE sweep resumes with its searcher state: nothing re-sampled, nothing rerun."""

from __future__ import annotations

import contextlib
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import psutil
import pytest

from analysis import load_metrics, load_trials
from tests.conftest import resume_cli, write_spec

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def _finished(run_dir: Path) -> int:
    try:
        trials = pd.read_parquet(run_dir / "trials.parquet")
    except (OSError, ValueError, KeyError):
        return 0
    return int((trials["status"] == "TERMINATED").sum())


def test_killed_hyperopt_sweep_resumes_without_resampling(tmp_path: Path) -> None:
    n, samples = 6, 5
    spec = write_spec(
        tmp_path,
        {
            "name": "tpe_killed",
            "trainable": "tests/fixtures/user_trainables.py:counter",
            "metric": "score",
            "mode": "max",
            "config": {"n": n, "sleep_s": 0.3, "ckpt_every": 2},
            "space": {"x": {"uniform": [0.0, 1.0]}},
            "variants": {"reference": {"x": 0.5}},
            "search": {
                "algorithm": "hyperopt",
                "num_samples": samples,
                "seed": 5,
                "n_initial_points": 2,
            },
            "stop": {"target": 1e9},  # never reached: exercises the tracker on resume
            "max_concurrent": 1,
            "storage": str(tmp_path / "results"),
        },
    )
    run_dir = tmp_path / "results" / "tpe_killed"
    driver = subprocess.Popen(
        [sys.executable, "-m", "tune_jobs", "run", str(spec)],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    children: list[psutil.Process] = []
    try:
        deadline = time.time() + 180
        while time.time() < deadline and _finished(run_dir) < 2:
            assert driver.poll() is None, "the sweep ended before it could be killed"
            time.sleep(0.3)
        time.sleep(1.0)  # into the third trial
        children = psutil.Process(driver.pid).children(recursive=True)
        driver.send_signal(signal.SIGKILL)
        driver.wait(timeout=60)
    finally:
        for child in children:
            with contextlib.suppress(psutil.NoSuchProcess):
                child.kill()
    before = load_trials(str(run_dir)).set_index("trial_id")
    done_before = before[before["status"] == "TERMINATED"]
    assert len(done_before) >= 2

    resumed = resume_cli(run_dir)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    trials = load_trials(str(run_dir)).set_index("trial_id")
    # Exactly the planned trials: the reference variant plus the samples, none drawn twice.
    assert len(trials) == samples + 1
    assert set(trials["status"]) == {"TERMINATED"}
    assert trials["config/x"].nunique() == samples + 1
    assert (trials["variant"] == "reference").sum() == 1
    # Trials finished before the kill keep their configuration. (One that finished after
    # Tune's last experiment snapshot is restored from its last checkpoint and re-reports
    # the iterations after it as a new attempt: Tune restores from the snapshot.)
    for tid, row in done_before.iterrows():
        assert trials.loc[tid, "config/x"] == row["config/x"]
        assert trials.loc[tid, "attempt"] <= 1
    clean = load_metrics(str(run_dir))
    assert (
        clean.groupby("trial_id")["training_iteration"].apply(list)
        == [list(range(1, n + 1))] * len(trials)
    ).all()
