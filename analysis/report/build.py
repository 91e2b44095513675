"""Build the report of a run: report.md (with PNGs next to it) and report.html."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from analysis.report.html import render_html
from analysis.report.markdown import render_markdown
from analysis.report.sections import build_sections

__all__ = ["build_report"]


def build_report(
    run: Any,
    out_dir: str | Path,
    metric: str | None = None,
    mode: str | None = None,
    timings: dict[str, float] | None = None,
) -> list[Path]:
    """Write ``out_dir/report.md`` (+ ``*.png``) and ``out_dir/report.html`` for ``run``
    (an ``analysis.load.SweepRun``); returns the two report paths.

    ``metric``/``mode`` override the spec's. ``timings``, when given, receives the
    seconds spent per step (``sections``, ``markdown``, ``html``) for the benchmark.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    clock = timings if timings is not None else {}
    start = time.perf_counter()
    report = build_sections(run, metric or run.metric, mode or run.mode or "min")
    clock["sections"] = time.perf_counter() - start

    start = time.perf_counter()
    md_path = out / "report.md"
    md_path.write_text(render_markdown(report, out), encoding="utf-8")
    clock["markdown"] = time.perf_counter() - start

    start = time.perf_counter()
    html_path = out / "report.html"
    html_path.write_text(render_html(report), encoding="utf-8")
    clock["html"] = time.perf_counter() - start
    return [md_path, html_path]
