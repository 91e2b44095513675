"""Real sweeps with repeats and stages: grouping, seeds, median ranking, shrunk spaces,
and a driver killed during stage 2 then resumed."""

from __future__ import annotations

import contextlib
import json
import math
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import psutil
import pytest

from analysis import load_metrics, load_trials
from tests.conftest import resume_cli, run_spec_in_process, write_spec

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def _check_groups(trials: pd.DataFrame, repeats: int, base: int) -> None:
    groups = trials.groupby("config_id")
    assert (groups.size() == repeats).all()
    for _, group in groups:
        assert group["config/x1"].nunique() == 1 and group["config/x2"].nunique() == 1
        assert sorted(group["config/seed"]) == list(range(base, base + repeats))
        assert sorted(group["repeat"]) == list(range(repeats))


@pytest.mark.parametrize("algorithm", ["random", "lhs"])
def test_repeats_group_configs_with_distinct_seeds_ranked_by_median(
    ray_local, tmp_path: Path, capsys: pytest.CaptureFixture[str], algorithm: str
) -> None:
    outcome = run_spec_in_process(
        tmp_path,
        {
            "name": f"rep_{algorithm}",
            "trainable": "branin",
            "metric": "value",
            "config": {"noise": 20.0, "seed": 5},
            "space": {"x1": {"uniform": [-5.0, 10.0]}, "x2": {"uniform": [0.0, 15.0]}},
            "search": {"algorithm": algorithm, "num_samples": 3, "seed": 1},
            "repeats": 3,
            "resources": {"cpu": 0.5},
        },
    )
    assert outcome.statuses == {"TERMINATED": 9}
    trials = load_trials(outcome.run_dir)
    assert trials["config_id"].nunique() == 3
    _check_groups(trials, repeats=3, base=5)
    assert trials["value"].nunique() == 9  # the seeds really differ (noisy values)
    medians = trials.groupby("config_id")["value"].median().sort_values()
    printed = capsys.readouterr().out
    ranking = [line for line in printed.splitlines() if line.startswith("  1. config ")]
    assert ranking and ranking[0].startswith(f"  1. config {medians.index[0]}  n=3  ")
    assert f"median={medians.iloc[0]:.6g}" in ranking[0]
    assert (load_metrics(outcome.run_dir)["stage"] == 1).all()


def _shrunk(values: pd.Series, low: float, high: float, widen: float) -> tuple[float, float]:
    span = values.max() - values.min()
    return max(low, values.min() - widen * span), min(high, values.max() + widen * span)


def test_two_stage_branin_refines_around_stage_1_top_3(ray_local, tmp_path: Path) -> None:
    outcome = run_spec_in_process(
        tmp_path,
        {
            "name": "two_stage",
            "trainable": "branin",
            "metric": "value",
            "config": {"iterations": 1},
            "space": {
                "x1": {"uniform": [-5.0, 10.0]},
                "x2": {"uniform": [0.0, 15.0]},
                "report_every": {"choice": [1]},
            },
            "search": {"algorithm": "random", "num_samples": 8, "seed": 3},
            "stages": [{"name": "fine", "top_k": 3, "widen": 0.1, "search": {"num_samples": 6}}],
            "resources": {"cpu": 0.5},
        },
    )
    assert outcome.statuses == {"TERMINATED": 14}
    run_dir = Path(outcome.run_dir)
    trials = load_trials(str(run_dir))
    assert trials.groupby("stage").size().to_dict() == {1: 8, 2: 6}
    one, two = trials[trials["stage"] == 1], trials[trials["stage"] == 2]
    top = one.nsmallest(3, "value")
    for key, (low, high) in {"x1": (-5.0, 10.0), "x2": (0.0, 15.0)}.items():
        lo, hi = _shrunk(top[f"config/{key}"], low, high, 0.1)
        assert two[f"config/{key}"].between(lo - 1e-9, hi + 1e-9).all(), key
        # lhs spreads its 6 points over the shrunk range: one per sixth.
        bins = ((two[f"config/{key}"] - lo) / (hi - lo) * 6).clip(0, 5.999).astype(int)
        assert sorted(bins) == list(range(6)), key
    assert (two["config/report_every"] == 1).all()
    progress = json.loads((run_dir / "stages.json").read_text())["stages"]
    assert [(r["index"], r["name"], r["status"]) for r in progress] == [
        (1, "stage1", "done"),
        (2, "fine", "done"),
    ]
    assert progress[1]["locked"] == {"report_every": 1}
    assert set(progress[1]["space"]) == {"x1", "x2"}
    metrics = load_metrics(str(run_dir))
    assert metrics.groupby("stage")["trial_id"].nunique().to_dict() == {1: 8, 2: 6}
    assert set(metrics["trial_id"]) == set(trials["trial_id"])
    assert (run_dir / "stages" / "stage2" / "tuner.pkl").exists()
    assert len(load_trials(str(run_dir), stage=2)) == 6


