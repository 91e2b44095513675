"""Parameter importance finds the only influential parameter; marginal effects' numbers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis import load_run, marginal_effects, parameter_importance
from analysis.synthetic import synthesize_run


def test_only_the_learning_rate_matters_in_a_synthetic_run(tmp_path: Path) -> None:
    synthesize_run(str(tmp_path / "run"), 60, 5, seed=4, diverge_lr=None)
    run = load_run(str(tmp_path / "run"))
    importance = parameter_importance(run.trials, "val_loss", run.param_columns)
    assert importance["param"].iloc[0] == "config/lr"
    assert importance["importance"].iloc[0] > 0.8
    assert importance["importance"].sum() == pytest.approx(1.0)
    assert set(importance["param"]) == set(run.param_columns)
    again = parameter_importance(run.trials, "val_loss", run.param_columns)
    pd.testing.assert_frame_equal(importance, again)  # deterministic


def test_a_categorical_parameter_can_be_the_important_one() -> None:
    rng = np.random.default_rng(0)
    n = 80
    optimizer = rng.choice(["adam", "sgd", "lion"], n)
    trials = pd.DataFrame(
        {
            "trial_id": [str(i) for i in range(n)],
            "status": "TERMINATED",
            "config/optimizer": optimizer,
            "config/width": rng.choice([32, 64, 128], n),
            "config/dropout": rng.uniform(0, 0.5, n),
            "config/preset": "tiny",
            "loss": np.select([optimizer == "adam", optimizer == "sgd"], [1.0, 2.0], 3.0)
            + rng.normal(0, 0.01, n),
        }
    )
    importance = parameter_importance(trials, "loss")
    assert importance["param"].tolist()[0] == "config/optimizer"
    assert importance.set_index("param").loc["config/preset", "importance"] == 0.0
    assert parameter_importance(trials.head(2), "loss").empty  # too few trials


def test_marginal_effects_by_value_and_by_bin() -> None:
    trials = pd.DataFrame(
        {
            "trial_id": list("abcdef"),
            "status": ["TERMINATED"] * 5 + ["DIVERGED"],
            "config/optimizer": ["adam", "adam", "sgd", "sgd", "sgd", "adam"],
            "config/lr": [1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0],
            "loss": [1.0, 3.0, 2.0, 4.0, 9.0, 0.0],
        }
    )
    effect = marginal_effects(trials, "loss", "config/optimizer").set_index("value")
    assert effect.loc["adam", ["n", "median", "best", "worst"]].tolist() == [2, 2.0, 1.0, 3.0]
    assert effect.loc["sgd", ["n", "median"]].tolist() == [3, 4.0]
    binned = marginal_effects(trials, "loss", "config/lr", bins=2)
    assert binned["n"].tolist() == [3, 2] and bool(binned["log"].iloc[0])
    assert binned["median"].tolist() == [2.0, 6.5]
    with pytest.raises(ValueError, match="unknown metric"):
        marginal_effects(trials, "acc", "config/lr")
