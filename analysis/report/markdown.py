"""Render a ``Report`` as Markdown, writing each figure as a PNG next to it."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from analysis.report.model import Figure, Report, Table

__all__ = ["markdown_table", "render_markdown"]


def render_markdown(report: Report, out_dir: Path, dpi: int = 80) -> str:
    """The Markdown text; figures are drawn with matplotlib into ``out_dir/<key>.png``."""
    lines = [f"# {report.title}", ""]
    for line in report.summary:
        lines += [line, ""]
    for section in report.sections:
        lines += [f"## {section.title}", ""]
        for paragraph in section.text:
            lines += [paragraph, ""]
        if section.code:
            lines += ["```yaml", section.code.rstrip("\n"), "```", ""]
        for table in section.tables:
            lines += [*markdown_table(table), ""]
        for figure in section.figures:
            name = _write_png(figure, out_dir, dpi)
            if name:
                lines += [f"![{figure.title}]({name})", ""]
    return "\n".join(lines)


def markdown_table(table: Table) -> list[str]:
    """A GitHub pipe table (with its caption and a note on rows left out)."""
    frame = table.shown()
    out = [f"*{table.caption}*", ""] if table.caption else []
    header = [_cell(str(c)) for c in frame.columns]
    numeric = [pd.api.types.is_numeric_dtype(frame[c]) for c in frame.columns]
    out.append("| " + " | ".join(header) + " |")
    out.append("|" + "|".join("---:" if n else "---" for n in numeric) + "|")
    for values in frame.itertuples(index=False, name=None):
        out.append("| " + " | ".join(_cell(_fmt(v)) for v in values) + " |")
    more = len(table.frame) - len(frame)
    if more > 0:
        out += ["", f"({more} more rows not shown)"]
    return out


def _write_png(figure: Figure, out_dir: Path, dpi: int) -> str | None:
    if figure.matplotlib is None:
        return None
    fig = figure.matplotlib()
    if fig is None:
        return None
    name = f"{figure.key}.png"
    fig.savefig(out_dir / name, dpi=dpi)
    return name


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _fmt(value: object) -> str:
    try:
        if value is None or pd.isna(value):
            return ""
    except (TypeError, ValueError):
        pass
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        return f"{value:.6g}" if math.isfinite(value) else str(value)
    return str(value)
