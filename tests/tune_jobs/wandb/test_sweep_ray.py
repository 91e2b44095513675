"""One real sweep: a W&B bayes + hyperband file over the command trainable and the shim."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import yaml

from analysis import load_metrics, load_trials

EPOCHS = 9

SWEEP = {
    "name": "wandb-ray-bayes",
    "program": "tune_jobs/specs/wandb/train_wandb.py",
    "method": "bayes",
    "run_cap": 6,
    "metric": {"name": "val_loss", "goal": "minimize"},
    "early_terminate": {"type": "hyperband", "min_iter": 1, "eta": 3},
    "parameters": {
        "lr": {"distribution": "log_uniform_values", "min": 1e-4, "max": 0.5},
        "batch_size": {"min": 16, "max": 128},
        "optimizer": {"values": ["adam", "sgd"]},
        "weight_decay": {"distribution": "q_beta", "a": 1, "b": 30, "q": 0.001},
        "model": {
            "parameters": {
                "d_model": {"distribution": "q_uniform", "min": 8, "max": 32, "q": 8},
                "layers": {"values": [1, 2]},
            }
        },
        "epochs": {"value": EPOCHS},
    },
}


@pytest.mark.slow
def test_bayes_hyperband_sweep_runs_and_stops_trials_early(ray_local: None, tmp_path: Path) -> None:
    from tune_jobs.execution.tuner import absolute_storage, run_sweep
    from tune_jobs.plan.run_plan import make_plan
    from tune_jobs.spec import load_spec

    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump(SWEEP, sort_keys=False))
    overrides = [f"storage={tmp_path / 'results'}", "max_concurrent=2", "search.seed=0"]
    spec = load_spec(path, overrides)
    assert (spec.search.algorithm, spec.scheduler.type) == ("hyperopt", "asha")
    spec = dataclasses.replace(spec, storage=absolute_storage(spec.storage))
    outcome = run_sweep(make_plan(spec, str(path)))

    trials = load_trials(outcome.run_dir)
    assert len(trials) == 6 and set(trials["status"]) == {"TERMINATED"}
    iterations = load_metrics(outcome.run_dir).groupby("trial_id")["training_iteration"].max()
    assert iterations.max() == EPOCHS
    assert (iterations < EPOCHS).any(), "hyperband (ASHA) stopped no trial early"

    # Every sampled value lies in its W&B distribution's support, with W&B's types.
    for lr in trials["config/lr"]:
        assert 1e-4 <= lr <= 0.5
    for bs in trials["config/batch_size"]:
        assert float(bs).is_integer() and 16 <= bs <= 128
    assert set(trials["config/optimizer"]) <= {"adam", "sgd"}
    for wd in trials["config/weight_decay"]:
        assert 0 <= wd <= 1 and abs(wd / 0.001 - round(wd / 0.001)) < 1e-6
    assert set(trials["config/model.d_model"]) <= {8, 16, 24, 32}
    assert set(trials["config/model.layers"]) <= {1, 2}
    assert set(trials["config/epochs"]) == {EPOCHS}
