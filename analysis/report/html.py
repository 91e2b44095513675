"""Render a ``Report`` as one self-contained HTML file.

Everything the page needs is inside it: plotly's JavaScript is inlined once, each plot
is its figure JSON drawn by ``Plotly.newPlot``, and tables sort when a header is
clicked (a few lines of inline JavaScript). Nothing is fetched at view time.
"""

from __future__ import annotations

import html
import math
import re

import pandas as pd
import plotly.io as pio

from analysis.report.model import Figure, Report, Section, Table

__all__ = ["render_html"]

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1200px; color: #222; }
h1 { font-size: 1.6em; } h2 { border-bottom: 1px solid #ddd; padding-bottom: .2em; }
code { background: #f4f4f4; padding: 0 .2em; }
table.sortable { border-collapse: collapse; font-size: .85em; margin: .5em 0 1.5em; }
table.sortable th, table.sortable td { border: 1px solid #ddd; padding: .25em .5em; }
table.sortable th { background: #f0f0f0; cursor: pointer; user-select: none; }
table.sortable th[aria-sort=ascending]::after { content: " \\25B2"; }
table.sortable th[aria-sort=descending]::after { content: " \\25BC"; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.plot { width: 100%; height: 480px; margin-bottom: 1.5em; }
caption { caption-side: top; text-align: left; color: #555; padding: .2em 0; }
"""

# Click a header: sort the body rows by that column (numbers numerically, via data-v),
# toggling ascending/descending; empty cells always last.
_SORT_JS = """
document.querySelectorAll("table.sortable").forEach(function (table) {
  table.querySelectorAll("th").forEach(function (th, col) {
    th.addEventListener("click", function () {
      var asc = th.getAttribute("aria-sort") !== "ascending";
      table.querySelectorAll("th").forEach(function (h) { h.removeAttribute("aria-sort"); });
      th.setAttribute("aria-sort", asc ? "ascending" : "descending");
      var body = table.tBodies[0];
      var rows = Array.prototype.slice.call(body.rows);
      var key = function (row) {
        var cell = row.cells[col];
        var v = cell.getAttribute("data-v");
        return v === null ? cell.textContent : (v === "" ? null : parseFloat(v));
      };
      rows.sort(function (a, b) {
        var x = key(a), y = key(b);
        if (x === null || y === null) { return (x === null) - (y === null); }
        var c = (typeof x === "number" && typeof y === "number") ? x - y
          : String(x).localeCompare(String(y));
        return asc ? c : -c;
      });
      rows.forEach(function (row) { body.appendChild(row); });
    });
  });
});
"""


def render_html(report: Report) -> str:
    """The whole page as a string (UTF-8 when written)."""
    from plotly.offline import get_plotlyjs

    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{html.escape(report.title)}</title>",
        f"<style>{_STYLE}</style>",
        f"<script>{get_plotlyjs()}</script>",
        "</head><body>",
        f"<h1>{html.escape(report.title)}</h1>",
    ]
    parts += [f"<p>{_inline(line)}</p>" for line in report.summary]
    if len(report.sections) > 1:
        links = "".join(
            f'<li><a href="#{s.key}">{html.escape(s.title)}</a></li>' for s in report.sections
        )
        parts.append(f"<nav><ul>{links}</ul></nav>")
    for section in report.sections:
        parts.append(_section(section))
    parts.append(f"<script>{_SORT_JS}</script>")
    parts.append("</body></html>")
    return "\n".join(parts)


def _section(section: Section) -> str:
    out = [f'<section id="{section.key}"><h2>{html.escape(section.title)}</h2>']
    out += [f"<p>{_inline(p)}</p>" for p in section.text]
    if section.code:
        out.append(f"<pre><code>{html.escape(section.code)}</code></pre>")
    out += [_table(t) for t in section.tables]
    out += [_figure(f) for f in section.figures if f.plotly is not None]
    out.append("</section>")
    return "\n".join(out)


def _inline(text: str) -> str:
    """Escape, then render `code` spans and **bold**."""
    escaped = html.escape(text)
    escaped = re.sub(r"`([^`]+)`", r"<code>\1</code>", escaped)
    return re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", escaped)


def _table(table: Table) -> str:
    frame = table.shown()
    numeric = [pd.api.types.is_numeric_dtype(frame[c]) for c in frame.columns]
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    rows = []
    for values in frame.itertuples(index=False, name=None):
        cells = []
        for value, is_num in zip(values, numeric, strict=True):
            if is_num:
                raw = "" if _missing(value) else _sort_value(float(value))
                cells.append(f'<td class="num" data-v="{raw}">{_fmt(value)}</td>')
            else:
                cells.append(f"<td>{html.escape(_fmt(value))}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    caption = f"<caption>{_inline(table.caption)}</caption>" if table.caption else ""
    more = len(table.frame) - len(frame)
    note = f"<p>({more} more rows not shown)</p>" if more > 0 else ""
    body = "\n".join(rows)
    return (
        f'<table class="sortable">{caption}<thead><tr>{head}</tr></thead>'
        f"<tbody>\n{body}\n</tbody></table>{note}"
    )


def _figure(figure: Figure) -> str:
    div_id = f"plot-{figure.key}"
    payload = pio.to_json(figure.plotly, validate=False).replace("</", "<\\/")
    config = '{"responsive": true, "displaylogo": false}'
    return (
        f'<div class="plot" id="{div_id}" data-title="{html.escape(figure.title)}"></div>\n'
        f"<script>(function () {{ var f = {payload}; "
        f'Plotly.newPlot("{div_id}", f.data, f.layout, {config}); }})();</script>'
    )


def _sort_value(value: float) -> str:
    """``data-v`` text that JavaScript's ``parseFloat`` reads back."""
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return repr(value)


def _missing(value: object) -> bool:
    try:
        return value is None or bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _fmt(value: object) -> str:
    """Cell text: numbers to 6 significant digits, missing as empty."""
    if _missing(value):
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        return f"{value:.6g}" if math.isfinite(value) else str(value)
    return str(value)
