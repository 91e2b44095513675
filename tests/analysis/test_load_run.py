"""load_run: spec fields, searched parameters, filters, empty and in-progress RUN_DIRs."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from analysis import clean_view, load_metrics, load_run
from analysis.synthetic import synthesize_run
from tune_jobs.names import METRICS_DIR
from tune_jobs.results.storage import RunStorage


def test_spec_fields_and_searched_parameters(synthetic_run_dir: Path) -> None:
    run = load_run(str(synthetic_run_dir))
    assert (run.metric, run.mode) == ("val_loss", "min")
    assert run.spec["trainable"] == "synthetic"
    # Fixed config (preset) and the seed are not searched parameters.
    assert run.param_columns == ["config/lr", "config/width", "config/depth", "config/batch_size"]
    assert len(run.trials) == 20
    assert run.metrics.groupby("trial_id").size().max() == 30
    assert run.lr_column == "config/lr"
    assert not run.is_lr_sweep  # four axes vary
    assert not run.has_stages and not run.has_repeats and not run.has_time_to_target


def test_kind_of_sweep(tmp_path: Path) -> None:
    lr = tmp_path / "lr"
    synthesize_run(str(lr), 6, 5, lrs=[1e-3, 1e-2, 1e-1])
    assert load_run(str(lr)).is_lr_sweep
    staged = tmp_path / "staged"
    synthesize_run(str(staged), 12, 5, repeats=3, stages=2, target=1.5)
    run = load_run(str(staged))
    assert run.has_stages and run.has_repeats and run.has_time_to_target
    assert run.stages == [1, 2]
    assert run.target == ("val_loss", 1.5, "min")


def test_filters_by_stage_status_and_variant(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    synthesize_run(str(run_dir), 20, 6, stages=2, diverge_lr=1e-2)
    everything = load_run(str(run_dir))
    stage2 = load_run(str(run_dir), stage=2)
    assert len(stage2.trials) == (everything.trials["stage"] == 2).sum() > 0
    assert set(stage2.metrics["stage"]) == {2}

    diverged = load_run(str(run_dir), status="diverged")
    expected = set(everything.trials.loc[everything.trials["status"] == "DIVERGED", "trial_id"])
    assert set(diverged.trials["trial_id"]) == expected and expected
    assert set(diverged.metrics["trial_id"]) == expected
    both = load_run(str(run_dir), status=["TERMINATED", "DIVERGED"])
    assert len(both.trials) == 20

    trials_path = run_dir / "trials.parquet"
    trials = pd.read_parquet(trials_path)
    trials["variant"] = ["reference"] + [None] * (len(trials) - 1)
    trials.to_parquet(trials_path)
    reference = load_run(str(run_dir), variant="reference")
    assert reference.trials["trial_id"].tolist() == [trials["trial_id"].iloc[0]]
    assert set(reference.metrics["trial_id"]) == {trials["trial_id"].iloc[0]}


def test_new_and_empty_run_dirs_load_as_empty_frames(tmp_path: Path) -> None:
    for run_dir in (tmp_path / "missing", tmp_path):
        run = load_run(str(run_dir))
        assert run.trials.empty and run.metrics.empty and run.spec == {}
        assert run.metric is None and run.param_columns == []
        assert not (run.has_stages or run.has_repeats or run.is_lr_sweep or run.has_time_to_target)
    (tmp_path / "metrics").mkdir()  # the sink's first act: an empty metrics/
    (tmp_path / "spec.yaml").write_text("name: x\nmetric: loss\nmode: max\n")
    run = load_run(str(tmp_path))
    assert run.metrics.empty and (run.metric, run.mode) == ("loss", "max")


def test_uri_run_dir(synthetic_run_dir: Path) -> None:
    run = load_run(f"file://{synthetic_run_dir}")
    assert len(run.trials) == 20 and run.metric == "val_loss"


def test_half_written_and_foreign_parts(synthetic_run_dir: Path) -> None:
    metrics = synthetic_run_dir / METRICS_DIR
    rows = len(load_metrics(str(synthetic_run_dir), clean=False))
    good = next(metrics.glob("part-00000001-*.parquet")).read_bytes()
    # The sink's temporary name (an upload or write in progress): never read.
    (metrics / ".tmp-0123-part-00000099-abc.parquet").write_bytes(good[: len(good) // 2])
    (synthetic_run_dir / ".tmp-0456-trials.parquet").write_bytes(b"PAR1")
    assert len(load_metrics(str(synthetic_run_dir), clean=False)) == rows
    # A truncated file under a real name (a copy in progress): skipped with a warning.
    (metrics / "part-00000098-zzz.parquet").write_bytes(good[: len(good) // 2])
    with pytest.warns(UserWarning, match="skipped unreadable part"):
        again = load_run(str(synthetic_run_dir))
    assert len(again.trials) == 20 and again.metrics.groupby("trial_id").size().max() == 30


def test_load_while_the_sink_writes(tmp_path: Path) -> None:
    run_dir = tmp_path / "live"
    synthesize_run(str(run_dir), 4, 5, n_parts=2)
    storage = RunStorage.open(str(run_dir))
    base = load_metrics(str(run_dir), clean=False)
    stop = threading.Event()

    def writer() -> None:
        part = 100
        while not stop.is_set():
            rows = base.assign(training_iteration=base["training_iteration"] + 1000 * part)
            table = pa.Table.from_pandas(rows, preserve_index=False)
            storage.write_parquet(table, METRICS_DIR, f"part-{part:08d}-live.parquet")
            part += 1

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        sizes = [len(load_run(str(run_dir)).metrics) for _ in range(15)]
    finally:
        stop.set()
        thread.join()
    assert sizes == sorted(sizes) and sizes[0] >= len(base)
    assert all(size % len(base) == 0 for size in sizes)  # whole parts only


def _reference_clean_view(metrics: pd.DataFrame) -> pd.DataFrame:
    """The rule of docs/results.md, written as plainly as possible."""
    kept = []
    for _, trial in metrics.groupby("trial_id"):
        starts = trial.groupby("attempt")["training_iteration"].min()
        for _, row in trial.iterrows():
            later = starts[starts.index > row["attempt"]]
            if later.empty or row["training_iteration"] < later.min():
                kept.append(row)
    frame = pd.DataFrame(kept).sort_values(["trial_id", "training_iteration", "attempt"])
    return frame.drop_duplicates(["trial_id", "training_iteration"], keep="last")


def test_vectorised_clean_view_matches_the_rule() -> None:
    rng = np.random.default_rng(3)
    rows = []
    for trial in "abcdef":
        attempt, iteration = 0, 0
        for _ in range(40):
            if rng.random() < 0.1:  # restore: a new attempt starts at or before the last one
                attempt += 1
                iteration = max(0, iteration - int(rng.integers(0, 5)))
            iteration += 1
            rows.append({"trial_id": trial, "attempt": attempt, "training_iteration": iteration})
    metrics = pd.DataFrame(rows).sample(frac=1.0, random_state=0)  # parts arrive interleaved
    metrics["v"] = np.arange(len(metrics))
    got = clean_view(metrics)
    want = _reference_clean_view(metrics)
    assert got[["trial_id", "training_iteration", "attempt", "v"]].values.tolist() == (
        want[["trial_id", "training_iteration", "attempt", "v"]].values.tolist()
    )
    assert not got.duplicated(["trial_id", "training_iteration"]).any()
