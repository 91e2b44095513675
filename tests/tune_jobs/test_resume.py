"""A driver killed mid-sweep loses nothing: ``tune-jobs resume`` completes the run."""

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
from tests.conftest import write_spec
from tests.fixtures.user_trainables import value_at

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def _rows(metrics_dir: Path) -> int:
    try:
        return len(pd.read_parquet(metrics_dir))
    except (OSError, ValueError, KeyError):
        return 0


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT], ids=["sigkill", "ctrl-c"])
def test_driver_stopped_then_resume_completes_exactly_once(
    tmp_path: Path, sig: signal.Signals
) -> None:
    n = 16
    spec = write_spec(
        tmp_path,
        {
            "name": "killed",
            "trainable": "tests/fixtures/user_trainables.py:counter",
            "metric": "score",
            "config": {"n": n, "sleep_s": 0.4, "ckpt_every": 2},
            "space": {"x": {"grid": [0.0, 1.0]}},
            "search": {"algorithm": "grid"},
            "storage": str(tmp_path / "results"),
        },
    )
    run_dir = tmp_path / "results" / "killed"
    driver = subprocess.Popen(
        [sys.executable, "-m", "tune_jobs", "run", str(spec)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    children: list[psutil.Process] = []
    try:
        deadline = time.time() + 180
        while time.time() < deadline and _rows(run_dir / "metrics") < 8:
            assert driver.poll() is None, "the sweep ended before it could be killed"
            time.sleep(0.5)
        assert _rows(run_dir / "metrics") >= 8
        children = psutil.Process(driver.pid).children(recursive=True)
        driver.send_signal(sig)
        stdout, _ = driver.communicate(timeout=120)
    finally:
        # The embedded Ray outlives a SIGKILLed driver: stop exactly its processes.
        for child in children:
            with contextlib.suppress(psutil.NoSuchProcess):
                child.kill()
    before = load_metrics(str(run_dir), clean=False)
    assert before["training_iteration"].max() < n  # stopped mid-run
    if sig == signal.SIGINT:
        # Ctrl-C: trials stopped, state saved, and the user is told how to resume.
        assert driver.returncode == 130
        assert f"tune-jobs resume {run_dir}" in stdout
        assert set(load_trials(str(run_dir))["status"]) == {"INTERRUPTED"}

    resumed = subprocess.run(
        [sys.executable, "-m", "tune_jobs", "resume", str(run_dir)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "sweep finished: 2 TERMINATED" in resumed.stdout

    trials = load_trials(str(run_dir)).set_index("trial_id")
    assert set(trials["status"]) == {"TERMINATED"}
    clean = load_metrics(str(run_dir))
    for tid, row in trials.iterrows():
        got = clean[clean["trial_id"] == tid].sort_values("training_iteration")
        assert got["training_iteration"].tolist() == list(range(1, n + 1))
        assert got["score"].tolist() == pytest.approx(
            [value_at(row["config/x"], i) for i in range(1, n + 1)]
        )
    raw = load_metrics(str(run_dir), clean=False)
    # Rows written before the kill are still there, and the resumed attempt is newer.
    assert len(raw) >= len(before)
    assert raw.groupby("trial_id")["attempt"].max().min() >= 1
    assert not raw.duplicated(["trial_id", "attempt", "training_iteration"]).any()