def _stage2_rows(run_dir: Path) -> int:
    try:
        metrics = pd.read_parquet(run_dir / "metrics")
    except (OSError, ValueError, KeyError):
        return 0
    return int((metrics.get("stage", pd.Series(dtype=int)) == 2).sum())


def test_driver_killed_in_stage_2_resumes_stage_2_only(tmp_path: Path) -> None:
    n = 10
    spec = write_spec(
        tmp_path,
        {
            "name": "killed_staged",
            "trainable": "tests/fixtures/user_trainables.py:counter",
            "metric": "score",
            "mode": "max",
            "config": {"n": n, "sleep_s": 0.3, "ckpt_every": 2},
            "space": {"x": {"uniform": [0.0, 1.0]}},
            "search": {"algorithm": "random", "num_samples": 3, "seed": 0},
            "stages": [{"top_k": 2, "search": {"num_samples": 2, "seed": 4}}],
            "resources": {"cpu": 1},
            "storage": str(tmp_path / "results"),
        },
    )
    run_dir = tmp_path / "results" / "killed_staged"
    driver = subprocess.Popen(
        [sys.executable, "-m", "tune_jobs", "run", str(spec)],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    children: list[psutil.Process] = []
    try:
        deadline = time.time() + 240
        while time.time() < deadline and _stage2_rows(run_dir) < 4:
            assert driver.poll() is None, "the sweep ended before it could be killed"
            time.sleep(0.5)
        assert _stage2_rows(run_dir) >= 4
        children = psutil.Process(driver.pid).children(recursive=True)
        driver.send_signal(signal.SIGKILL)
        driver.wait(timeout=60)
    finally:
        for child in children:
            with contextlib.suppress(psutil.NoSuchProcess):
                child.kill()
    before = load_trials(str(run_dir))
    stage1_before = before[before["stage"] == 1].set_index("trial_id")
    stage2_ids = set(before.loc[before["stage"] == 2, "trial_id"])
    assert len(stage1_before) == 3 and set(stage1_before["status"]) == {"TERMINATED"}

    resumed = resume_cli(run_dir)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "sweep finished: 5 TERMINATED" in resumed.stdout

    trials = load_trials(str(run_dir))
    assert trials.groupby("stage").size().to_dict() == {1: 3, 2: 2}
    assert set(trials["status"]) == {"TERMINATED"}
    # Stage 2 continued: its trials (and design position) came back, none started over.
    assert stage2_ids and stage2_ids <= set(trials.loc[trials["stage"] == 2, "trial_id"])
    raw = load_metrics(str(run_dir), clean=False)
    stage1 = raw[raw["stage"] == 1]
    assert (stage1["attempt"] == 0).all()  # stage 1 never ran again
    assert len(stage1) == 3 * n
    restored = raw[raw["trial_id"].isin(stage2_ids)]
    assert restored.groupby("trial_id")["attempt"].max().min() >= 1
    clean = load_metrics(str(run_dir))
    assert clean.groupby("trial_id")["training_iteration"].max().eq(n).all()
    status = subprocess.run(
        [sys.executable, "-m", "tune_jobs", "status", str(run_dir)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert "  stage 1 (stage1, done): 3 trials (3 TERMINATED)" in status.stdout
    assert "  stage 2 (stage2, done): 2 trials (2 TERMINATED)" in status.stdout
    assert not math.isnan(trials["score"].max())
