"""``tune-jobs report`` on synthetic runs: the numbers in it, and the views that fit."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from analysis.synthetic import synthesize_run
from tune_jobs.cli.app import main

LRS = [1e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1]


def _report(run_dir: Path, capsys: pytest.CaptureFixture[str]) -> tuple[str, str]:
    assert main(["report", str(run_dir)]) == 0
    out = capsys.readouterr().out
    assert f"wrote {run_dir / 'report' / 'report.md'}" in out
    md = (run_dir / "report" / "report.md").read_text()
    html = (run_dir / "report" / "report.html").read_text()
    return md, html


def _best(run_dir: Path) -> pd.Series:
    trials = pd.read_parquet(run_dir / "trials.parquet")
    valid = trials[trials["status"] == "TERMINATED"]
    return valid.loc[valid["val_loss"].idxmin()]


def test_report_of_lr_sweep_names_best_trial_and_stability(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_dir = tmp_path / "lr"
    synthesize_run(str(run_dir), n_trials=12, n_results=30, seed=1, lrs=LRS)
    md, html = _report(run_dir, capsys)
    best = _best(run_dir)
    line = next(x for x in md.splitlines() if x.startswith("Best: trial"))
    assert f"`{best['trial_id']}`" in line
    assert f"`val_loss` = {best['val_loss']:.6g}" in line
    first_row = next(x for x in md.splitlines() if x.startswith("| 1 |"))
    assert best["trial_id"] in first_row
    assert "## Learning-rate stability" in md and 'id="lr_stability"' in html
    # best LR 3e-3 (the synthetic optimum); LRs >= 3e-2 diverge, so 1e-2 is the largest.
    stability = re.search(r"Best LR \*\*([^*]+)\*\*.*largest stable LR \*\*([^*]+)\*\*", md)
    assert stability and float(stability.group(1)) == pytest.approx(3e-3)
    assert float(stability.group(2)) == pytest.approx(1e-2)
    for png in ("learning_curves.png", "lr_stability.png", "importance.png"):
        assert f"]({png})" in md
        assert (run_dir / "report" / png).stat().st_size > 5000
    assert html.count('class="plot"') >= 4 and "Plotly.newPlot" in html
    assert "<script src=" not in html  # self-contained: plotly.js inlined


def test_report_of_random_search_has_no_stability_but_tradeoffs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_dir = tmp_path / "random"
    synthesize_run(str(run_dir), n_trials=30, n_results=20, seed=2)
    md, html = _report(run_dir, capsys)
    best = _best(run_dir)
    assert f"`{best['trial_id']}`" in md and f"{best['val_loss']:.6g}" in md
    assert "Learning-rate stability" not in md and 'id="lr_stability"' not in html
    for title in ("Parameter importance", "Batch size vs throughput", "Pareto front"):
        assert f"## {title}" in md
    # the only influential parameter (the loss depends on lr alone) ranks first
    importance = md.split("## Parameter importance", 1)[1]
    first = next(x for x in importance.splitlines() if x.startswith("| ") and "param" not in x)
    assert first.startswith("| lr |")


def test_report_with_stages_repeats_and_target(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_dir = tmp_path / "full"
    synthesize_run(str(run_dir), n_trials=24, n_results=20, seed=3, target=1.3, repeats=3, stages=2)
    md, _ = _report(run_dir, capsys)
    for title in ("Stage comparison", "Repeats aggregated per configuration", "Time to target"):
        assert f"## {title}" in md


def test_report_mid_run_and_before_any_result(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_dir = tmp_path / "mid"
    synthesize_run(str(run_dir), n_trials=6, n_results=10, seed=4)
    trials = pd.read_parquet(run_dir / "trials.parquet")
    trials.loc[:2, "status"] = "RUNNING"
    trials.to_parquet(run_dir / "trials.parquet")
    md, _ = _report(run_dir, capsys)
    assert "still running" in md

    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "spec.yaml").write_text("name: empty\ntrainable: branin\nmetric: value\n")
    md, _ = _report(empty, capsys)
    assert "No trials recorded yet." in md
