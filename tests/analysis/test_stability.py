"""The learning-rate stability view's numbers: best LR, largest stable LR, ratio."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis import load_run, lr_stability
from analysis.synthetic import synthesize_run


def test_synthetic_lr_sweep(tmp_path: Path) -> None:
    lrs = [1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1]
    synthesize_run(str(tmp_path / "lr"), 14, 30, lrs=lrs, best_lr=3e-3, diverge_lr=2e-2)
    run = load_run(str(tmp_path / "lr"))
    assert run.is_lr_sweep
    result = lr_stability(run.trials, run.lr_column, "val_loss", "min")
    assert result.best_lr == pytest.approx(3e-3)
    assert result.largest_stable_lr == pytest.approx(1e-2)
    assert result.ratio == pytest.approx(1e-2 / 3e-3)
    table = result.table.set_index("lr")
    assert table["n"].tolist() == [2] * 7
    assert table["diverged"].tolist() == [False] * 5 + [True] * 2
    assert table["n_diverged"].tolist() == [0] * 5 + [2] * 2


def test_one_diverged_run_makes_an_lr_unstable_and_errors_are_ignored() -> None:
    trials = pd.DataFrame(
        {
            "trial_id": list("abcdefgh"),
            "status": ["TERMINATED"] * 5 + ["DIVERGED", "ERROR", "TERMINATED"],
            "config/lr": [0.001, 0.003, 0.01, 0.03, 0.1, 0.1, 0.3, 0.03],
            "loss": [2.0, 1.2, 1.0, 1.5, 1.1, np.nan, np.nan, np.inf],
        }
    )
    result = lr_stability(trials, "config/lr", "loss")
    # 0.1: one of two runs diverged; 0.03: an infinite loss; 0.3: only a crash.
    assert result.table.set_index("lr")["stable"].to_dict() == {
        0.001: True,
        0.003: True,
        0.01: True,
        0.03: False,
        0.1: False,
        0.3: False,
    }
    assert (result.best_lr, result.largest_stable_lr) == (0.01, 0.01)
    assert result.ratio == 1.0
    maximised = lr_stability(trials.assign(loss=-trials["loss"]), "config/lr", "loss", "max")
    assert maximised.best_lr == 0.01


def test_nothing_stable_and_bad_arguments() -> None:
    trials = pd.DataFrame(
        {"trial_id": ["a"], "status": ["DIVERGED"], "config/lr": [1.0], "loss": [np.nan]}
    )
    result = lr_stability(trials, "config/lr", "loss")
    assert result.best_lr is None and result.largest_stable_lr is None and result.ratio is None
    with pytest.raises(ValueError, match="unknown column"):
        lr_stability(trials, "config/learning_rate", "loss")
    with pytest.raises(ValueError, match="unknown metric"):
        lr_stability(trials, "config/lr", "val")
