"""The notebooks run headless (papermill, the ``parameters`` cell) on real and synthetic runs."""

from __future__ import annotations

from pathlib import Path

import nbformat
import papermill
import pytest

from analysis.synthetic import synthesize_run

NOTEBOOKS = Path(__file__).resolve().parents[2] / "analysis" / "notebooks"


def _execute(name: str, run_dir: str, tmp_path: Path) -> nbformat.NotebookNode:
    out = tmp_path / f"out-{name}"
    papermill.execute_notebook(
        str(NOTEBOOKS / name),
        str(out),
        parameters={"run_dir": run_dir},
        kernel_name="python3",
        progress_bar=False,
        cwd=str(NOTEBOOKS.parents[1]),
    )
    return nbformat.read(out, as_version=4)


def _outputs(book: nbformat.NotebookNode) -> tuple[str, int]:
    """All text output, and the number of plotly figures shown."""
    text, figures = [], 0
    for cell in book.cells:
        for output in cell.get("outputs", []):
            assert output["output_type"] != "error", output
            text.append(output.get("text", ""))
            text.append(output.get("data", {}).get("text/plain", ""))
            figures += "application/vnd.plotly.v1+json" in output.get("data", {})
    return "\n".join(text), figures


def test_notebooks_have_a_parameters_cell() -> None:
    for path in NOTEBOOKS.glob("*.ipynb"):
        book = nbformat.read(path, as_version=4)
        tagged = [c for c in book.cells if "parameters" in c.metadata.get("tags", [])]
        assert len(tagged) == 1 and "run_dir =" in tagged[0].source, path.name


def test_notebooks_on_synthetic_runs(tmp_path: Path) -> None:
    staged = tmp_path / "staged"
    synthesize_run(str(staged), 24, 20, repeats=2, stages=2, target=1.3)
    text, figures = _outputs(_execute("sweep_overview.ipynb", str(staged), tmp_path))
    assert "24 trials" in text and figures == 9  # throughput and stage views included
    assert "`width`: **" in text and "gives the lowest `val_loss`" in text  # which value wins
    lr = tmp_path / "lr"
    synthesize_run(str(lr), 7, 20, lr_sweep=True, best_lr=3e-3, diverge_lr=2e-2)
    text, figures = _outputs(_execute("lr_stability.ipynb", str(lr), tmp_path))
    assert "LR sweep: True" in text and figures == 3
    assert "largest stable LR: 0.01" in text


@pytest.mark.slow
def test_notebooks_on_real_smoke_runs(
    smoke_run_dir: str, lr_sweep_run_dir: str, tmp_path: Path
) -> None:
    text, figures = _outputs(_execute("sweep_overview.ipynb", smoke_run_dir, tmp_path))
    assert "demo: 2 trials" in text and figures >= 7
    text, figures = _outputs(_execute("lr_stability.ipynb", lr_sweep_run_dir, tmp_path))
    assert "LR sweep: True" in text and "best LR:" in text and figures == 3
