"""A final metric against one parameter (e.g. learning rate vs silhouette), coloured
by a third column (the cluster count), with the median per value."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from analysis._checks import check_columns
from analysis.plots._common import COLORS, check_backend, label, mpl_figure, plotly_figure
from analysis.stability import diverged_mask
from tune_jobs.names import ACTIVE_STATUSES

__all__ = ["metric_vs_param"]


def metric_vs_param(
    trials: pd.DataFrame,
    param: str,
    metric: str,
    color: str | None = None,
    log_x: bool | None = None,
    backend: str = "plotly",
):
    """Each trial's final ``metric`` against its ``param`` value, coloured by ``color``,
    with the median per value as a line. Trials that diverged or have no finite
    ``metric`` (e.g. no silhouette: weights went non-finite) are red ``x`` markers at 0.
    ``log_x`` (default: when the values are positive and span more than a decade)."""
    check_backend(backend)
    check_columns(trials, param, metric, *([color] if color else []))
    x = pd.to_numeric(trials[param], errors="coerce").astype(float)
    y = pd.to_numeric(trials[metric], errors="coerce").astype(float)
    bad = np.isfinite(x) & (diverged_mask(trials, metric) | ~np.isfinite(y))
    if "status" in trials:  # a running trial without a value yet is not a failure
        bad &= ~(trials["status"].isin(ACTIVE_STATUSES) & y.isna())
    ok = np.isfinite(x) & np.isfinite(y) & ~bad
    median = y[ok].groupby(x[ok]).median()
    positive = x[np.isfinite(x)]
    if log_x is None:
        log_x = bool(
            len(positive) and (positive > 0).all() and positive.max() / positive.min() > 10
        )
    title = f"{label(param)} vs final {metric}"
    shade = pd.to_numeric(trials[color], errors="coerce").astype(float) if color else None
    if backend == "plotly":
        fig = plotly_figure(title, label(param), metric)
        marker: dict = {"size": 10}
        if shade is not None:
            marker |= {
                "color": shade[ok],
                "colorscale": "Viridis",
                "showscale": True,
                "colorbar": {"title": label(color)},
            }
        fig.add_trace(
            go.Scatter(
                x=x[ok],
                y=y[ok],
                mode="markers",
                name="trials",
                marker=marker,
                text=trials.loc[ok, "trial_id"] if "trial_id" in trials else None,
            )
        )
        fig.add_trace(go.Scatter(x=median.index, y=median.to_numpy(), mode="lines", name="median"))
        if bad.any():
            fig.add_trace(
                go.Scatter(
                    x=x[bad],
                    y=np.zeros(int(bad.sum())),
                    mode="markers",
                    name=f"diverged / no {metric}",
                    marker={"symbol": "x", "size": 10, "color": COLORS["diverged"]},
                )
            )
        if log_x:
            fig.update_xaxes(type="log")
        return fig
    fig, ax = mpl_figure()
    if shade is None:
        ax.scatter(x[ok], y[ok], s=40, label="trials")
    else:
        points = ax.scatter(x[ok], y[ok], s=40, c=shade[ok], cmap="viridis", label="trials")
        fig.colorbar(points, ax=ax, label=label(color))
    ax.plot(median.index, median.to_numpy(), color="#555", label="median")
    if bad.any():
        ax.scatter(
            x[bad],
            np.zeros(int(bad.sum())),
            marker="x",
            s=50,
            color=COLORS["diverged"],
            label=f"diverged / no {metric}",
        )
    if log_x:
        ax.set_xscale("log")
    ax.set(title=title, xlabel=label(param), ylabel=metric)
    ax.legend(fontsize="small")
    return fig
