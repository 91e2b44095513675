"""Figure builders: both backends, the numbers they plot, and no kaleido needed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest
from matplotlib.figure import Figure as MplFigure

from analysis import load_run, lr_stability, parameter_importance, pareto_front, views
from analysis.synthetic import synthesize_run


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory):
    run_dir = tmp_path_factory.mktemp("views") / "run"
    synthesize_run(str(run_dir), 30, 40, seed=2, stages=2, diverge_lr=2e-2)
    return load_run(str(run_dir))


def _all_figures(run, backend: str) -> list:
    metric, params = "val_loss", run.param_columns
    return [
        views.learning_curves(run.metrics, run.trials, metric, backend=backend),
        views.learning_curves(run.metrics, run.trials, metric, x="time_total_s", backend=backend),
        views.lr_stability_figure(run.trials, "config/lr", metric, backend=backend),
        views.parallel_coordinates(run.trials, metric, params, backend=backend),
        views.marginal_effects_figure(run.trials, metric, params, backend=backend),
        views.importance_figure(parameter_importance(run.trials, metric, params), backend=backend),
        views.time_vs_loss(run.trials, metric, color="config/lr", backend=backend),
        views.batch_size_vs_throughput(
            run.trials, run.batch_column, "tokens_per_s", backend=backend
        ),
        views.pareto_figure(run.trials, "time_total_s", metric, backend=backend),
        views.stage_comparison(run.trials, metric, backend=backend),
    ]


def test_plotly_figures_render_to_html(run) -> None:
    for fig in _all_figures(run, "plotly"):
        assert isinstance(fig, go.Figure) and fig.data
        html = views.figure_to_html(fig, include_plotlyjs=False)
        assert "Plotly.newPlot" in html


def test_matplotlib_figures_render_to_png(run) -> None:
    for fig in _all_figures(run, "matplotlib"):
        assert isinstance(fig, MplFigure)
        png = views.figure_to_png(fig, dpi=40)
        assert png.startswith(b"\x89PNG") and len(png) > 2000


def test_unknown_backend_and_columns(run) -> None:
    with pytest.raises(ValueError, match="backend must be one of plotly, matplotlib"):
        views.learning_curves(run.metrics, run.trials, "val_loss", backend="bokeh")
    with pytest.raises(ValueError, match="unknown metric 'loss'"):
        views.learning_curves(run.metrics, run.trials, "loss")


def test_learning_curves_mark_diverged_runs_and_highlight_the_best(run) -> None:
    fig = views.learning_curves(run.metrics, run.trials, "val_loss", highlight=3)
    names = [trace.name for trace in fig.data]
    n_diverged = int((run.trials["status"] == "DIVERGED").sum())
    assert n_diverged > 0 and f"diverged ({n_diverged})" in names
    best = run.trials.sort_values("val_loss")["trial_id"].head(3).tolist()
    assert names[-3:] == [f"#{i} {t}" for i, t in enumerate(best, start=1)]
    ends = next(t for t in fig.data if t.name == "diverged here")
    assert len(ends.x) == n_diverged  # one x per diverged run, at its last finite value


def test_downsampling_keeps_the_last_point() -> None:
    metrics = pd.DataFrame(
        {
            "trial_id": np.repeat(["a", "b"], [1000, 7]),
            "training_iteration": np.r_[np.arange(1, 1001), np.arange(1, 8)],
            "loss": np.r_[np.linspace(3, 1, 1000), np.ones(7)],
        }
    )
    small = views.downsample_curves(metrics, "loss", max_points=100)
    a = small[small["trial_id"] == "a"]
    assert len(a) <= 101 and a["training_iteration"].iloc[-1] == 1000
    assert a["training_iteration"].iloc[0] == 1
    assert len(small[small["trial_id"] == "b"]) == 7  # short curves untouched


def test_lr_stability_figure_marks_best_and_largest_stable(tmp_path: Path) -> None:
    synthesize_run(str(tmp_path / "lr"), 7, 10, lr_sweep=True, diverge_lr=2e-2)
    run = load_run(str(tmp_path / "lr"))
    stability = lr_stability(run.trials, run.lr_column, "val_loss")
    fig = views.lr_stability_figure(run.trials, run.lr_column, "val_loss")
    traces = {trace.name: trace for trace in fig.data}
    assert tuple(traces["best LR"].x) == (stability.best_lr,) * 2
    assert tuple(traces["largest stable LR"].x) == (stability.largest_stable_lr,) * 2
    diverged = run.trials.loc[run.trials["status"] == "DIVERGED", "config/lr"]
    assert sorted(traces["diverged"].x) == sorted(diverged)
    assert fig.layout.xaxis.type == "log"
    assert f"ratio {stability.ratio:.3g}" in fig.layout.title.text


def test_pareto_figure_draws_the_front(run) -> None:
    fig = views.pareto_figure(run.trials, "time_total_s", "val_loss")
    front = pareto_front(run.trials, "time_total_s", "val_loss")
    trace = next(t for t in fig.data if t.name == "front")
    assert list(trace.x) == front["time_total_s"].tolist()


@pytest.mark.parametrize("backend", ["plotly", "matplotlib"])
def test_figures_of_a_run_without_results_yet(run, backend: str) -> None:
    # Mid-run: every trial PENDING, no metric value yet; nothing may crash.
    trials = run.trials.assign(status="PENDING", val_loss=np.nan)
    empty = run.metrics.iloc[0:0]
    params = run.param_columns
    figures = [
        views.learning_curves(empty, trials, "val_loss", backend=backend),
        views.lr_stability_figure(trials, "config/lr", "val_loss", backend=backend),
        views.parallel_coordinates(trials, "val_loss", params, backend=backend),
        views.marginal_effects_figure(trials, "val_loss", params, backend=backend),
        views.time_vs_loss(trials, "val_loss", backend=backend),
        views.stage_comparison(trials, "val_loss", backend=backend),
        views.pareto_figure(trials, "time_total_s", "val_loss", backend=backend),
    ]
    for fig in figures:
        if backend == "plotly":
            assert "Plotly.newPlot" in views.figure_to_html(fig, include_plotlyjs=False)
        else:
            assert views.figure_to_png(fig, dpi=30).startswith(b"\x89PNG")
