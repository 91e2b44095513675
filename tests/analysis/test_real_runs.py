"""On real smoke runs: load_run's view of a real RUN_DIR, and the synthesiser's layout
matching the sink's (column names, order and types)."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest

from analysis import leaderboard, load_run
from analysis.synthetic import synthesize_run

pytestmark = pytest.mark.slow


def test_load_run_of_the_demo_smoke_run(smoke_run_dir: str) -> None:
    run = load_run(smoke_run_dir)
    assert (run.metric, run.mode, run.name) == ("val_loss", "min", "demo")
    assert len(run.trials) == 2
    assert len(run.metrics) == run.trials["training_iteration"].sum() >= 2
    # Searched: the space's four keys, and optimizer (set by one variant only).
    assert set(run.param_columns) == {
        "config/lr",
        "config/width",
        "config/depth",
        "config/batch_size",
        "config/optimizer",
    }
    assert not run.is_lr_sweep and not run.has_stages and not run.has_repeats
    assert run.throughput_column == "samples_per_s" and run.batch_column == "config/batch_size"
    reference = load_run(smoke_run_dir, variant="reference")
    assert reference.trials["variant"].tolist() == ["reference"]
    assert reference.metrics["trial_id"].nunique() == 1
    assert len(reference.metrics) == reference.trials["training_iteration"].iloc[0]
    ranked = leaderboard(run.trials, run.metric, run.mode)
    assert ranked["val_loss"].is_monotonic_increasing


def test_the_lm_lr_sweep_is_an_lr_sweep(lr_sweep_run_dir: str) -> None:
    run = load_run(lr_sweep_run_dir)
    assert run.is_lr_sweep and run.lr_column == "config/lr"
    assert run.param_columns == ["config/lr"]


def test_synthesised_layout_matches_the_sink(smoke_run_dir: str, tmp_path: Path) -> None:
    synthetic = tmp_path / "synthetic"
    synthesize_run(str(synthetic), 4, 3)
    real_dir = Path(smoke_run_dir)
    real_trials = pq.read_schema(real_dir / "trials.parquet")
    fake_trials = pq.read_schema(synthetic / "trials.parquet")
    bookkeeping = real_trials.names[: real_trials.names.index("path") + 1]
    assert fake_trials.names[: len(bookkeeping)] == bookkeeping
    for name in set(real_trials.names) & set(fake_trials.names) - {"error", "variant"}:
        assert real_trials.field(name).type == fake_trials.field(name).type, name
    real_parts = sorted(p.name for p in (real_dir / "metrics").iterdir())
    fake_parts = sorted(p.name for p in (synthetic / "metrics").iterdir())
    assert real_parts[0] == fake_parts[0] == "part-00000000-schema.parquet"
    real_metrics = pq.read_schema(real_dir / "metrics" / real_parts[0])
    fake_metrics = pq.read_schema(synthetic / "metrics" / fake_parts[0])
    assert fake_metrics.names[:3] == real_metrics.names[:3] == ["trial_id", "attempt", "stage"]
    for name in set(real_metrics.names) & set(fake_metrics.names):
        assert real_metrics.field(name).type == fake_metrics.field(name).type, name
