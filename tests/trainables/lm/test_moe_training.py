"""The MoE knobs and dropout keep the trainable contract: a trial that crashes and is
restored by Tune reports exactly what an uninterrupted one reports (same checks as
tests/trainables/test_contract.py, on a config that turns every new knob on)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from analysis import load_metrics, load_trials
from tests.conftest import run_spec_in_process

pytestmark = pytest.mark.slow

_CONFIG = {
    "_trainable": "lm",
    "preset": "tiny",
    "max_steps": 8,
    "report_every": 2,
    "eval_every": 2,
    "context": 32,
    "batch_size": 4,
    "eval_batches": 1,
    "num_experts": 4,
    "top_k": 3,
    "num_shared_experts": 2,
    "router_layers": 2,
    "router_threshold": 0.6,
    "expert_lr": 1e-3,
    "dropout": 0.1,
}
_TIMING = ("per_s", "time", "timestamp", "mfu", "gpu_")


def _deterministic(frame: pd.DataFrame) -> pd.DataFrame:
    keep = [
        c
        for c in frame.columns
        if pd.api.types.is_numeric_dtype(frame[c])
        and not any(t in c for t in _TIMING)
        and c != "attempt"
    ]
    return frame[keep].sort_values("training_iteration").reset_index(drop=True)


def test_moe_knobs_restore_exactly(ray_local: None, tmp_path: Path) -> None:
    outcome = run_spec_in_process(
        tmp_path,
        {
            "name": "moe_knobs_contract",
            "trainable": "tests/fixtures/contract.py:run",
            "metric": "val_loss",
            "config": {**_CONFIG, "_marker": str(tmp_path / "crashed")},
            "variants": {
                "include_reference": False,
                "named": {"first": {}, "crashed": {"_crash_after": 2}},
            },
            "max_failures": 1,
        },
    )
    assert outcome.statuses == {"TERMINATED": 2}
    trials = load_trials(outcome.run_dir).set_index("variant")
    assert trials.loc["crashed", "num_failures"] == 1
    metrics = load_metrics(outcome.run_dir)
    first, crashed = (
        _deterministic(metrics[metrics["trial_id"] == trials.loc[v, "trial_id"]])
        for v in ("first", "crashed")
    )
    assert len(first) == 4 and first["val_loss"].notna().all()
    # Threshold routing is on: fewer than top_k routed experts per token on average.
    assert ((first["active_experts"] >= 1) & (first["active_experts"] <= 3)).all()
    assert {"aux_loss", "expert_util/0"} <= set(first.columns)
    pd.testing.assert_frame_equal(first, crashed, check_exact=False, rtol=1e-7)
