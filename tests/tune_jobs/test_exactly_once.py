"""Parquet exactly-once when a trial crashes and restarts from its checkpoint."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from analysis import load_metrics, load_trials
from tests.conftest import run_spec_in_process
from tests.fixtures.user_trainables import value_at

pytestmark = pytest.mark.slow


def test_failed_trial_restores_and_every_result_lands_once(ray_local: None, tmp_path: Path) -> None:
    markers = tmp_path / "markers"
    markers.mkdir()
    n, fail_at, ckpt_every = 12, 8, 3  # checkpoint at 3, 6 -> restore from 6, re-report 7
    outcome = run_spec_in_process(
        tmp_path,
        {
            "name": "flaky",
            "trainable": "tests/fixtures/user_trainables.py:counter",
            "metric": "score",
            "config": {
                "n": n,
                "fail_at": fail_at,
                "ckpt_every": ckpt_every,
                "marker_dir": str(markers),
            },
            "space": {"x": {"grid": [0.0, 1.0]}},
            "search": {"algorithm": "grid"},
            "max_failures": 2,
        },
    )
    assert outcome.statuses == {"TERMINATED": 2}
    run_dir = outcome.run_dir

    trials = load_trials(run_dir).set_index("trial_id")
    assert (trials["num_failures"] == 1).all()
    assert (trials["attempt"] == 1).all()
    assert trials["error"].isna().all()  # recovered trials carry no error

    raw = load_metrics(run_dir, clean=False)
    # Iteration 7 was reported before the crash (attempt 0) and again after (attempt 1).
    for tid in trials.index:
        rows = raw[raw["trial_id"] == tid]
        counts = rows.groupby("training_iteration").size()
        assert counts.loc[7] == 2
        assert rows[rows["attempt"] == 1]["training_iteration"].min() == 7
        # Within one attempt no iteration is ever written twice.
        assert not rows.duplicated(["attempt", "training_iteration"]).any()

    clean = load_metrics(run_dir)
    for tid, row in trials.iterrows():
        got = clean[clean["trial_id"] == tid].sort_values("training_iteration")
        assert list(got["training_iteration"]) == list(range(1, n + 1))
        expected = [value_at(row["config/x"], i) for i in range(1, n + 1)]
        assert got["score"].tolist() == pytest.approx(expected)
    assert len(clean) == 2 * n
    assert isinstance(clean, pd.DataFrame)


def test_trial_that_always_raises_is_recorded_and_sweep_goes_on(
    ray_local: None, tmp_path: Path
) -> None:
    outcome = run_spec_in_process(
        tmp_path,
        {
            "name": "mixed",
            "trainable": "tests/fixtures/user_trainables.py:broken",
            "metric": "score",
        },
    )
    assert outcome.statuses == {"ERROR": 1}
    assert outcome.all_failed
    trials = load_trials(outcome.run_dir)
    assert "this trainable is broken on purpose" in trials.loc[0, "error"]
    assert "\n" not in trials.loc[0, "error"]


def test_module_function_trainable_from_the_working_directory(
    ray_local: None, tmp_path: Path
) -> None:
    outcome = run_spec_in_process(
        tmp_path,
        {
            "name": "by_module",
            "trainable": "tests.fixtures.user_trainables:counter",
            "metric": "score",
            "config": {"n": 3, "x": 0.5},
        },
    )
    assert outcome.statuses == {"TERMINATED": 1}
    assert load_metrics(outcome.run_dir)["score"].tolist() == [value_at(0.5, i) for i in (1, 2, 3)]
