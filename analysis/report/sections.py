"""Decide what the report of a run shows, and build those sections from the library.

Always: a summary, the leaderboard, the best configuration, parameter importance and
learning curves. The views that fit the sweep (``analysis.report.views``) follow: the
LR stability view for an LR sweep, the stage comparison for staged sweeps, repeats
aggregated with confidence intervals, the time-to-target ranking, per-parameter answers
(which value wins), the cluster-structure views, time vs loss, batch size vs
throughput, the Pareto front, parallel coordinates. Works on partial results (mid-run).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import sys
from collections.abc import Callable
from typing import Any

import pandas as pd

from analysis._checks import metric_columns
from analysis.export import best_config, spec_fragment
from analysis.ranking import best_trial, leaderboard
from analysis.report.model import Figure, Report, Section, Table, display_frame, figure
from tune_jobs.names import ACTIVE_STATUSES, TIME_TO_TARGET

__all__ = ["build_sections"]

_MAX_EXTRA_METRICS = 6
_CURVE_POINTS, _CURVE_TOTAL = 200, 40_000
_FOREST = {"n_estimators": 50, "n_repeats": 3}
_TIME_COLUMNS = ("training_iteration", "time_total_s", "time_this_iter_s")


def build_sections(run: Any, metric: str, mode: str) -> Report:
    """The report of ``run`` (an ``analysis.load.SweepRun``) ranked by ``metric``/``mode``."""
    from analysis.report import views

    if metric == TIME_TO_TARGET and not run.trials.empty and metric not in run.trials:
        # Nobody reached the target yet: every trial is censored, the views still apply.
        run = dataclasses.replace(run, trials=run.trials.assign(**{TIME_TO_TARGET: float("nan")}))
    trials = run.trials
    sections = [_leaderboard(run, metric, mode), _best(run, metric, mode)]
    if not trials.empty and metric in trials:
        sections.append(_importance(run, metric, mode))
        sections.append(_curves(run, metric, mode))
        for builder in views.OPTIONAL_VIEWS:
            section = _guarded(builder, run, metric, mode)
            if section is not None:
                sections.append(section)
    return Report(f"Sweep report: {run.name}", _summary(run, metric, mode), sections)


def _guarded(builder: Callable[..., Section | None], run: Any, metric: str, mode: str):
    """An optional view; one that cannot be built (odd partial data) is reported, not fatal."""
    try:
        return builder(run, metric, mode)
    except (ValueError, KeyError, TypeError, ZeroDivisionError) as err:
        name = builder.__name__.strip("_").replace("_", " ")
        print(f"tune-jobs report: skipped the {name} view: {err}", file=sys.stderr)
        return None


def _summary(run: Any, metric: str, mode: str) -> list[str]:
    trials = run.trials
    lines = [f"Run `{run.run_dir}`; ranked by `{metric}` ({mode})."]
    if trials.empty:
        lines.append("No trials recorded yet.")
        return lines
    counts = trials["status"].value_counts().sort_index()
    shown = ", ".join(f"{n} {s}" for s, n in counts.items())
    lines.append(f"{len(trials)} trials ({shown}); {len(run.metrics)} results.")
    if trials["status"].isin(ACTIVE_STATUSES).any():
        lines.append(
            "**The sweep is still running**: this report shows the results written so far."
        )
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines.append(f"Generated {stamp} by `tune-jobs report`.")
    return lines


def _leaderboard(run: Any, metric: str, mode: str) -> Section:
    section = Section("leaderboard", "Leaderboard")
    trials = run.trials
    if trials.empty or metric not in trials:
        section.text.append(f"No results for `{metric}` yet.")
        return section
    ranked = leaderboard(
        trials, metric, mode, params=run.param_columns, objective=run.objective(metric, mode)
    )
    front = ["rank", "trial_id", "status"]
    front += [c for c in ("variant", "stage", "repeat") if _informative(ranked, c)]
    extras = [c for c in metric_columns(trials) if c != metric and c not in front]
    extras = [
        c for c in extras if c not in ("training_iteration", "time_total_s", "time_this_iter_s")
    ]
    tail = [c for c in ("training_iteration", "time_total_s") if c in ranked]
    columns = [*front, metric, *run.param_columns, *extras[:_MAX_EXTRA_METRICS], *tail]
    table = display_frame(ranked[list(dict.fromkeys(columns))])
    n_valid = int(pd.to_numeric(trials[metric], errors="coerce").notna().sum())
    section.text.append(
        f"Trials by final `{metric}` ({mode}); {n_valid} of {len(trials)} have a value. "
        "Diverged and failed trials come after the valid ones, trials without a value last."
    )
    section.tables.append(Table(table, max_rows=100))
    return section


def _informative(frame: pd.DataFrame, column: str) -> bool:
    return column in frame and frame[column].astype(str).nunique(dropna=False) > 1


def _best(run: Any, metric: str, mode: str) -> Section:
    section = Section("best", "Best configuration")
    if run.trials.empty or metric not in run.trials:
        section.text.append("No results yet.")
        return section
    try:
        row = best_trial(run.trials, metric, mode, objective=run.objective(metric, mode))
    except ValueError as err:
        section.text.append(str(err).capitalize() + ".")
        return section
    where = f"trial `{row['trial_id']}` ({row.get('status')})"
    detail = f"`{metric}` = {float(row[metric]):.6g}"
    if pd.notna(row.get("training_iteration")):
        detail += f" at iteration {int(row['training_iteration'])}"
    if pd.notna(row.get("time_total_s")):
        detail += f", {float(row['time_total_s']):.1f} s of training"
    section.text.append(f"Best: {where}, {detail}. To re-run it (`tune-jobs best` prints this):")
    header = f"best of {run.run_dir}: trial {row['trial_id']}, {metric}={float(row[metric]):.6g}"
    section.code = spec_fragment(best_config(row), run.spec or {}, header)
    return section


def _importance(run: Any, metric: str, mode: str) -> Section:
    from analysis.importance import parameter_importance

    section = Section("importance", "Parameter importance")
    params = run.param_columns
    if not params:
        section.text.append("No searched parameter varies: nothing to rank.")
        return section
    table = parameter_importance(run.trials, metric, params=params, **_FOREST)
    if table.empty:
        section.text.append("Too few finished trials (need 3 with a valid value) to rank.")
        return section
    section.text.append(
        "Permutation importance of each searched parameter in a random forest fitted to "
        f"the final `{metric}` (shares of the total; valid trials only)."
    )
    shown = table.assign(param=table["param"].map(lambda c: str(c).removeprefix("config/")))
    section.tables.append(Table(shown, max_rows=None))
    section.figures += _importance_figures(run, metric, mode, table)
    return section


def _importance_figures(run: Any, metric: str, mode: str, table: pd.DataFrame) -> list[Figure]:
    from analysis.report import views

    return views.importance_figures(run, metric, mode, table)


def _curves(run: Any, metric: str, mode: str) -> Section:
    from analysis.plots.curves import downsample_curves, learning_curves

    section = Section("curves", "Learning curves")
    metrics = run.metrics
    note = ""
    target = run.target if metric == TIME_TO_TARGET else None
    if target and target[0] and target[0] in metrics:
        # Time to target has one value per trial: draw the metric compared with the target.
        metric, mode = target[0], target[2]
        note = f" They show `{metric}`, the metric compared with the target."
    if metrics.empty or metric not in metrics:
        section.text.append(f"No per-result values of `{metric}` yet.")
        return section
    section.text.append(
        "Per trial, by training iteration and by training time; the best trials "
        "highlighted, diverged runs dashed red with an x where they stopped." + note
    )
    # Downsample once per x axis (both backends reuse it): the benchmark's 1M rows.
    n = max(1, metrics["trial_id"].nunique())
    per_trial = max(10, min(_CURVE_POINTS, _CURVE_TOTAL // n))
    for x, key, title in (
        ("training_iteration", "learning_curves", "Learning curves by step"),
        ("time_total_s", "learning_curves_time", "Learning curves by time"),
    ):
        if x not in metrics:
            continue
        small = downsample_curves(metrics, metric, x, per_trial)
        section.figures.append(
            figure(key, title, learning_curves, small, run.trials, metric, x=x, mode=mode)
        )
    return section
