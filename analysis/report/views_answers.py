"""The report's per-parameter answers: for every categorical or grid parameter (and every
one-factor variant parameter), the median final metric per value and one sentence naming
the value that wins (e.g. "which orthogonaliser reaches the target fastest?")."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from analysis.answers import answer, categorical_params, per_value
from analysis.report.model import Section, Table, display_frame
from tune_jobs.names import TIME_TO_TARGET

__all__ = ["answer_params", "one_factor_rows", "per_parameter_answers"]


def one_factor_rows(run: Any, param: str) -> pd.DataFrame | None:
    """The trials that differ from the ``reference`` variant in ``param`` at most (the
    reference, its re-runs with other seeds, and the one-factor variants of ``param``);
    ``None`` when the run has no reference trial."""
    trials = run.trials
    if "variant" not in trials:
        return None
    reference = trials[trials["variant"] == "reference"]
    if reference.empty:
        return None
    base = reference.iloc[0]
    keep = pd.Series(True, index=trials.index)
    for column in run.param_columns:
        if column != param:
            keep &= trials[column].astype(str) == str(base[column])
    return trials[keep]


def answer_params(run: Any) -> list[tuple[str, pd.DataFrame, str]]:
    """``(param, rows, scope)`` per parameter to answer for: the spec's ``choice``/``grid``
    parameters over all trials, then the ``variants.one_factor`` parameters over the
    reference and that parameter's one-factor runs."""
    out = [(p, run.trials, "all runs") for p in categorical_params(run.spec, run.param_columns)]
    variants = run.spec.get("variants") or {}
    one_factor = variants.get("one_factor") if isinstance(variants, dict) else None
    for key in one_factor or {}:
        column = f"config/{key}"
        if column in run.param_columns and column not in {p for p, _, _ in out}:
            rows = one_factor_rows(run, column)
            if rows is not None:
                out.append((column, rows, "the reference and its one-factor runs"))
    return out


def per_parameter_answers(run: Any, metric: str, mode: str) -> Section | None:
    """Which value of each categorical, grid or one-factor parameter wins on ``metric``."""
    lines, tables = [], []
    closest = _best_target(run) if metric == TIME_TO_TARGET else None
    for param, rows, scope in answer_params(run):
        if rows[param].dropna().astype(str).nunique() < 2:
            continue
        if metric not in rows and metric == TIME_TO_TARGET:
            rows = rows.assign(**{metric: float("nan")})  # nobody reached the target yet
        table = per_value(rows, metric, param, mode)
        if table.empty:
            continue
        line = answer(table, param, metric, mode)
        if closest is not None and not np.isfinite(table["median"].iloc[0]):
            column, series, target_mode = closest
            near = per_value(
                rows.assign(**{column: rows["trial_id"].map(series)}), column, param, target_mode
            )
            line += (
                " Closest to the target: "
                + answer(near, param, column, target_mode).split(": ", 1)[1]
            )
        lines.append(line if scope == "all runs" else f"{line} (Over {scope}.)")
        tables.append(table.assign(param=str(param).removeprefix("config/")))
    if not lines:
        return None
    section = Section("answers", "Per-parameter answers")
    if metric == TIME_TO_TARGET:
        how = (
            "median seconds to reach the target per value, over every run with that value "
            "(all stages and repeats); a run that never reached the target counts as not "
            "reached (infinite time), so a value reached in fewer than half its runs has "
            "no median time. `reached` / `not_reached` count them; crashed runs (`failed`) "
            "are left out."
        )
    else:
        how = (
            f"median final `{metric}` per value over the valid runs with that value (all "
            "stages and repeats); diverged and crashed runs are counted, not scored."
        )
    section.text.append(f"Which value wins, per parameter: {how}")
    section.text += lines
    frame = pd.concat(tables, ignore_index=True)
    frame = frame[["param", *[c for c in frame.columns if c != "param"]]]
    section.tables.append(Table(display_frame(frame), max_rows=None))
    return section


def _best_target(run: Any) -> tuple[str, pd.Series, str] | None:
    """``(column name, best target-metric value per trial_id, target mode)``: how close
    each trial came to the target, for answering when no value reaches it."""
    target = run.target
    metrics = run.metrics
    if not target or not target[0] or target[0] not in metrics or "trial_id" not in metrics:
        return None
    values = pd.to_numeric(metrics[target[0]], errors="coerce").astype(float)
    grouped = values.groupby(metrics["trial_id"])
    best = grouped.min() if target[2] == "min" else grouped.max()
    return f"best_{target[0]}", best, target[2]
