"""Figure builders (the report's views); implemented in ``analysis.plots``.

Every builder takes DataFrames (``trials``, ``metrics``) and a ``backend``:
``"plotly"`` returns a ``plotly.graph_objects.Figure`` (``figure_to_html`` for HTML),
``"matplotlib"`` a ``matplotlib.figure.Figure`` (``figure_to_png`` for PNG bytes).
"""

from analysis.plots import (
    BACKENDS,
    batch_size_vs_throughput,
    downsample_curves,
    figure_to_html,
    figure_to_png,
    importance_figure,
    learning_curves,
    lr_stability_figure,
    marginal_effects_figure,
    metric_vs_param,
    parallel_coordinates,
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
