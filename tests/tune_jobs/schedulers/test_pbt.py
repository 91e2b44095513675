"""PBT through tune-jobs: an exploited trial continues from the donor's checkpoint with a
perturbed config; trainables that cannot checkpoint are refused."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from tests.conftest import REPO, run_spec_in_process

LOW, HIGH = 0.1, 1.0


def _pbt_spec(trainable: str) -> dict:
    return {
        "name": "pbt_provenance",
        "trainable": f"tests/fixtures/pbt_trainables.py:{trainable}",
        "metric": "score",
        "mode": "max",
        "config": {"steps": 8},
        "space": {"lr": {"uniform": [LOW, HIGH]}},
        "search": {"algorithm": "random", "num_samples": 4, "seed": 0},
        "scheduler": {
            "type": "pbt",
            "perturbation_interval": 2,
            "quantile_fraction": 0.25,
            "resample_probability": 0.0,
        },
        "stop": {"max_iterations": 8},
        "resources": {"cpu": 0.5},
        # checkpoints_to_keep stays at its default (2): PBT keeps every checkpoint anyway,
        # since Tune's retention could delete a donor's checkpoint before it is copied.
    }


@pytest.mark.slow
def test_exploited_trial_continues_from_donor_checkpoint_with_perturbed_lr(
    ray_local: None, tmp_path: Path
) -> None:
    outcome = run_spec_in_process(tmp_path, _pbt_spec("provenance"))
    assert outcome.statuses == {"TERMINATED": 4}
    metrics = pd.read_parquet(Path(outcome.run_dir) / "metrics")
    trials = pd.read_parquet(Path(outcome.run_dir) / "trials.parquet")
    assert len(trials) == 4

    owner = metrics.groupby("segment")["trial_id"].first()  # run segment -> its trial
    restored = metrics[metrics["restored_segment"] != ""]
    exploited = restored[restored["restored_segment"].map(owner) != restored["trial_id"]]
    # The first result after each exploit (one row per trial and restored segment).
    firsts = exploited.sort_values("step").groupby(["trial_id", "restored_segment"]).head(1)
    assert len(firsts) >= 1, "PBT never exploited a trial in 3 perturbation rounds"
    for row in firsts.itertuples():
        donor = metrics[
            (metrics["segment"] == row.restored_segment) & (metrics["step"] == row.restored_step)
        ]
        assert len(donor) == 1
        donor_row = donor.iloc[0]
        assert donor_row["trial_id"] != row.trial_id
        # State after exploit = the donor's checkpointed state, not a fresh start.
        assert row.restored_weights == donor_row["weights"]
        assert row.step == row.restored_step + 1 > 1
        assert row.weights == pytest.approx(donor_row["weights"] + row.lr)
        # The config was perturbed (resample_probability 0: x0.8 or x1.2) and stays in range.
        assert row.lr != donor_row["lr"]
        # x0.8 or x1.2, clipped back into the space.
        expected = {min(max(donor_row["lr"] * f, LOW), HIGH) for f in (0.8, 1.2)}
        assert any(row.lr == pytest.approx(e) for e in expected)
        assert LOW <= row.lr <= HIGH
    # Every trial ran all 8 steps, exploited or not (latest attempt per iteration).
    last = metrics.sort_values("attempt").groupby("trial_id")["step"].max()
    assert (last == 8).all()


def test_pbt_refuses_command_trainable_at_validate(tmp_path: Path) -> None:
    spec = {
        "name": "pbt_command",
        "trainable": {"command": ["python", "train.py", "${args}"]},
        "metric": "loss",
        "space": {"lr": {"uniform": [LOW, HIGH]}},
        "scheduler": {"type": "pbt"},
    }
    path = tmp_path / "pbt_command.yaml"
    path.write_text(yaml.safe_dump(spec))
    run = subprocess.run(
        [sys.executable, "-m", "tune_jobs", "validate", str(path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 2
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    assert lines[0].startswith(f"tune-jobs: error: {path}: scheduler.type: pbt copies")
    assert "command trainables cannot checkpoint" in lines[0]
    assert run.stdout == ""


@pytest.mark.slow
def test_pbt_stops_a_sweep_whose_trainable_never_checkpoints(
    ray_local: None, tmp_path: Path
) -> None:
    from tune_jobs.schedulers.pbt import PBTCheckpointError

    with pytest.raises(PBTCheckpointError, match="without reporting any checkpoint"):
        run_spec_in_process(tmp_path, {**_pbt_spec("no_checkpoint"), "name": "pbt_nock"})
    # Results reported before the error stay readable.
    metrics = pd.read_parquet(tmp_path / "results" / "pbt_nock" / "metrics")
    assert len(metrics) > 0


def test_perturbed_values_are_clipped_into_the_space() -> None:
    from tune_jobs.schedulers.pbt import ClipToSpace

    clip = ClipToSpace({"lr": (0.1, 1.0, False), "model.layers": (2, 6, True)})
    config = {"lr": 1.2, "model": {"layers": 7.2}, "other": 99}
    assert clip(config) == {"lr": 1.0, "model": {"layers": 6}, "other": 99}
    assert clip({"lr": 0.05})["lr"] == 0.1
