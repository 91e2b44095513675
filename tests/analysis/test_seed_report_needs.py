"""Report views other seeds need: seed 002's Pareto front of accuracy vs parameter count
(what the W&B architecture example logs), and seed 004's edge-of-stability view and
learning curves on a real ``lm_lr_sweep_cpu`` smoke run."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis import load_run, pareto_front
from analysis.report.sections import build_sections
from analysis.run import SweepRun


def test_pareto_of_accuracy_vs_n_params() -> None:
    # The W&B architecture example (tune_jobs/specs/wandb/train_wandb.py) logs n_params.
    rng = np.random.default_rng(0)
    width = rng.choice([8, 16, 32, 64], 20)
    layers = rng.integers(1, 5, 20)
    n_params = (2 * width + width * width * (layers - 1) + 2 * width).astype(int)
    accuracy = 1 - 1 / np.sqrt(n_params) + rng.normal(0, 0.01, 20)
    trials = pd.DataFrame(
        {
            "trial_id": [f"t{i:02d}" for i in range(20)],
            "status": "TERMINATED",
            "config/model.d_model": width,
            "config/model.layers": layers,
            "accuracy": accuracy,
            "n_params": n_params,
            "time_total_s": rng.uniform(1, 2, 20),
        }
    )
    params = ["config/model.d_model", "config/model.layers"]
    run = SweepRun("arch", trials, pd.DataFrame(), "accuracy", "max", {}, params)
    sections = {s.key: s for s in build_sections(run, "accuracy", "max").sections}
    pareto = sections["pareto"]
    assert pareto.title == "Pareto front: accuracy vs n_params"
    front = pareto_front(trials, "n_params", "accuracy", "min", "max")
    shown = pareto.tables[0].frame
    assert shown["trial_id"].tolist() == front["trial_id"].tolist() and len(front) >= 2
    assert shown["accuracy"].is_monotonic_increasing  # more parameters buy accuracy
    assert "parallel" in sections and "importance" in sections


@pytest.mark.slow
def test_lm_lr_sweep_report_has_stability_and_curves(lr_sweep_run_dir: str) -> None:
    run = load_run(lr_sweep_run_dir)
    sections = {s.key: s for s in build_sections(run, run.metric, run.mode).sections}
    assert "lr_stability" in sections and "curves" in sections
    stability = sections["lr_stability"].tables[0].frame
    assert sorted(stability["lr"]) == sorted(run.trials["config/lr"].unique())
    curves = [f.key for f in sections["curves"].figures]
    assert curves == ["learning_curves", "learning_curves_time"]
