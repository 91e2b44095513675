"""The contract every built-in trainable keeps, checked through real Ray Tune sweeps.

For each trainable: it reports its metric; two trials with the same seed report the
same metrics; a trial that crashes after a checkpoint and is restored by Tune reports
exactly what an uninterrupted trial reports; a divergent setting ends the trial cleanly
with ``diverged: true`` (not an ERROR).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from analysis import load_metrics, load_trials
from tests.conftest import run_spec_in_process
from trainables import BUILTIN_TRAINABLES

pytestmark = pytest.mark.slow

#: name -> (small config, crash after this many reports, a config that diverges or None)
CONTRACT: dict[str, tuple[dict[str, Any], int, dict[str, Any] | None]] = {
    "mlp": (
        {"preset": "tiny", "max_steps": 60, "report_every": 10},
        3,
        {"optimizer": "sgd", "lr": 1e8, "init_scale": 20.0},
    ),
    "lm": (
        {
            "preset": "tiny",
            "max_steps": 12,
            "report_every": 2,
            "eval_every": 4,
            "context": 32,
            "batch_size": 4,
            "eval_batches": 2,
        },
        3,
        {"lr": 1e6, "grad_clip": 0, "warmup_steps": 0, "init_std": 1.0},
    ),
    "denoise": ({"preset": "tiny"}, 3, {"optimizer": "sgd", "lr": 1e8}),
    "branin": ({"x1": 1.0, "x2": 2.0, "iterations": 6, "noise": 0.5}, 3, None),
    "hartmann6": ({"x1": 0.2, "x4": 0.3, "iterations": 6, "noise": 0.1}, 2, None),
    "lm-muon-moe": (
        {
            "preset": "tiny",
            "max_steps": 8,
            "report_every": 2,
            "eval_every": 2,
            "context": 32,
            "batch_size": 4,
            "eval_batches": 1,
            "optimizer": "muon",
            "lr": 0.02,
            "num_experts": 4,
            "top_k": 2,
        },
        2,
        None,
    ),
}
_TIMING = ("per_s", "time", "timestamp", "mfu", "gpu_mem", "gpu_util")


def _trainable(case: str) -> str:
    return case.split("-")[0]


def test_every_builtin_trainable_is_under_contract() -> None:
    assert set(BUILTIN_TRAINABLES) <= {_trainable(c) for c in CONTRACT}


def _deterministic(frame: pd.DataFrame) -> pd.DataFrame:
    keep = [
        c
        for c in frame.columns
        if pd.api.types.is_numeric_dtype(frame[c])
        and not any(t in c for t in _TIMING)
        and c != "attempt"
    ]
    return frame[keep].sort_values("training_iteration").reset_index(drop=True)


@pytest.mark.parametrize("case", sorted(CONTRACT))
def test_contract(ray_local: None, tmp_path: Path, case: str) -> None:
    config, crash_after, diverge = CONTRACT[case]
    name = _trainable(case)
    metric = BUILTIN_TRAINABLES[name].default_metric
    base = {**config, "_trainable": name, "_marker": str(tmp_path / "crashed")}
    outcome = run_spec_in_process(
        tmp_path,
        {
            "name": f"contract_{name}",
            "trainable": "tests/fixtures/contract.py:run",
            "metric": metric,
            "config": base,
            "variants": {
                "include_reference": False,
                "named": {"first": {}, "second": {}, "crashed": {"_crash_after": crash_after}},
            },
            "max_failures": 1,
        },
    )
    assert outcome.statuses == {"TERMINATED": 3}
    trials = load_trials(outcome.run_dir).set_index("variant")
    assert trials.loc["crashed", "num_failures"] == 1
    metrics = load_metrics(outcome.run_dir)
    by_variant = {
        v: _deterministic(metrics[metrics["trial_id"] == trials.loc[v, "trial_id"]])
        for v in ("first", "second", "crashed")
    }
    first = by_variant["first"]
    assert metric in first.columns and first[metric].notna().any()
    assert len(first) > crash_after
    pd.testing.assert_frame_equal(first, by_variant["second"], check_exact=False, rtol=1e-7)
    pd.testing.assert_frame_equal(first, by_variant["crashed"], check_exact=False, rtol=1e-7)
    assert (metrics["diverged"] == False).all()  # noqa: E712 - a bool column

    if diverge is not None:
        diverged = run_spec_in_process(
            tmp_path,
            {
                "name": f"diverge_{name}",
                "trainable": name,
                "metric": metric,
                "config": {**config, **diverge},
            },
        )
        # A divergence is a result, not a crash: its own status, never ERROR.
        assert diverged.statuses == {"DIVERGED": 1}
        last = load_metrics(diverged.run_dir).sort_values("training_iteration").iloc[-1]
        assert bool(last["diverged"]) is True
