"""The HTML report looked at in Debian's headless Chromium (driven by playwright)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

LRS = [1e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1]

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="needs /usr/bin/chromium")


@pytest.fixture(scope="module")
def report_html(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """report.html of a synthetic LR sweep (so the stability view is in it too)."""
    from analysis.load import load_run
    from analysis.report import build_report
    from analysis.synthetic import synthesize_run

    run_dir = tmp_path_factory.mktemp("browser") / "run"
    synthesize_run(str(run_dir), n_trials=12, n_results=40, seed=3, lrs=LRS)
    out = run_dir / "report"
    build_report(load_run(str(run_dir)), out)
    return out / "report.html"


def _column_texts(page, col: int) -> list[str]:
    return page.locator(
        f"table.sortable >> nth=0 >> tbody tr td:nth-child({col})"
    ).all_inner_texts()


def test_report_renders_in_headless_chromium(report_html: Path, tmp_path: Path) -> None:
    from PIL import Image
    from playwright.sync_api import sync_playwright

    errors: list[str] = []
    requests: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on(
                "request",
                lambda r: None if r.url.startswith(("file:", "data:")) else requests.append(r.url),
            )
            page.goto(report_html.as_uri(), wait_until="load")

            plots = page.locator("div.plot")
            n_plots = plots.count()
            assert n_plots >= 3
            page.wait_for_function(
                "n => document.querySelectorAll('div.plot .main-svg').length >= n", arg=n_plots
            )
            for i in range(n_plots):  # every plot div got plotly's svg with drawn traces
                plot = plots.nth(i)
                assert plot.locator("svg.main-svg").count() >= 1, plot.get_attribute("id")
                assert plot.locator("g.trace, g.barlayer .point, path.point").count() >= 1

            # Sorting: click the metric header of the leaderboard, twice.
            table = page.locator("table.sortable").first
            headers = table.locator("thead th").all_inner_texts()
            col = headers.index("val_loss") + 1
            table.locator("thead th").nth(col - 1).click()
            asc = [float(v) for v in _column_texts(page, col) if v]
            assert asc == sorted(asc) and len(asc) >= 2
            table.locator("thead th").nth(col - 1).click()
            desc = [float(v) for v in _column_texts(page, col) if v]
            assert desc == sorted(desc, reverse=True)
            id_col = headers.index("trial_id") + 1
            table.locator("thead th").nth(id_col - 1).click()  # a text column sorts too
            ids = _column_texts(page, id_col)
            assert ids == sorted(ids)

            shot = page.locator("#plot-learning_curves").screenshot()
            page.screenshot(path=str(tmp_path / "page.png"), full_page=True)
        finally:
            browser.close()

    assert errors == []
    assert requests == []  # self-contained: nothing fetched
    pixels = np.asarray(Image.open(io.BytesIO(shot)).convert("L"), dtype=float)
    assert pixels.shape[0] > 100 and pixels.shape[1] > 300
    assert pixels.std() > 10  # not a blank area
    assert (pixels < 200).mean() > 0.01  # there are drawn (dark) pixels
