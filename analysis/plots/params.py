"""Parameter views: importance bars, marginal effects, parallel coordinates."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from matplotlib.collections import LineCollection
from plotly.subplots import make_subplots

from analysis.importance import marginal_effects, valid_rows
from analysis.plots._common import check_backend, label, mpl_figure, plotly_figure, use_log

__all__ = ["importance_figure", "marginal_effects_figure", "parallel_coordinates"]


def _categorical(values: pd.Series) -> bool:
    return not pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values)


def importance_figure(importance: pd.DataFrame, backend: str = "plotly"):
    """Horizontal bars of ``parameter_importance``'s result, most important on top."""
    check_backend(backend)
    frame = importance.iloc[::-1]
    names = [label(p) for p in frame["param"]]
    if backend == "plotly":
        fig = plotly_figure("parameter importance", "share of importance", "")
        fig.add_trace(
            go.Bar(
                x=frame["importance"],
                y=names,
                orientation="h",
                error_x={"type": "data", "array": frame["std"]},
            )
        )
        return fig
    fig, ax = mpl_figure(height=max(2.5, 0.45 * len(frame) + 1))
    ax.barh(names, frame["importance"], xerr=frame["std"])
    ax.set(title="parameter importance", xlabel="share of importance")
    return fig


def marginal_effects_figure(
    trials: pd.DataFrame, metric: str, params: list[str], backend: str = "plotly"
):
    """One panel per parameter: every valid trial as a dot, the median per value or bin
    as a line with its interquartile band (``marginal_effects``)."""
    check_backend(backend)
    rows = valid_rows(trials, metric) if not trials.empty else trials
    effects = {p: marginal_effects(trials, metric, p) for p in params}
    n = max(1, len(params))
    if backend == "plotly":
        fig = make_subplots(rows=1, cols=n, subplot_titles=[label(p) for p in params])
        for i, param in enumerate(params, start=1):
            effect = effects[param]
            x = effect["value"].astype(str) if _categorical(effect["value"]) else effect["value"]
            points = rows[param].astype(str) if _categorical(rows[param]) else rows[param]
            fig.add_trace(
                go.Scatter(
                    x=points,
                    y=rows[metric],
                    mode="markers",
                    opacity=0.4,
                    marker={"color": "#999", "size": 5},
                    showlegend=False,
                ),
                row=1,
                col=i,
            )
            fig.add_trace(
                go.Scatter(
                    x=x,
                    y=effect["q75"],
                    mode="lines",
                    line={"width": 0},
                    showlegend=False,
                    hoverinfo="skip",
                ),
                row=1,
                col=i,
            )
            fig.add_trace(
                go.Scatter(
                    x=x,
                    y=effect["q25"],
                    mode="lines",
                    line={"width": 0},
                    fill="tonexty",
                    fillcolor="rgba(31,119,180,0.2)",
                    showlegend=False,
                    hoverinfo="skip",
                ),
                row=1,
                col=i,
            )
            fig.add_trace(
                go.Scatter(
                    x=x,
                    y=effect["median"],
                    mode="lines+markers",
                    line={"color": "#1f77b4"},
                    name="median",
                    showlegend=i == 1,
                ),
                row=1,
                col=i,
            )
            if use_log(rows[param]):
                fig.update_xaxes(type="log", row=1, col=i)
        fig.update_yaxes(title_text=metric, row=1, col=1)
        fig.update_layout(
            title=f"marginal effect on {metric}",
            template="plotly_white",
            height=400,
            width=max(500, 320 * n),
        )
        return fig
    fig, axes = mpl_figure(ncols=n, width=3.6, height=3.4)
    axes = np.atleast_1d(axes)
    for ax, param in zip(axes, params, strict=False):
        effect = effects[param]
        if effect.empty:  # no valid trial yet
            ax.set(title=label(param))
            continue
        categorical = _categorical(effect["value"])
        x = effect["value"].astype(str) if categorical else effect["value"]
        points = rows[param].astype(str) if categorical else rows[param]
        ax.scatter(points, rows[metric], s=8, color="#999", alpha=0.5)
        ax.fill_between(x, effect["q25"], effect["q75"], alpha=0.2)
        ax.plot(x, effect["median"], marker="o")
        if not categorical and use_log(rows[param]):
            ax.set_xscale("log")
        ax.set(title=label(param), ylabel=metric if ax is axes[0] else None)
    fig.suptitle(f"marginal effect on {metric}")
    return fig


