"""Which parameters matter: permutation importance and per-parameter marginal effects.

``parameter_importance`` fits a random forest (scikit-learn) from the searched
parameters to the metric and measures each parameter's permutation importance (how
much the fit worsens when that parameter's values are shuffled), normalised to sum
to 1. Categorical parameters are ordinal-encoded (trees split on codes). Diverged,
errored and unfinished trials (no finite metric) are left out.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis._checks import BAD_STATUSES, check_columns, check_metric

__all__ = ["encode_params", "marginal_effects", "parameter_importance", "valid_rows"]


def valid_rows(trials: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Trials with a finite ``metric`` that neither diverged nor errored."""
    check_metric(trials, metric)
    values = pd.to_numeric(trials[metric], errors="coerce").astype(float)
    keep = np.isfinite(values)
    if "status" in trials:
        keep &= ~trials["status"].isin(BAD_STATUSES)
    return trials[keep]


def encode_params(trials: pd.DataFrame, params: list[str]) -> pd.DataFrame:
    """Parameters as numbers: numeric columns as floats, others as sorted category codes."""
    out = {}
    for column in params:
        series = trials[column]
        if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
            out[column] = series.astype(float).fillna(-1.0)
        else:
            out[column] = pd.Series(
                pd.factorize(series.astype(str), sort=True)[0], index=trials.index, dtype=float
            )
    return pd.DataFrame(out, index=trials.index)


def _default_params(trials: pd.DataFrame) -> list[str]:
    return [c for c in trials.columns if str(c).startswith("config/")]


def parameter_importance(
    trials: pd.DataFrame,
    metric: str,
    params: list[str] | None = None,
    seed: int = 0,
    n_repeats: int = 5,
    n_estimators: int = 100,
) -> pd.DataFrame:
    """Permutation importance of each parameter for ``metric``, most important first.

    Returns columns ``param``, ``importance`` (share of the total, >= 0, sums to 1 unless
    every importance is 0) and ``std`` (over the ``n_repeats`` shuffles, same scale).
    ``params`` defaults to every ``config/`` column; parameters that never vary score 0.
    Needs at least 3 valid trials (else an empty frame). Deterministic for a ``seed``.
    """
    params = list(params) if params is not None else _default_params(trials)
    columns = ["param", "importance", "std"]
    if trials.empty:
        return pd.DataFrame(columns=columns)
    check_columns(trials, *params)
    rows = valid_rows(trials, metric)
    varying = [p for p in params if rows[p].astype(str).nunique() > 1]
    if len(rows) < 3:
        return pd.DataFrame(columns=columns)
    if not varying:
        return pd.DataFrame({"param": params, "importance": 0.0, "std": 0.0})
    from sklearn.ensemble import RandomForestRegressor  # slow to import: only when used
    from sklearn.inspection import permutation_importance

    x = encode_params(rows, varying).to_numpy()
    y = rows[metric].astype(float).to_numpy()
    forest = RandomForestRegressor(n_estimators=n_estimators, random_state=seed, n_jobs=1)
    forest.fit(x, y)
    result = permutation_importance(forest, x, y, n_repeats=n_repeats, random_state=seed)
    raw = np.clip(result.importances_mean, 0.0, None)
    total = raw.sum()
    scale = 1.0 / total if total > 0 else 0.0
    out = pd.DataFrame(
        {"param": varying, "importance": raw * scale, "std": result.importances_std * scale}
    )
    constant = [p for p in params if p not in varying]
    out = pd.concat(
        [out, pd.DataFrame({"param": constant, "importance": 0.0, "std": 0.0})],
        ignore_index=True,
    )
    return out.sort_values(["importance", "param"], ascending=[False, True]).reset_index(drop=True)


def marginal_effects(
    trials: pd.DataFrame, metric: str, param: str, bins: int = 8, log: bool | None = None
) -> pd.DataFrame:
    """How ``metric`` changes with one parameter, the others averaged out (marginalised).

    A parameter with at most ``bins`` distinct values (or a categorical one) is grouped
    by value; a continuous one is cut into ``bins`` quantile bins (``value`` is the
    bin's median parameter value). Columns: ``value``, ``n``, ``median``, ``q25``,
    ``q75``, ``mean``, ``best`` (min), ``worst`` (max), ``log`` (a positive parameter
    spanning more than two decades: plot it on a log axis). Valid trials only.
    """
    check_columns(trials, param)
    columns = ["value", "n", "median", "q25", "q75", "mean", "best", "worst", "log"]
    if trials.empty:
        return pd.DataFrame(columns=columns)
    rows = valid_rows(trials, metric)
    values = rows[param]
    numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
    if log is None:
        positive = numeric and len(values) and (values > 0).all()
        log = bool(positive and values.max() / values.min() > 100)
    if numeric and values.nunique() > bins:
        key = pd.qcut(np.log(values) if log else values, bins, duplicates="drop")
        label = values.groupby(key, observed=True).median()
    else:
        key = values if numeric else values.astype(str)
        label = None
    grouped = rows[metric].astype(float).groupby(key, observed=True, sort=True)
    out = pd.DataFrame(
        {
            "n": grouped.size(),
            "median": grouped.median(),
            "q25": grouped.quantile(0.25),
            "q75": grouped.quantile(0.75),
            "mean": grouped.mean(),
            "best": grouped.min(),
            "worst": grouped.max(),
        }
    )
    out.insert(0, "value", label.to_numpy() if label is not None else out.index.to_numpy())
    out["log"] = log
    return out.reset_index(drop=True)
