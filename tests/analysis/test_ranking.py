"""Leaderboard, best trial, repeats aggregation and the time-to-target ranking."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis import aggregate_repeats, best_trial, leaderboard, time_to_target_ranking


def _trials() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "trial_id": ["a", "b", "c", "d", "e", "f"],
            "status": ["TERMINATED", "TERMINATED", "DIVERGED", "ERROR", "RUNNING", "PENDING"],
            "config/lr": [0.1, 0.01, 1.0, 0.3, 0.001, 0.02],
            "config/preset": ["tiny"] * 6,
            "loss": [2.0, 1.0, 0.5, 0.7, 1.5, np.nan],
        }
    )


def test_leaderboard_orders_best_then_failed_then_missing() -> None:
    ranked = leaderboard(_trials(), "loss", "min")
    # c diverged with a small loss: still after every valid trial.
    assert ranked["trial_id"].tolist() == ["b", "e", "a", "c", "d", "f"]
    assert ranked["rank"].tolist() == [1, 2, 3, 4, 5, 6]
    assert ranked.columns[:4].tolist() == ["rank", "trial_id", "status", "loss"]
    assert "config/lr" in ranked.columns[:5]  # varying parameters right after the metric
    assert leaderboard(_trials(), "loss", "max")["trial_id"].tolist()[:3] == ["a", "e", "b"]
    assert leaderboard(_trials(), "loss", "min", top=2)["trial_id"].tolist() == ["b", "e"]


def test_best_trial_and_argument_errors() -> None:
    assert best_trial(_trials(), "loss", "min")["trial_id"] == "b"
    with pytest.raises(ValueError, match=r"unknown metric 'los'.*loss"):
        leaderboard(_trials(), "los", "min")
    with pytest.raises(ValueError, match="mode must be 'min' or 'max'"):
        leaderboard(_trials(), "loss", "minimum")
    failed = _trials().assign(status="DIVERGED")
    with pytest.raises(ValueError, match="diverged or failed"):
        best_trial(failed, "loss", "min")
    assert leaderboard(pd.DataFrame(), "loss").empty


def test_aggregate_repeats_median_iqr_and_ci() -> None:
    trials = pd.DataFrame(
        {
            "trial_id": list("abcdefg"),
            "config_id": ["A"] * 4 + ["B"] * 3,
            "status": ["TERMINATED"] * 6 + ["DIVERGED"],
            "config/lr": [0.1] * 4 + [0.01] * 3,
            "loss": [1.0, 2.0, 3.0, 4.0, 0.5, 0.7, np.nan],
        }
    )
    out = aggregate_repeats(trials, "loss", "min", n_boot=500).set_index("config_id")
    assert out.loc["B", "rank"] == 1 and out.loc["A", "rank"] == 2
    assert out.loc["A", ["n", "n_valid", "n_failed"]].tolist() == [4, 4, 0]
    assert out.loc["B", ["n", "n_valid", "n_failed"]].tolist() == [3, 2, 1]
    assert out.loc["A", "median"] == 2.5
    assert out.loc["A", "q25"] == 1.75 and out.loc["A", "q75"] == 3.25
    assert out.loc["A", "iqr"] == 1.5
    assert out.loc["B", "median"] == pytest.approx(0.6)
    assert 1.0 <= out.loc["A", "ci_low"] <= 2.5 <= out.loc["A", "ci_high"] <= 4.0
    assert out.loc["A", "trial_ids"] == ["a", "b", "c", "d"]
    assert out.loc["A", "config/lr"] == 0.1
    again = aggregate_repeats(trials, "loss", "min", n_boot=500).set_index("config_id")
    assert again.loc["A", "ci_low"] == out.loc["A", "ci_low"]  # seeded


def test_time_to_target_censored_trials_rank_last_closest_first() -> None:
    trials = pd.DataFrame(
        {
            "trial_id": ["slow", "fast", "close", "far", "none", "closer_by_best"],
            "status": ["TERMINATED"] * 6,
            "reached_target": [True, True, False, False, None, False],
            "time_to_target_s": [10.0, 5.0, np.nan, np.nan, np.nan, np.nan],
            "val_loss": [4.9, 4.8, 5.5, 6.0, np.nan, 7.0],  # last values
        }
    )
    ranked = time_to_target_ranking(trials, "val_loss", 5.0)
    assert ranked["trial_id"].tolist() == ["fast", "slow", "close", "far", "closer_by_best", "none"]
    assert ranked["censored"].tolist() == [False, False, True, True, True, True]
    assert ranked["gap"].tolist()[:4] == pytest.approx([0.0, 0.0, 0.5, 1.0])
    # With the metrics rows, a censored trial's best value counts, not its last one.
    metrics = pd.DataFrame(
        {
            "trial_id": ["close", "far", "closer_by_best", "closer_by_best"],
            "val_loss": [5.5, 6.0, 5.2, 7.0],
        }
    )
    ranked = time_to_target_ranking(trials, "val_loss", 5.0, metrics=metrics)
    assert ranked["trial_id"].tolist()[2:] == ["closer_by_best", "close", "far", "none"]
