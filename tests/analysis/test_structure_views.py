"""Seed 000's report views on a denoise-like run built by hand (known answers), and on a
real ``denoise_sweep`` smoke run: did the blob structure emerge, does it hold when
trained longer, learning rate vs silhouette, time vs loss coloured by cluster count."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis import load_run
from analysis.plots.structure import metric_vs_param
from analysis.report import build_report
from analysis.report.views import OPTIONAL_VIEWS
from analysis.report.views_structure import lr_vs_structure, structure
from analysis.run import SweepRun
from tests.analysis.conftest import run_smoke
from tune_jobs.cli.app import main

LR, BATCH = "config/lr", "config/batch_size"


def _denoise_like_run() -> SweepRun:
    """22 trials: 17 find 3 clusters, 3 find 2, lr=0.08 diverges (0), one finds 4; the
    two overtraining runs (20 results) lose silhouette after result 12."""
    names = ["reference", "reference_seed1", "lr=0.005", "lr=0.02", "lr=0.04", "lr=0.08"]
    names += [f"named{i}" for i in range(14)] + ["overtrain_reference", "overtrain_fast"]
    lr = [0.01, 0.01, 0.005, 0.02, 0.04, 0.08] + [0.01] * 14 + [0.01, 0.04]
    batch = [10240] * 6 + [5120, 20480] * 7 + [10240, 20480]
    clusters = [3, 3, 2, 3, 3, 0] + [3] * 11 + [2, 2, 4] + [3, 3]
    silhouette = [0.70, 0.72, 0.40, 0.75, 0.60, np.nan] + [0.65] * 11 + [0.3, 0.3, 0.2]
    silhouette += [0.5, 0.45]
    n = len(names)
    trials = pd.DataFrame(
        {
            "trial_id": [f"{i:05d}_abcde" for i in range(n)],
            "status": ["DIVERGED" if c == 0 else "TERMINATED" for c in clusters],
            "variant": names,
            LR: lr,
            BATCH: batch,
            "config/epochs": [12] * 20 + [20, 20],
            "test_loss": np.linspace(0.5, 0.3, n),
            "n_clusters": clusters,
            "n_blobs": 3,
            "silhouette": silhouette,
            "weight_correlation": 0.9,
            "samples_per_s": np.array(batch) * 10.0,
            "time_total_s": np.linspace(100, 200, n),
            "training_iteration": [12] * 20 + [20, 20],
        }
    )
    rows = []
    for _, t in trials.iterrows():
        for it in range(1, int(t["training_iteration"]) + 1):
            # Overtraining runs: silhouette 0.7 at result 12, then the final (lower) value.
            sil = 0.7 if it <= 12 and t["variant"].startswith("overtrain") else t["silhouette"]
            rows.append(
                {
                    "trial_id": t["trial_id"],
                    "training_iteration": it,
                    "time_total_s": it * 10.0,
                    "silhouette": sil,
                    "n_clusters": t["n_clusters"],
                    "test_loss": t["test_loss"] + 1.0 / it,
                }
            )
    spec = {
        "name": "denoise_like",
        "trainable": "denoise",
        "metric": "test_loss",
        "variants": {"one_factor": {"lr": [0.005, 0.02, 0.04, 0.08]}},
    }
    params = [LR, BATCH, "config/epochs"]
    return SweepRun("denoise_like", trials, pd.DataFrame(rows), "test_loss", "min", spec, params)


def test_structure_counts_runs_with_the_true_blob_count() -> None:
    section = structure(_denoise_like_run(), "test_loss", "min")
    assert section is not None
    first = section.text[0]
    assert first.startswith("**3 clusters (the data's 3 blobs) in 17 of 22 runs**")
    # silhouette of the 17: 0.70 0.72 0.75 0.60, 11 x 0.65, 0.5 0.45 -> median 0.65
    assert "median 0.65 (min 0.45, max 0.75)" in first
    assert (
        "The others found 4 clusters in 1 run, 2 clusters in 3 runs, 0 clusters in 1 run." in first
    )
    table = section.tables[0].frame
    assert int(table["emerged"].sum()) == 17 and len(table) == 22
    longer = next(t for t in section.text if t.startswith("Trained longer"))
    assert "common 12 results" in longer
    assert "`overtrain_reference`: n_clusters 3 -> 3, silhouette 0.7 -> 0.5" in longer
    assert "`overtrain_fast`: n_clusters 3 -> 3, silhouette 0.7 -> 0.45" in longer
    assert [f.key for f in section.figures] == ["silhouette_curves"]


def test_structure_without_the_true_count_lists_what_was_found() -> None:
    run = _denoise_like_run()
    run = SweepRun(
        run.run_dir,
        run.trials.drop(columns="n_blobs"),
        run.metrics,
        run.metric,
        run.mode,
        run.spec,
        run.param_columns,
    )
    section = structure(run, "test_loss", "min")
    assert "3 clusters in 17 runs" in section.text[0] and "n_blobs" in section.text[0]
    plain = SweepRun("x", run.trials.drop(columns=["n_clusters"]), run.metrics, "test_loss", "min")
    assert structure(plain, "test_loss", "min") is None
    assert (
        lr_vs_structure(
            plain.__class__(
                "x",
                plain.trials.drop(columns="silhouette"),
                plain.metrics,
                "test_loss",
                "min",
                {},
                [LR],
            ),
            "test_loss",
            "min",
        )
        is None
    )


def test_lr_vs_silhouette_uses_the_lr_runs_and_marks_the_diverged_one() -> None:
    run = _denoise_like_run()
    section = lr_vs_structure(run, "test_loss", "min")
    assert section is not None
    # Over the reference (0.70), its seed re-run (0.72) and the lr= runs; 0.02 wins (0.75).
    line = section.text[1]
    assert line.startswith("`lr`: **0.02** gives the highest `silhouette` (median 0.75, 1 run)")
    assert "0.01: median 0.71, 2 runs" in line
    fig = section.figures[0].plotly
    traces = {t.name: t for t in fig.data}
    assert sorted(traces["trials"].x) == [0.005, 0.01, 0.01, 0.02, 0.04]  # no named runs
    assert list(traces["diverged / no silhouette"].x) == [0.08]
    assert fig.layout.xaxis.type == "log"
    png = metric_vs_param(run.trials, LR, "silhouette", color="n_clusters", backend="matplotlib")
    assert png.axes[0].get_xscale() == "log"


def test_views_in_the_report_of_a_denoise_like_run(tmp_path: Path) -> None:
    run = _denoise_like_run()
    assert structure in OPTIONAL_VIEWS and lr_vs_structure in OPTIONAL_VIEWS
    md_path, html_path = build_report(run, str(tmp_path / "report"))
    md = Path(md_path).read_text()
    for title in (
        "Did the cluster structure emerge?",
        "Learning rate vs silhouette",
        "Training time vs final metric",
        "Batch size vs throughput",
        "Per-parameter answers",
    ):
        assert f"## {title}" in md, title
    assert "coloured by `n_clusters`" in md
    assert (tmp_path / "report" / "lr_silhouette.png").stat().st_size > 5000
    assert 'id="structure"' in Path(html_path).read_text()


@pytest.mark.slow
def test_report_of_a_real_denoise_smoke_run(tmp_path: Path, capsys) -> None:
    run_dir = run_smoke("tune_jobs/specs/denoise_sweep.yaml", tmp_path / "results")
    run = load_run(run_dir)
    assert run.trials["n_blobs"].tolist() == [3, 3]
    assert main(["report", run_dir]) == 0
    capsys.readouterr()
    md = (Path(run_dir) / "report" / "report.md").read_text()
    hits = int((run.trials["n_clusters"] == 3).sum())
    assert f"**3 clusters (the data's 3 blobs) in {hits} of 2 runs**" in md
    assert "## Learning rate vs silhouette" in md  # reference lr 0.01 vs lr=0.005
