"""The demo sweep through the real console script, as a user runs it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def _cli(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tune_jobs", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_demo_smoke_end_to_end(tmp_path: Path) -> None:
    storage = tmp_path / "results"
    run = _cli(
        "run",
        "tune_jobs/specs/demo.yaml",
        "--smoke",
        "--storage",
        str(storage),
        "--set",
        "config.max_steps=40",
        "--set",
        "config.report_every=10",
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert "sweep finished: 2 TERMINATED" in run.stdout
    run_dir = storage / "demo"

    spec = yaml.safe_load((run_dir / "spec.yaml").read_text())
    assert spec["config"]["max_steps"] == 40  # --set applied, and the smoke rule
    assert spec["stop"]["max_iterations"] == 3

    trials = pd.read_parquet(run_dir / "trials.parquet")
    assert sorted(trials["variant"]) == ["high_lr_sgd", "reference"]
    assert set(trials["status"]) == {"TERMINATED"}
    assert (trials["config/preset"] == "tiny").all()
    assert (trials["training_iteration"] == 3).all()

    metrics = pd.read_parquet(run_dir / "metrics")
    assert len(metrics) == 6
    assert set(metrics.columns) >= {
        "trial_id",
        "attempt",
        "training_iteration",
        "time_total_s",
        "timestamp",
        "val_loss",
    }
    assert metrics["step"].max() == 30

    assert len(list((run_dir / "tensorboard").glob("*/events.out.tfevents.*"))) == 2

    status = _cli("status", str(run_dir))
    assert status.returncode == 0
    assert "trials: 2 (2 TERMINATED)" in status.stdout
    assert "6 rows written" in status.stdout
    best = trials.sort_values("val_loss").iloc[0]
    assert f"val_loss={best['val_loss']:.6g}" in status.stdout

    again = _cli("run", "tune_jobs/specs/demo.yaml", "--smoke", "--storage", str(storage))
    assert again.returncode == 2
    assert "already exists" in again.stderr and "tune-jobs resume" in again.stderr
    assert len(again.stderr.strip().splitlines()) == 1


def test_status_and_resume_of_a_missing_run_are_one_line_errors(tmp_path: Path) -> None:
    for command in ("status", "resume"):
        result = _cli(command, str(tmp_path / "nope"))
        assert result.returncode == 2
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and "nope" in lines[0]


def test_status_labels_only_real_variants(tmp_path: Path) -> None:
    """A sampled trial (variant null) is shown without a variant label."""
    run_dir = tmp_path / "run"
    (run_dir / "metrics").mkdir(parents=True)
    (run_dir / "spec.yaml").write_text("name: run\nmetric: loss\nmode: min\n")
    pd.DataFrame(
        {
            "trial_id": ["a", "b"],
            "status": ["TERMINATED"] * 2,
            "variant": [None, "ref"],
            "error": [None, None],
            "config/lr": [0.1, None],
            "loss": [1.0, 2.0],
        }
    ).to_parquet(run_dir / "trials.parquet")
    result = _cli("status", str(run_dir))
    assert result.returncode == 0, result.stderr
    assert "best so far: loss=1 trial a (TERMINATED)" in result.stdout
    assert "lr=0.1" in result.stdout and "nan" not in result.stdout
