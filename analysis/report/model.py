"""The report's content model: sections of text, tables and figures, renderer-neutral.

``sections.py`` fills it from a loaded run; ``markdown.py`` and ``html.py`` render it.
A figure carries both forms the renderers need: a plotly figure for the HTML report and
a function that draws the matplotlib version for the Markdown report's PNG.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

__all__ = ["Figure", "Report", "Section", "Table", "display_frame", "figure"]


@dataclass
class Table:
    """A table shown sortable in HTML and as a pipe table in Markdown."""

    frame: pd.DataFrame
    caption: str = ""
    max_rows: int | None = 50
    """Rows shown (the frame is already ranked); ``None`` shows all."""

    def shown(self) -> pd.DataFrame:
        """The rows that are rendered."""
        return self.frame if self.max_rows is None else self.frame.head(self.max_rows)


@dataclass
class Figure:
    """One plot: ``plotly`` for HTML, ``matplotlib`` (a zero-argument builder) for PNG."""

    key: str
    """File-name-safe identifier, e.g. ``learning_curves``."""
    title: str
    plotly: Any = None
    """A ``plotly.graph_objects.Figure``, or ``None`` when there is no interactive form."""
    matplotlib: Callable[[], Any] | None = None
    """Returns a ``matplotlib.figure.Figure``; called only when the PNG is written."""


@dataclass
class Section:
    """A titled part of the report."""

    key: str
    title: str
    text: list[str] = field(default_factory=list)
    """Paragraphs of plain text (inline ``code`` allowed)."""
    code: str | None = None
    """A preformatted block (e.g. the best configuration as YAML), shown after the text."""
    tables: list[Table] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)


@dataclass
class Report:
    """A whole report: a title, a few summary lines and the sections."""

    title: str
    summary: list[str]
    sections: list[Section]


def figure(key: str, title: str, builder: Callable[..., Any], *args: Any, **kwargs: Any) -> Figure:
    """A ``Figure`` from a library figure builder that takes ``backend=``: the plotly form
    now, the matplotlib form when the PNG is written."""
    return Figure(
        key,
        title,
        plotly=builder(*args, backend="plotly", **kwargs),
        matplotlib=lambda: builder(*args, backend="matplotlib", **kwargs),
    )


def display_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Columns renamed for reading (``config/lr`` -> ``lr``); values untouched."""
    renamed = {c: str(c).removeprefix("config/") for c in frame.columns}
    if len(set(renamed.values())) < len(renamed):  # a parameter named like a metric
        return frame
    return frame.rename(columns=renamed)
