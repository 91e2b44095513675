"""Learning curves by step and by wall-clock time, diverged runs included and marked."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from matplotlib.collections import LineCollection

from analysis._checks import check_columns, check_metric, check_mode
from analysis.plots._common import COLORS, check_backend, label, mpl_figure, plotly_figure
from analysis.ranking import leaderboard
from analysis.stability import diverged_mask

__all__ = ["downsample_curves", "learning_curves"]

#: Points the "other trials" trace may hold in total (keeps HTML small and fast).
MAX_TOTAL_POINTS = 60_000


def downsample_curves(
    metrics: pd.DataFrame, y: str, x: str = "training_iteration", max_points: int = 200
) -> pd.DataFrame:
    """At most ``max_points`` rows per trial, evenly spaced, always keeping the last one.

    Rows with a NaN ``x`` are dropped; NaN ``y`` values are kept (gaps, divergence).
    """
    check_columns(metrics, "trial_id", x, y)
    frame = metrics[["trial_id", x, y]].dropna(subset=[x]).sort_values(["trial_id", x])
    position = frame.groupby("trial_id", sort=False).cumcount().to_numpy()
    size = frame.groupby("trial_id", sort=False)[x].transform("size").to_numpy()
    stride = np.maximum(1, np.ceil(size / max_points)).astype(int)
    keep = (position % stride == 0) | (position == size - 1)
    return frame[keep].reset_index(drop=True)


def _joined(frame: pd.DataFrame, x: str, y: str) -> tuple[np.ndarray, np.ndarray]:
    """All trials' points in one array pair, a NaN between trials (one plotly trace)."""
    if frame.empty:
        return np.array([]), np.array([])
    breaks = frame["trial_id"].ne(frame["trial_id"].shift()).to_numpy()
    xs = frame[x].to_numpy(dtype=float)
    ys = frame[y].to_numpy(dtype=float)
    where = np.flatnonzero(breaks)[1:]
    return np.insert(xs, where, np.nan), np.insert(ys, where, np.nan)


def learning_curves(
    metrics: pd.DataFrame,
    trials: pd.DataFrame,
    y: str,
    x: str = "training_iteration",
    mode: str = "min",
    highlight: int = 5,
    max_points: int = 200,
    log_y: bool = False,
    backend: str = "plotly",
):
    """``y`` against ``x`` (``training_iteration``, ``step`` or ``time_total_s``) per trial.

    The ``highlight`` best trials (by their final ``y``) get their own coloured line;
    the others share one grey trace; diverged trials are red and dashed with an ``x``
    at their last finite value. Curves are downsampled (``downsample_curves``) so a
    thousand trials of a thousand results stay fast. Returns a plotly or matplotlib
    figure (``backend``).
    """
    check_backend(backend)
    check_mode(mode)
    if not metrics.empty:
        check_columns(metrics, "trial_id", x)
        check_metric(metrics, y)
    n = max(1, metrics["trial_id"].nunique()) if not metrics.empty else 1
    per_trial = max(10, min(max_points, MAX_TOTAL_POINTS // n))
    curves = (
        downsample_curves(metrics, y, x, per_trial)
        if not metrics.empty
        else pd.DataFrame(columns=["trial_id", x, y])
    )
    diverged_ids = (
        set(trials.loc[diverged_mask(trials, y), "trial_id"]) if not trials.empty else set()
    )
    best_ids: list[str] = []
    if not trials.empty and y in trials:
        ranked = leaderboard(trials, y, mode)
        ranked = ranked[~ranked["trial_id"].isin(diverged_ids) & ranked[y].notna()]
        best_ids = ranked["trial_id"].head(highlight).tolist()
    groups = {
        "best": curves[curves["trial_id"].isin(best_ids)],
        "other": curves[~curves["trial_id"].isin(diverged_ids | set(best_ids))],
        "diverged": curves[curves["trial_id"].isin(diverged_ids)],
    }
    ends = groups["diverged"].dropna(subset=[y]).groupby("trial_id").tail(1)
    title = f"{y} by {label(x)}"
    if backend == "plotly":
        return _plotly(groups, ends, best_ids, x, y, title, log_y)
    return _matplotlib(groups, ends, best_ids, x, y, title, log_y)


def _plotly(groups, ends, best_ids, x, y, title, log_y) -> go.Figure:
    fig = plotly_figure(title, label(x), y)
    xs, ys = _joined(groups["other"], x, y)
    n_other = groups["other"]["trial_id"].nunique()
    if n_other:
        fig.add_trace(
            go.Scatter(
                x=xs,
                y=ys,
                mode="lines",
                name=f"other trials ({n_other})",
                line={"color": COLORS["other"], "width": 1},
                opacity=0.6,
                hoverinfo="skip",
            )
        )
    xs, ys = _joined(groups["diverged"], x, y)
    n_div = groups["diverged"]["trial_id"].nunique()
    if n_div:
        fig.add_trace(
            go.Scatter(
                x=xs,
                y=ys,
                mode="lines",
                name=f"diverged ({n_div})",
                line={"color": COLORS["diverged"], "width": 1, "dash": "dash"},
            )
        )
        fig.add_trace(
            go.Scatter(
                x=ends[x],
                y=ends[y],
                mode="markers",
                name="diverged here",
                marker={"symbol": "x", "size": 9, "color": COLORS["diverged"]},
                text=ends["trial_id"],
            )
        )
    for rank, trial_id in enumerate(best_ids, start=1):
        curve = groups["best"][groups["best"]["trial_id"] == trial_id]
        fig.add_trace(
            go.Scatter(
                x=curve[x],
                y=curve[y],
                mode="lines",
                name=f"#{rank} {trial_id}",
                line={"width": 2.5 if rank == 1 else 1.5},
            )
        )
    if log_y:
        fig.update_yaxes(type="log")
    return fig


def _segments(frame: pd.DataFrame, x: str, y: str) -> list[np.ndarray]:
    return [g[[x, y]].to_numpy(dtype=float) for _, g in frame.groupby("trial_id", sort=False)]


def _matplotlib(groups, ends, best_ids, x, y, title, log_y):
    fig, ax = mpl_figure()
    if not groups["other"].empty:
        ax.add_collection(
            LineCollection(
                _segments(groups["other"], x, y),
                colors=COLORS["other"],
                linewidths=0.8,
                alpha=0.6,
                label="other trials",
            )
        )
    if not groups["diverged"].empty:
        ax.add_collection(
            LineCollection(
                _segments(groups["diverged"], x, y),
                colors=COLORS["diverged"],
                linewidths=0.8,
                linestyles="dashed",
                label="diverged",
            )
        )
        ax.scatter(ends[x], ends[y], marker="x", color=COLORS["diverged"], zorder=3)
    for rank, trial_id in enumerate(best_ids, start=1):
        curve = groups["best"][groups["best"]["trial_id"] == trial_id]
        ax.plot(
            curve[x], curve[y], linewidth=2.2 if rank == 1 else 1.3, label=f"#{rank} {trial_id}"
        )
    ax.autoscale_view()
    if log_y:
        ax.set_yscale("log")
    ax.set(title=title, xlabel=label(x), ylabel=y)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize="small")
    return fig
