"""The learning-rate stability view: final metric vs LR (log x), diverged runs marked."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from analysis.plots._common import COLORS, check_backend, label, mpl_figure, plotly_figure
from analysis.stability import LRStability, diverged_mask, lr_stability

__all__ = ["lr_stability_figure"]


def lr_stability_figure(
    trials: pd.DataFrame,
    lr_column: str,
    metric: str,
    mode: str = "min",
    stability: LRStability | None = None,
    backend: str = "plotly",
):
    """Final ``metric`` of every run against its learning rate on a log x axis.

    Finite runs are dots, with the median per LR as a line; diverged runs are red ``x``
    markers on the top edge (their loss is NaN or meaningless); vertical lines mark the
    best LR and the largest stable LR, and the title gives their ratio (``lr_stability``
    defines them; pass ``stability`` to reuse a computed one).
    """
    check_backend(backend)
    stability = stability or lr_stability(trials, lr_column, metric, mode)
    lr = pd.to_numeric(trials[lr_column], errors="coerce").astype(float)
    value = pd.to_numeric(trials[metric], errors="coerce").astype(float)
    diverged = diverged_mask(trials, metric)
    finite = ~diverged & np.isfinite(value) & np.isfinite(lr)
    table = stability.table[stability.table["final"].notna()]
    top = float(value[finite].max()) if finite.any() else 1.0
    bottom = float(value[finite].min()) if finite.any() else 0.0
    ceiling = top + 0.08 * max(top - bottom, abs(top) * 0.05, 1e-9)
    title = f"{metric} vs {label(lr_column)}"
    if stability.ratio is not None:
        title += (
            f": best {stability.best_lr:.3g}, largest stable {stability.largest_stable_lr:.3g}"
            f" (ratio {stability.ratio:.3g})"
        )
    marks = [
        ("best LR", stability.best_lr, COLORS["best"]),
        ("largest stable LR", stability.largest_stable_lr, COLORS["stable"]),
    ]
    if backend == "plotly":
        fig = plotly_figure(title, label(lr_column), f"final {metric}")
        fig.add_trace(
            go.Scatter(
                x=lr[finite],
                y=value[finite],
                mode="markers",
                name="runs",
                marker={"color": "#1f77b4", "size": 8},
                text=trials.loc[finite, "trial_id"] if "trial_id" in trials else None,
            )
        )
        fig.add_trace(
            go.Scatter(
                x=table["lr"],
                y=table["final"],
                mode="lines",
                name="median",
                line={"color": "#1f77b4", "width": 1},
            )
        )
        if diverged.any():
            fig.add_trace(
                go.Scatter(
                    x=lr[diverged],
                    y=np.full(int(diverged.sum()), ceiling),
                    mode="markers",
                    name="diverged",
                    marker={"symbol": "x", "size": 11, "color": COLORS["diverged"]},
                )
            )
        for name, at, color in marks:
            if at is not None:
                fig.add_trace(
                    go.Scatter(
                        x=[at, at],
                        y=[bottom, ceiling],
                        mode="lines",
                        name=name,
                        line={"color": color, "dash": "dot"},
                    )
                )
        fig.update_xaxes(type="log")
        return fig
    fig, ax = mpl_figure()
    ax.scatter(lr[finite], value[finite], label="runs", zorder=3)
    ax.plot(table["lr"], table["final"], linewidth=1, label="median")
    if diverged.any():
        ax.scatter(
            lr[diverged],
            np.full(int(diverged.sum()), ceiling),
            marker="x",
            s=60,
            color=COLORS["diverged"],
            label="diverged",
            zorder=3,
        )
    for name, at, color in marks:
        if at is not None:
            ax.axvline(at, color=color, linestyle=":", label=f"{name} {at:.3g}")
    ax.set_xscale("log")
    ax.set(title=title, xlabel=label(lr_column), ylabel=f"final {metric}")
    ax.title.set_fontsize("medium")
    ax.legend(fontsize="small")
    return fig