def parallel_coordinates(
    trials: pd.DataFrame,
    metric: str,
    params: list[str],
    mode: str = "min",
    backend: str = "plotly",
):
    """One line per valid trial through its parameter values and ``metric``, coloured by
    the metric (dark = best). Categorical axes show their values; numeric parameters
    spanning more than two decades are on a log10 axis."""
    check_backend(backend)
    rows = valid_rows(trials, metric) if not trials.empty else trials
    # Worst first, so the best lines are drawn on top.
    rows = rows.sort_values(metric, ascending=mode != "min", kind="stable")
    dims = []
    for param in params:
        values = rows[param]
        if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
            logged = use_log(values)
            dims.append(
                {
                    "label": f"log10 {label(param)}" if logged else label(param),
                    "values": np.log10(values.astype(float)) if logged else values.astype(float),
                }
            )
        else:
            codes, uniques = pd.factorize(values.astype(str), sort=True)
            dims.append(
                {
                    "label": label(param),
                    "values": codes.astype(float),
                    "tickvals": list(range(len(uniques))),
                    "ticktext": list(uniques),
                }
            )
    metric_values = rows[metric].astype(float) if not rows.empty else pd.Series(dtype=float)
    dims.append({"label": metric, "values": metric_values})
    scale = "Viridis" if mode == "min" else "Viridis_r"
    if backend == "plotly":
        fig = go.Figure(
            go.Parcoords(
                line={
                    "color": metric_values,
                    "colorscale": scale,
                    "showscale": True,
                    "colorbar": {"title": metric},
                },
                dimensions=dims,
            )
        )
        fig.update_layout(title=f"parallel coordinates ({len(rows)} trials)", height=450)
        return fig
    fig, ax = mpl_figure(width=max(6.0, 1.6 * len(dims)))
    matrix = (
        np.column_stack([np.asarray(d["values"], dtype=float) for d in dims])
        if len(rows)
        else np.empty((0, len(dims)))
    )
    low, high = (
        np.nanmin(matrix, axis=0, initial=np.inf),
        np.nanmax(matrix, axis=0, initial=-np.inf),
    )
    span = np.where(high > low, high - low, 1.0)
    scaled = (matrix - low) / span
    xs = np.arange(len(dims))
    lines = LineCollection(
        [np.column_stack([xs, row]) for row in scaled],
        cmap="viridis" if mode == "min" else "viridis_r",
        linewidths=0.8,
    )
    lines.set_array(metric_values.to_numpy())
    ax.add_collection(lines)
    fig.colorbar(lines, ax=ax, label=metric)
    ax.set_xticks(xs, [d["label"] for d in dims], rotation=20)
    ax.set_xlim(-0.1, len(dims) - 0.9)
    ax.set_ylim(-0.05, 1.05)
    ax.set_yticks([])
    for x, d, lo, hi in zip(xs, dims, low, high, strict=True):
        ax.axvline(x, color="black", linewidth=0.6)
        if "ticktext" in d:
            for code, text in zip(d["tickvals"], d["ticktext"], strict=True):
                ax.text(x, (code - lo) / (hi - lo if hi > lo else 1.0), f" {text}", fontsize=7)
        elif np.isfinite(lo):
            ax.text(x, -0.04, f"{lo:.3g}", fontsize=7, ha="center", va="top")
            ax.text(x, 1.04, f"{hi:.3g}", fontsize=7, ha="center", va="bottom")
    ax.set_title(f"parallel coordinates ({len(rows)} trials)")
    return fig
