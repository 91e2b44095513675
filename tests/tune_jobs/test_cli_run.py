"""The demo sweep through the real console script, as a user runs it."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from analysis import load_metrics
from tests.conftest import cli_env
from tune_jobs.cli.status import _rate
from tune_jobs.errors import SpecError
from tune_jobs.spec import load_spec

REPO = Path(__file__).resolve().parents[2]
LR_SPEC = "tune_jobs/specs/lm_lr_sweep_cpu.yaml"  # relative: the CLI runs in REPO
pytestmark = pytest.mark.slow


def _cli(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tune_jobs", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env=cli_env(),
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
    # The per-trial table: the mlp reports samples_per_s; each trial's latest value.
    assert _status_rates(status.stdout, "samples/s") == _latest_rates(run_dir, "samples_per_s")

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


def _status_rates(stdout: str, column: str) -> dict[str, str]:
    """``{trial_id: cell}`` of one column of the status table."""
    lines = stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("trial "))
    header = re.split(r"\s{2,}", lines[start].strip())
    rows = [re.split(r"\s{2,}", line.strip()) for line in lines[start + 1 :]]
    rows = [r for r in rows[: next(i for i, r in enumerate(rows) if r == [""])]]
    return {r[0]: r[header.index(column)] for r in rows}


def _latest_rates(run_dir: Path, metric: str) -> dict[str, str]:
    latest = load_metrics(str(run_dir)).groupby("trial_id").tail(1)
    return {t: _rate(v) for t, v in zip(latest["trial_id"], latest[metric], strict=True)}


def test_lr_list_from_the_command_line_runs_and_a_divergent_rate_is_diverged(
    tmp_path: Path,
) -> None:
    """Seed 004's custom LR list: a YAML flow list through --set reaches the trials; an
    absurd rate ends DIVERGED; status shows each trial's latest tokens/s."""
    storage = tmp_path / "results"
    run = _cli(
        "run", LR_SPEC, "--smoke", "--storage", str(storage), "--set", "space.lr.grid=[1e-3,50]"
    )
    assert run.returncode == 0, run.stderr[-3000:]
    run_dir = storage / "lm_lr_sweep_cpu"
    trials = pd.read_parquet(run_dir / "trials.parquet").set_index("config/lr")
    assert sorted(trials.index) == [1e-3, 50.0]
    assert trials.loc[1e-3, "status"] == "TERMINATED"
    assert trials.loc[50.0, "status"] == "DIVERGED"
    status = _cli("status", str(run_dir))
    assert status.returncode == 0, status.stderr
    assert "DIVERGED" in status.stdout
    assert _status_rates(status.stdout, "tokens/s") == _latest_rates(run_dir, "tokens_per_s")


def test_grid_flag_and_set_flow_list_give_the_same_space() -> None:
    lr_spec = REPO / LR_SPEC
    by_set = load_spec(lr_spec, ["space.lr.grid=[1e-4,3e-4,6e-4]"])
    by_grid = load_spec(lr_spec, grids=["lr=1e-4,3e-4,6e-4"])
    for spec in (by_set, by_grid):
        assert (spec.space["lr"].kind, list(spec.space["lr"].args)) == ("grid", [1e-4, 3e-4, 6e-4])
        assert all(isinstance(v, float) for v in spec.space["lr"].args)
    # --grid replaces any distribution and reaches nested (dotted) W&B parameters.
    arch = load_spec(
        REPO / "tune_jobs/specs/wandb/architecture.yaml",
        grids=["model.layers=1,3", "optimizer=adam"],
    )
    layers = arch.space["model.layers"]
    assert (layers.kind, list(layers.args)) == ("grid", [1, 3])
    assert list(arch.space["optimizer"].args) == ["adam"]
    # Applied after --smoke: the explicit list wins over the smoke rule's first two values.
    smoke = load_spec(lr_spec, smoke=True, grids=["lr=1e-3,3e-3,1e-2"])
    assert list(smoke.space["lr"].args) == [1e-3, 3e-3, 1e-2]
    with pytest.raises(
        SpecError, match=r"--grid lrr: not a parameter of the spec's space; parameters: lr"
    ):
        load_spec(lr_spec, grids=["lrr=1e-4"])


@pytest.mark.parametrize(
    ("grid", "message"),
    [
        ("lr", "--grid: expected PARAM=V1,V2,...; got 'lr'"),
        ("lr=1e-4,,3e-4", "--grid lr: empty value in '1e-4,,3e-4'"),
        ("lr=[1e-4,3e-4]", "--grid lr: values must be plain scalars separated by commas"),
    ],
)
def test_bad_grid_values_are_one_line_errors(grid: str, message: str) -> None:
    with pytest.raises(SpecError) as err:
        load_spec(REPO / LR_SPEC, grids=[grid])
    assert message in str(err.value) and "\n" not in str(err.value)


def test_grid_flag_for_an_unknown_parameter_exits_2_with_one_line() -> None:
    result = _cli("validate", LR_SPEC, "--grid", "lrr=1e-4")
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"tune-jobs: error: {LR_SPEC}: --grid lrr: not a parameter of the spec's space; "
        "parameters: lr (to add one: --set space.lrr.grid=[...])"
    )
