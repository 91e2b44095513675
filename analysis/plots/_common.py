"""Shared pieces of the figure builders: backends, colours, output helpers."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from matplotlib.figure import Figure as MplFigure

__all__ = [
    "BACKENDS",
    "COLORS",
    "check_backend",
    "figure_to_html",
    "figure_to_png",
    "label",
    "mpl_figure",
    "plotly_figure",
    "use_log",
]

#: ``plotly`` (interactive, for HTML) or ``matplotlib`` (static, for PNG).
BACKENDS = ("plotly", "matplotlib")

COLORS = {
    "best": "#2ca02c",
    "stable": "#ff7f0e",
    "diverged": "#d62728",
    "other": "#b0b0b0",
    "front": "#1f77b4",
}


def check_backend(backend: str) -> str:
    """``backend`` if known, else ``ValueError``."""
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
    return backend


def label(column: str) -> str:
    """Axis label for a column: ``config/optimizer.lr`` -> ``optimizer.lr``."""
    return str(column).removeprefix("config/")


def use_log(values: pd.Series | np.ndarray) -> bool:
    """Whether positive values spanning more than two decades read better on a log axis."""
    values = pd.to_numeric(pd.Series(values), errors="coerce").dropna()
    return bool(len(values) and (values > 0).all() and values.max() / values.min() > 100)


def plotly_figure(title: str, x: str, y: str, **layout: Any) -> go.Figure:
    """An empty plotly figure with the house layout."""
    fig = go.Figure()
    fig.update_layout(
        title=title,
        xaxis_title=x,
        yaxis_title=y,
        template="plotly_white",
        height=450,
        legend={"itemsizing": "constant"},
        **layout,
    )
    return fig


def mpl_figure(ncols: int = 1, width: float = 7.0, height: float = 4.5) -> tuple[MplFigure, Any]:
    """A matplotlib figure (no pyplot: safe headless and in threads) and its axes."""
    fig = MplFigure(figsize=(width * ncols if ncols > 1 else width, height), layout="constrained")
    axes = fig.subplots(1, ncols, squeeze=False)[0]
    return fig, axes if ncols > 1 else axes[0]


def figure_to_html(fig: go.Figure, include_plotlyjs: bool | str = "cdn") -> str:
    """A plotly figure as an HTML ``<div>`` (``include_plotlyjs=True`` embeds plotly.js)."""
    return fig.to_html(full_html=False, include_plotlyjs=include_plotlyjs)


def figure_to_png(fig: MplFigure, dpi: int = 110) -> bytes:
    """A matplotlib figure as PNG bytes (no kaleido needed)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()
