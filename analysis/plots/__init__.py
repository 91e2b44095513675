"""Figure builders: each returns a plotly figure (``backend="plotly"``, interactive HTML)
or a matplotlib figure (``backend="matplotlib"``, PNG without kaleido)."""

from analysis.plots._common import BACKENDS, figure_to_html, figure_to_png
from analysis.plots.curves import downsample_curves, learning_curves
from analysis.plots.lr import lr_stability_figure
from analysis.plots.params import importance_figure, marginal_effects_figure, parallel_coordinates
from analysis.plots.structure import metric_vs_param
from analysis.plots.tradeoffs import (
    batch_size_vs_throughput,
    pareto_figure,
    stage_comparison,
    time_vs_loss,
)

__all__ = [
    "BACKENDS",
    "batch_size_vs_throughput",
    "downsample_curves",
    "figure_to_html",
    "figure_to_png",
    "importance_figure",
    "learning_curves",
    "lr_stability_figure",
    "marginal_effects_figure",
    "metric_vs_param",
    "parallel_coordinates",
    "pareto_figure",
    "stage_comparison",
    "time_vs_loss",
]
