"""The report's structure views: did the blob structure emerge (per trial
``n_clusters`` against the data's true count, ``silhouette``), does it hold when trained
longer, and learning rate vs silhouette. They appear only when the trials carry
``n_clusters`` / ``silhouette`` (the ``denoise`` trainable reports both, and its true
blob count as ``n_blobs``)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from analysis.answers import answer, per_value
from analysis.report.model import Section, Table, display_frame, figure
from analysis.report.views_answers import one_factor_rows
from tune_jobs.names import ACTIVE_STATUSES

__all__ = ["lr_vs_structure", "structure"]

#: Columns holding the true cluster count, first found wins (a metric, then the config).
_EXPECTED = ("n_blobs", "config/n_blobs")


def structure(run: Any, metric: str, mode: str) -> Section | None:
    """Per trial: final ``n_clusters`` against the expected count, ``silhouette``; the
    silhouette by epoch; and for runs trained longer than the rest, before vs after."""
    trials = run.trials
    found = _numeric(trials, "n_clusters")
    if found is None or not np.isfinite(found).any():
        return None
    has = np.isfinite(found)
    expected_column = next((c for c in _EXPECTED if c in trials and trials[c].notna().any()), None)
    section = Section("structure", "Did the cluster structure emerge?")
    silhouette = _numeric(trials, "silhouette")
    if expected_column is not None:
        expected = _numeric(trials, expected_column)
        hit = has & (found == expected)
        values = expected[has].dropna().unique()
        what = (
            f"{int(values[0])} clusters (the data's {int(values[0])} blobs)"
            if len(values) == 1
            else "the data's cluster count"
        )
        line = f"**{what} in {int(hit.sum())} of {int(has.sum())} runs**"
        if silhouette is not None and np.isfinite(silhouette[hit]).any():
            s = silhouette[hit][np.isfinite(silhouette[hit])]
            line += (
                f"; their silhouette: median {s.median():.3g} (min {s.min():.3g}, "
                f"max {s.max():.3g})"
            )
        others = _counts(found[has & ~hit])
        section.text.append(line + (f". The others found {others}." if others else "."))
    else:
        hit = pd.Series(False, index=trials.index)
        section.text.append(
            f"Clusters found: {_counts(found[has])}. The runs do not report the true count "
            "(`n_blobs`), so none is marked as expected."
        )
    running = int(
        (has & trials.get("status", pd.Series("", index=trials.index)).isin(ACTIVE_STATUSES)).sum()
    )
    if running:
        section.text.append(f"{running} of these runs are still running (their latest epoch).")
    section.text.append(
        "`n_clusters` is the KMeans k (2..8) with the best silhouette over the hidden "
        "units' weights; 0 means no clustering (the weights went non-finite)."
    )
    keep = ["trial_id", "variant", "status", "n_clusters"]
    keep += [c for c in (expected_column, "silhouette", "weight_correlation") if c and c in trials]
    keep += [metric, *run.param_columns, "training_iteration"]
    table = trials.assign(emerged=hit) if expected_column else trials
    if expected_column:
        keep.insert(keep.index("n_clusters") + 1, "emerged")
    keep = [c for c in dict.fromkeys(keep) if c in table]
    section.tables.append(Table(display_frame(table[keep]), max_rows=100))
    _add_curves(run, section)
    _add_longer(run, metric, section)
    return section


def lr_vs_structure(run: Any, metric: str, mode: str) -> Section | None:
    """Final silhouette against the learning rate, coloured by ``n_clusters`` (the
    reference and its LR runs when the LR is a one-factor variant parameter)."""
    from analysis.plots.structure import metric_vs_param

    lr = run.lr_column
    trials = run.trials
    if lr is None or _numeric(trials, "silhouette") is None:
        return None
    variants = run.spec.get("variants") or {}
    one_factor = (variants.get("one_factor") or {}) if isinstance(variants, dict) else {}
    rows, scope = trials, "every run"
    if lr.removeprefix("config/") in one_factor:
        rows = one_factor_rows(run, lr)
        scope = "the reference and the runs that change only the learning rate"
        if rows is None:
            rows, scope = trials, "every run"
    if rows[lr].nunique() < 2 or not np.isfinite(_numeric(rows, "silhouette")).any():
        return None
    section = Section("lr_structure", "Learning rate vs silhouette")
    section.text.append(f"Final silhouette per learning rate, over {scope}.")
    section.text.append(answer(per_value(rows, "silhouette", lr, "max"), lr, "silhouette", "max"))
    color = "n_clusters" if "n_clusters" in rows else None
    section.figures.append(
        figure(
            "lr_silhouette",
            "Learning rate vs silhouette",
            metric_vs_param,
            rows,
            lr,
            "silhouette",
            color=color,
            log_x=True,
        )
    )
    return section


def _add_curves(run: Any, section: Section) -> None:
    from analysis.plots.curves import downsample_curves, learning_curves

    metrics = run.metrics
    if "silhouette" not in metrics or not metrics["silhouette"].notna().any():
        return
    small = downsample_curves(metrics, "silhouette", "training_iteration", 200)
    section.figures.append(
        figure(
            "silhouette_curves",
            "Silhouette by epoch",
            learning_curves,
            small,
            run.trials,
            "silhouette",
            mode="max",
        )
    )


def _add_longer(run: Any, metric: str, section: Section) -> None:
    """Runs trained longer than the common length: structure at that length vs at the end."""
    trials, metrics = run.trials, run.metrics
    if metrics.empty or "training_iteration" not in trials:
        return
    done = trials[~trials["status"].isin(ACTIVE_STATUSES)] if "status" in trials else trials
    length = pd.to_numeric(done["training_iteration"], errors="coerce")
    if length.notna().sum() < 2:
        return
    common = int(length.median())
    longer = done[length > common]
    columns = [c for c in ("n_clusters", "silhouette", metric) if c in metrics]
    if longer.empty or not columns:
        return
    rows, lines = [], []
    for _, trial in longer.iterrows():
        curve = metrics[metrics["trial_id"] == trial["trial_id"]].set_index("training_iteration")
        if common not in curve.index:
            continue
        last = curve.index.max()
        row = {"trial_id": trial["trial_id"], "variant": trial.get("variant"), "results": last}
        for c in columns:
            row[f"{c} at {common}"] = curve.at[common, c]
            row[f"{c} at end"] = curve.at[last, c]
        rows.append(row)
        name = trial.get("variant") or trial["trial_id"]
        change = ", ".join(
            f"{c} {_fmt(curve.at[common, c])} -> {_fmt(curve.at[last, c])}" for c in columns
        )
        lines.append(f"`{name}`: {change}")
    if rows:
        section.text.append(
            f"Trained longer than the common {common} results (does the structure hold?): "
            + "; ".join(lines)
            + "."
        )
        section.tables.append(Table(pd.DataFrame(rows), max_rows=None))


def _numeric(frame: pd.DataFrame, column: str) -> pd.Series | None:
    if column not in frame:
        return None
    return pd.to_numeric(frame[column], errors="coerce").astype(float)


def _counts(values: pd.Series) -> str:
    counts = values.astype(int).value_counts().sort_index(ascending=False)
    return ", ".join(
        f"{k} cluster{'s' if k != 1 else ''} in {n} run{'s' if n != 1 else ''}"
        for k, n in counts.items()
    )


def _fmt(value: Any) -> str:
    try:
        return f"{float(value):.3g}"
    except (TypeError, ValueError):
        return str(value)
