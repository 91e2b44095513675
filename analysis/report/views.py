"""The report's optional views: each returns a ``Section`` when it fits the sweep, else
``None``. ``OPTIONAL_VIEWS`` lists them in report order."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from analysis.report.model import Figure, Section, Table, display_frame, figure
from analysis.report.views_answers import per_parameter_answers
from analysis.report.views_structure import lr_vs_structure, structure
from tune_jobs.names import TIME_TO_TARGET

__all__ = ["OPTIONAL_VIEWS", "importance_figures"]

_THROUGHPUT = ("tokens_per_s", "samples_per_s", "throughput", "examples_per_s", "images_per_s")
_SIZE = (
    "n_params",
    "num_params",
    "params",
    "param_count",
    "parameters",
    "n_parameters",
    "num_parameters",
    "model_params",
)
_MAX_MARGINAL = 6


def importance_figures(run: Any, metric: str, mode: str, table: pd.DataFrame) -> list[Figure]:
    """The importance bars and the marginal effects of the most important parameters."""
    from analysis.plots.params import importance_figure, marginal_effects_figure

    top = [p for p in table["param"] if p in run.param_columns][:_MAX_MARGINAL]
    figures = [figure("importance", "Parameter importance", importance_figure, table)]
    if top:
        figures.append(
            figure(
                "marginal_effects",
                "Marginal effects",
                marginal_effects_figure,
                run.trials,
                metric,
                top,
            )
        )
    return figures


def _lr_stability(run: Any, metric: str, mode: str) -> Section | None:
    from analysis.plots.lr import lr_stability_figure
    from analysis.stability import lr_stability

    if not run.is_lr_sweep:
        return None
    column = run.lr_column
    result = lr_stability(run.trials, column, metric, mode)
    section = Section("lr_stability", "Learning-rate stability")
    if result.best_lr is None:
        section.text.append("No learning rate is stable yet (every run diverged or none ended).")
    else:
        section.text.append(
            f"Best LR **{result.best_lr:.3g}** (median final `{metric}` "
            f"{_best_final(result):.6g}); largest stable LR **{result.largest_stable_lr:.3g}**; "
            f"ratio {result.ratio:.3g}x. An LR is stable when none of its runs diverged."
        )
    section.tables.append(Table(result.table, max_rows=None))
    section.figures.append(
        figure(
            "lr_stability",
            "Final metric vs learning rate",
            lr_stability_figure,
            run.trials,
            column,
            metric,
            mode=mode,
            stability=result,
        )
    )
    return section


def _best_final(result: Any) -> float:
    row = result.table[result.table["lr"] == result.best_lr]
    return float(row["final"].iloc[0]) if not row.empty else float("nan")


def _repeats(run: Any, metric: str, mode: str) -> Section | None:
    from analysis.ranking import aggregate_repeats

    if not run.has_repeats:
        return None
    table = aggregate_repeats(run.trials, metric, mode)
    keep = ["rank", "config_id", "n", "n_valid", "n_failed", "median", "q25", "q75", "iqr"]
    keep += ["ci_low", "ci_high", *[p for p in run.param_columns if p in table]]
    section = Section("repeats", "Repeats aggregated per configuration")
    section.text.append(
        f"Final `{metric}` over each configuration's repeats: median, interquartile range "
        "and a 95 % bootstrap confidence interval of the median (valid repeats only)."
    )
    section.tables.append(Table(display_frame(table[[c for c in keep if c in table]])))
    return section


def _time_to_target(run: Any, metric: str, mode: str) -> Section | None:
    from analysis.ranking import time_to_target_ranking

    if not run.has_time_to_target or TIME_TO_TARGET not in run.trials:
        return None
    target = run.target
    kwargs: dict[str, Any] = {}
    if target is not None:
        kwargs = {"target_metric": target[0] or None, "target": target[1]}
        kwargs["target_mode"] = target[2]
    ranked = time_to_target_ranking(run.trials, metrics=run.metrics, **kwargs)
    keep = ["rank", "trial_id", "status", TIME_TO_TARGET, "censored", "gap"]
    keep += [c for c in ("iterations_to_target", "best_target_value") if c in ranked]
    keep += [p for p in run.param_columns if p in ranked]
    reached = int((~ranked["censored"]).sum())
    section = Section("time_to_target", "Time to target")
    what = f"`{target[0]}` {'<=' if target[2] == 'min' else '>='} {target[1]:g}" if target else ""
    section.text.append(
        f"{reached} of {len(ranked)} trials reached the target {what}; fastest first, then "
        "the censored trials (never reached it), closest to the target first."
    )
    section.tables.append(Table(display_frame(ranked[keep])))
    return section


def _parallel(run: Any, metric: str, mode: str) -> Section | None:
    from analysis.plots.params import parallel_coordinates

    params = run.param_columns
    if len(params) < 2:
        return None
    section = Section("parallel", "Parallel coordinates")
    section.text.append(f"Each valid trial through its parameters and final `{metric}`.")
    section.figures.append(
        figure(
            "parallel_coordinates",
            "Parallel coordinates",
            parallel_coordinates,
            run.trials,
            metric,
            params,
            mode=mode,
        )
    )
    return section


def _stages(run: Any, metric: str, mode: str) -> Section | None:
    from analysis.plots.tradeoffs import stage_comparison

    if not run.has_stages:
        return None
    trials = run.trials
    values = pd.to_numeric(trials[metric], errors="coerce").astype(float)
    grouped = values.groupby(trials["stage"].fillna(1).astype(int))
    table = pd.DataFrame(
        {
            "trials": grouped.size(),
            "with value": grouped.count(),
            "best": grouped.min() if mode == "min" else grouped.max(),
            "median": grouped.median(),
        }
    ).rename_axis("stage")
    section = Section("stages", "Stage comparison")
    section.text.append(f"Final `{metric}` per stage (each stage refines the previous one).")
    section.tables.append(Table(table.reset_index(), max_rows=None))
    section.figures.append(
        figure("stage_comparison", "Stage comparison", stage_comparison, trials, metric, mode)
    )
    return section


def _time_vs_loss(run: Any, metric: str, mode: str) -> Section | None:
    from analysis.plots.tradeoffs import time_vs_loss

    trials = run.trials
    if not _finite_varies(trials, "time_total_s") or not _finite_varies(trials, metric):
        return None
    # A structure sweep colours by the cluster count the run found; else throughput or a parameter.
    clusters = (
        "n_clusters" in trials
        and pd.to_numeric(trials["n_clusters"], errors="coerce").notna().any()
    )
    color = (
        "n_clusters"
        if clusters
        else _first_present(trials, _THROUGHPUT)
        or next((p for p in run.param_columns if _finite_varies(trials, p)), None)
    )
    section = Section("time_vs_loss", "Training time vs final metric")
    shade = f", coloured by `{color.removeprefix('config/')}`" if color else ""
    section.text.append(f"Each trial's training time against its final `{metric}`{shade}.")
    section.figures.append(
        figure("time_vs_loss", "Time vs final metric", time_vs_loss, trials, metric, color=color)
    )
    return section


def _throughput(run: Any, metric: str, mode: str) -> Section | None:
    from analysis.plots.tradeoffs import batch_size_vs_throughput

    trials = run.trials
    throughput = _first_present(trials, _THROUGHPUT)
    batch = next((p for p in run.param_columns if "batch" in p.lower()), None)
    if throughput is None or batch is None or trials[batch].nunique() < 2:
        return None
    section = Section("throughput", "Batch size vs throughput")
    section.text.append(f"`{throughput}` of every trial against `{batch.removeprefix('config/')}`.")
    section.figures.append(
        figure(
            "batch_throughput",
            "Batch size vs throughput",
            batch_size_vs_throughput,
            trials,
            batch,
            throughput,
        )
    )
    return section


def _pareto(run: Any, metric: str, mode: str) -> Section | None:
    from analysis.pareto import pareto_front
    from analysis.plots.tradeoffs import pareto_figure

    trials = run.trials
    other = _first_present(trials, _SIZE) or "time_total_s"
    if other == metric or not _finite_varies(trials, other) or not _finite_varies(trials, metric):
        return None
    front = pareto_front(trials, other, metric, "min", mode)
    section = Section("pareto", f"Pareto front: {metric} vs {other}")
    section.text.append(
        f"The {len(front)} trials no other trial beats on both `{other}` (lower) and "
        f"`{metric}` ({mode})."
    )
    keep = ["trial_id", "status", other, metric, *run.param_columns]
    section.tables.append(Table(display_frame(front[list(dict.fromkeys(keep))])))
    section.figures.append(
        figure(
            "pareto",
            "Pareto front",
            pareto_figure,
            trials,
            other,
            metric,
            x_mode="min",
            y_mode=mode,
        )
    )
    return section


def _first_present(frame: pd.DataFrame, names: tuple[str, ...]) -> str | None:
    return next((n for n in names if _finite_varies(frame, n)), None)


def _finite_varies(frame: pd.DataFrame, column: str) -> bool:
    if column not in frame:
        return False
    values = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float)
    values = values[np.isfinite(values)]
    return len(values) >= 2 and np.ptp(values) > 0


OPTIONAL_VIEWS: list[Callable[[Any, str, str], Section | None]] = [
    _lr_stability,
    _stages,
    _repeats,
    _time_to_target,
    per_parameter_answers,
    structure,
    lr_vs_structure,
    _time_vs_loss,
    _throughput,
    _pareto,
    _parallel,
]
"""The views tried after the core sections, in report order."""
