"""The spec is frozen and the plan made in one pass: a PBT sweep that keeps its best
checkpoints writes a spec.yaml that ``resume`` takes back, also after a driver kill."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd
import pytest

from analysis import load_metrics
from tests.conftest import resume_cli, write_spec
from tests.tune_jobs.test_driver_kills import _metric_rows, _run_until_killed
from tune_jobs.plan.run_plan import make_plan
from tune_jobs.spec import load_spec, spec_to_dict
from tune_jobs.spec.convert import build
from tune_jobs.spec.schema import SweepSpec

N = 10


def _pbt_spec(tmp_path: Path) -> dict:
    return {
        "name": "pbt_keep_best",
        "trainable": "tests/fixtures/user_trainables.py:counter",
        "metric": "score",
        "mode": "max",
        "config": {"n": N, "sleep_s": 0.4, "ckpt_every": 1},
        "space": {"x": {"uniform": [0.0, 1.0]}},
        "search": {"algorithm": "random", "num_samples": 3, "seed": 0},
        "scheduler": {"type": "pbt", "perturbation_interval": 2, "quantile_fraction": 0.34},
        "stop": {"max_iterations": N},
        "resources": {"cpu": 0.5},
        "max_concurrent": 3,
        "checkpoints_to_keep": 2,
        "keep_best_checkpoints": True,
        "storage": str(tmp_path / "results"),
    }


def test_make_plan_leaves_the_spec_as_validated(tmp_path: Path) -> None:
    path = write_spec(tmp_path, _pbt_spec(tmp_path))
    spec = load_spec(path, [])
    before = spec_to_dict(spec)
    plan = make_plan(spec, str(path))
    assert spec_to_dict(spec) == before
    assert spec.checkpoints_to_keep == 2 and plan.checkpoints_to_keep is None  # PBT keeps all
    # What resume reads back from spec.yaml validates again.
    assert build(SweepSpec, spec_to_dict(plan.spec), "", "spec.yaml") == spec
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.checkpoints_to_keep = None  # type: ignore[misc]
    fifo_path = write_spec(tmp_path, {**_pbt_spec(tmp_path), "name": "fifo", "scheduler": {}})
    assert make_plan(load_spec(fifo_path, []), str(fifo_path)).checkpoints_to_keep == 2


@pytest.mark.slow
def test_pbt_sweep_keeping_best_checkpoints_resumes_after_a_driver_kill(tmp_path: Path) -> None:
    spec = write_spec(tmp_path, _pbt_spec(tmp_path))
    run_dir = tmp_path / "results" / "pbt_keep_best"
    _run_until_killed(
        ["run", str(spec)],
        lambda: _metric_rows(run_dir) >= 8 and (run_dir / "tuner.pkl").exists(),
        "mid-sweep",
        tmp_path / "run.log",
    )
    resumed = resume_cli(run_dir)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    trials = pd.read_parquet(run_dir / "trials.parquet")
    assert len(trials) == 3 and set(trials["status"]) == {"TERMINATED"}
    clean = load_metrics(str(run_dir))
    assert not clean.duplicated(["trial_id", "training_iteration"]).any()
    assert (clean.groupby("trial_id")["training_iteration"].max() == N).all()
