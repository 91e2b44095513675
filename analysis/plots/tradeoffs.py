"""Trade-off views: time vs loss, batch size vs throughput, the
Pareto front of two metrics and stage 1 vs stage 2."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from analysis._checks import check_columns, check_mode
from analysis.pareto import pareto_front
from analysis.plots._common import COLORS, check_backend, label, mpl_figure, plotly_figure, use_log
from analysis.stability import diverged_mask
from tune_jobs.names import ERROR

__all__ = ["batch_size_vs_throughput", "pareto_figure", "stage_comparison", "time_vs_loss"]


def _numeric(frame: pd.DataFrame, column: str) -> pd.Series:
    return pd.to_numeric(frame[column], errors="coerce").astype(float)


def time_vs_loss(
    trials: pd.DataFrame,
    metric: str,
    color: str | None = None,
    time: str = "time_total_s",
    backend: str = "plotly",
):
    """Each trial's training time against its final ``metric``, coloured by ``color``
    (a third metric or a parameter; log colour scale when it spans decades). Diverged
    trials with a finite value are red ``x`` markers."""
    check_backend(backend)
    check_columns(trials, time, metric, *([color] if color else []))
    diverged = diverged_mask(trials, metric)
    x, y = _numeric(trials, time), _numeric(trials, metric)
    ok = ~diverged & np.isfinite(x) & np.isfinite(y)
    bad = diverged & np.isfinite(x) & np.isfinite(y)
    shade = None
    if color:
        shade = _numeric(trials, color)
        if use_log(shade[ok]):
            shade, color = np.log10(shade), f"log10 {label(color)}"
        else:
            color = label(color)
    title = f"{label(time)} vs final {metric}"
    if backend == "plotly":
        fig = plotly_figure(title, label(time), metric)
        marker = {"size": 8}
        if shade is not None:
            marker |= {
                "color": shade[ok],
                "colorscale": "Viridis",
                "showscale": True,
                "colorbar": {"title": color},
            }
        fig.add_trace(
            go.Scatter(
                x=x[ok],
                y=y[ok],
                mode="markers",
                name="trials",
                marker=marker,
                text=trials.loc[ok, "trial_id"],
            )
        )
        if bad.any():
            fig.add_trace(
                go.Scatter(
                    x=x[bad],
                    y=y[bad],
                    mode="markers",
                    name="diverged",
                    marker={"symbol": "x", "color": COLORS["diverged"]},
                )
            )
        return fig
    fig, ax = mpl_figure()
    if shade is None:
        ax.scatter(x[ok], y[ok])
    else:
        points = ax.scatter(x[ok], y[ok], c=shade[ok], cmap="viridis")
        fig.colorbar(points, ax=ax, label=color)
    if bad.any():
        ax.scatter(x[bad], y[bad], marker="x", color=COLORS["diverged"], label="diverged")
        ax.legend(fontsize="small")
    ax.set(title=title, xlabel=label(time), ylabel=metric)
    return fig


def batch_size_vs_throughput(
    trials: pd.DataFrame, batch_column: str, throughput: str, backend: str = "plotly"
):
    """Throughput (e.g. ``tokens_per_s``) of every trial against its batch size, with the
    median per batch size as a line; errored trials (often out of memory) are red ``x``
    markers at zero throughput."""
    check_backend(backend)
    check_columns(trials, batch_column, throughput)
    batch, speed = _numeric(trials, batch_column), _numeric(trials, throughput)
    errored = (
        trials["status"].eq(ERROR) if "status" in trials else pd.Series(False, index=trials.index)
    )
    ok = ~errored & np.isfinite(batch) & np.isfinite(speed)
    median = speed[ok].groupby(batch[ok]).median()
    title = f"{label(batch_column)} vs {throughput}"
    if backend == "plotly":
        fig = plotly_figure(title, label(batch_column), throughput)
        fig.add_trace(
            go.Scatter(x=batch[ok], y=speed[ok], mode="markers", name="trials", opacity=0.6)
        )
        fig.add_trace(
            go.Scatter(x=median.index, y=median.to_numpy(), mode="lines+markers", name="median")
        )
        if errored.any():
            fig.add_trace(
                go.Scatter(
                    x=batch[errored],
                    y=np.zeros(int(errored.sum())),
                    mode="markers",
                    name="error (e.g. OOM)",
                    marker={"symbol": "x", "color": COLORS["diverged"]},
                )
            )
        if use_log(batch[ok]):
            fig.update_xaxes(type="log")
        return fig
    fig, ax = mpl_figure()
    ax.scatter(batch[ok], speed[ok], alpha=0.6, label="trials")
    ax.plot(median.index, median.to_numpy(), marker="o", label="median")
    if errored.any():
        ax.scatter(
            batch[errored],
            np.zeros(int(errored.sum())),
            marker="x",
            color=COLORS["diverged"],
            label="error (e.g. OOM)",
        )
    if use_log(batch[ok]):
        ax.set_xscale("log")
    ax.set(title=title, xlabel=label(batch_column), ylabel=throughput)
    ax.legend(fontsize="small")
    return fig


def pareto_figure(
    frame: pd.DataFrame,
    x: str,
    y: str,
    x_mode: str = "min",
    y_mode: str = "min",
    backend: str = "plotly",
):
    """All rows as grey dots, the Pareto front (``pareto_front``) highlighted and joined
    by a step line."""
    check_backend(backend)
    front = pareto_front(frame, x, y, x_mode, y_mode)
    xs, ys = _numeric(frame, x), _numeric(frame, y)
    title = f"Pareto front: {label(x)} ({x_mode}) vs {label(y)} ({y_mode}), {len(front)} points"
    if backend == "plotly":
        fig = plotly_figure(title, label(x), label(y))
        fig.add_trace(
            go.Scatter(
                x=xs,
                y=ys,
                mode="markers",
                name="trials",
                marker={"color": COLORS["other"]},
                text=frame.get("trial_id"),
            )
        )
        fig.add_trace(
            go.Scatter(
                x=front[x],
                y=front[y],
                mode="lines+markers",
                name="front",
                line={"shape": "hv", "color": COLORS["front"]},
                marker={"size": 9},
                text=front.get("trial_id"),
            )
        )
        return fig
    fig, ax = mpl_figure()
    ax.scatter(xs, ys, color=COLORS["other"], label="trials")
    ax.step(front[x], front[y], where="post", marker="o", color=COLORS["front"], label="front")
    ax.set(title=title, xlabel=label(x), ylabel=label(y))
    ax.title.set_fontsize("medium")
    ax.legend(fontsize="small")
    return fig


def stage_comparison(trials: pd.DataFrame, metric: str, mode: str = "min", backend: str = "plotly"):
    """The distribution of the final ``metric`` per stage (box with every trial shown),
    so a refined stage 2 can be compared with stage 1; the best of each stage is starred."""
    check_backend(backend)
    check_mode(mode)
    check_columns(trials, "stage", metric)
    values = _numeric(trials, metric)
    stage = trials["stage"].fillna(1).astype(int)
    ok = np.isfinite(values) & ~diverged_mask(trials, metric)
    stages = sorted(stage.unique())
    best = (
        values[ok].groupby(stage[ok]).min()
        if mode == "min"
        else values[ok].groupby(stage[ok]).max()
    )
    title = f"final {metric} by stage"
    if backend == "plotly":
        fig = plotly_figure(title, "stage", metric)
        for s in stages:
            pick = ok & (stage == s)
            fig.add_trace(
                go.Box(
                    y=values[pick],
                    name=f"stage {s} ({int(pick.sum())})",
                    boxpoints="all",
                    jitter=0.4,
                    pointpos=0,
                )
            )
        fig.add_trace(
            go.Scatter(
                x=[f"stage {s} ({int((ok & (stage == s)).sum())})" for s in best.index],
                y=best.to_numpy(),
                mode="markers",
                name="best",
                marker={"symbol": "star", "size": 14, "color": COLORS["best"]},
            )
        )
        return fig
    fig, ax = mpl_figure()
    data = [values[ok & (stage == s)].to_numpy() for s in stages]
    ax.boxplot(data, tick_labels=[f"stage {s}" for s in stages])
    for i, column in enumerate(data, start=1):
        jitter = np.random.default_rng(i).uniform(-0.12, 0.12, len(column))
        ax.scatter(i + jitter, column, s=10, alpha=0.5)
    ax.scatter(
        [stages.index(s) + 1 for s in best.index],
        best.to_numpy(),
        marker="*",
        s=180,
        color=COLORS["best"],
        label="best",
        zorder=3,
    )
    ax.set(title=title, ylabel=metric)
    ax.legend(fontsize="small")
    return fig
