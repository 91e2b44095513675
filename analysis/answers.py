"""Per-parameter answers: for a categorical or grid parameter, which value wins.

``per_value`` summarises the final metric per value of one parameter (median over the
runs with that value, every repeat and stage counted); ``answer`` turns that table into
one sentence such as "orthogonalization: newton_schulz reaches the target fastest
(median 41 s, reached in 6 of 6 runs) vs polar_express: 55 s (5 of 6)".

For time to target (``time_to_target_s``) a finished run that never reached the target
is *censored*: it counts as "not reached" (an infinite time) in the median, and the
table shows how many runs reached the target separately. So a value whose runs mostly
never got there cannot win on the few that did. Crashed (``ERROR``) runs and runs still
going without a value are left out of the median and counted in ``failed`` / ``running``.
For any other metric the median is over the valid runs (finite, neither ``DIVERGED`` nor
``ERROR``); diverged runs are counted separately.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from analysis._checks import check_columns, check_mode
from analysis.importance import valid_rows
from tune_jobs.names import ACTIVE_STATUSES, DIVERGED, ERROR, TIME_TO_TARGET
from tune_jobs.spec.kinds import KINDS

__all__ = ["answer", "categorical_params", "per_value"]


def per_value(trials: pd.DataFrame, metric: str, param: str, mode: str = "min") -> pd.DataFrame:
    """One row per value of ``param`` (a ``config/...`` column), best first.

    Columns: ``value``, ``runs`` (runs counted in the median), ``median``, ``q25``,
    ``q75``, ``best``; for ``time_to_target_s`` also ``reached`` (runs that reached the
    target), ``not_reached`` (censored: counted as infinite time) and
    ``median_reached`` (median over the runs that reached it), else ``diverged``;
    always ``failed`` (``ERROR``) and ``running`` (no value yet). A value whose median
    is infinite (most runs never reached the target) is ``inf``.
    """
    check_mode(mode)
    check_columns(trials, param, metric)
    status = trials["status"] if "status" in trials else pd.Series("", index=trials.index)
    values = pd.to_numeric(trials[metric], errors="coerce").astype(float)
    key = trials[param].map(_hashable)
    rows = []
    for index in key.groupby(key, sort=False).groups.values():
        st, val = status.loc[index], values.loc[index]
        failed = st.eq(ERROR) & ~np.isfinite(val)
        running = st.isin(ACTIVE_STATUSES) & ~np.isfinite(val)
        row: dict[str, Any] = {"value": trials.loc[index[0], param]}
        if metric == TIME_TO_TARGET:
            reached = val[np.isfinite(val)]
            censored = ~failed & ~running & ~np.isfinite(val)
            counted = np.r_[reached.to_numpy(), np.full(int(censored.sum()), np.inf)]
            row |= {
                "runs": len(counted),
                "reached": len(reached),
                "not_reached": int(censored.sum()),
                **_stats(counted, "min"),
                "median_reached": float(reached.median()) if len(reached) else math.nan,
            }
        else:
            ok = valid_rows(trials.loc[index], metric)[metric].astype(float).to_numpy()
            diverged = st.eq(DIVERGED) | (~st.eq(ERROR) & np.isinf(val))
            row |= {"runs": len(ok), **_stats(ok, mode), "diverged": int(diverged.sum())}
        row |= {"failed": int(failed.sum()), "running": int(running.sum())}
        rows.append(row)
    out = pd.DataFrame(rows)
    if out.empty:
        return out
    # Best first: by median (NaN last), then more runs, then the value's first appearance.
    sign = 1.0 if mode == "min" or metric == TIME_TO_TARGET else -1.0
    medians, runs = out["median"].to_numpy(dtype=float), out["runs"].to_numpy()
    order = sorted(
        range(len(out)),
        key=lambda i: (math.isnan(medians[i]), sign * np.nan_to_num(medians[i]), -runs[i], i),
    )
    return out.iloc[order].reset_index(drop=True)


def answer(table: pd.DataFrame, param: str, metric: str, mode: str = "min") -> str:
    """One sentence naming the winning value of ``param`` from ``per_value``'s table."""
    name = str(param).removeprefix("config/")
    ttt = metric == TIME_TO_TARGET
    scored = table[table["median"].notna()] if not table.empty else table
    if scored.empty:
        return f"`{name}`: no finished runs yet."
    first = scored.iloc[0]
    if ttt and not np.isfinite(first["median"]):
        reached = ", ".join(
            f"{_show(r['value'])} {int(r['reached'])} of {int(r['runs'])}"
            for _, r in scored.iterrows()
        )
        return (
            f"`{name}`: no value reaches the target in at least half of its runs "
            f"(reached: {reached})."
        )
    if len(scored) == 1:
        return (
            f"`{name}`: only **{_show(first['value'])}** has finished runs ({_detail(first, ttt)})."
        )
    verb = (
        "reaches the target fastest"
        if ttt
        else f"gives the {'lowest' if mode == 'min' else 'highest'} `{metric}`"
    )
    others = "; ".join(
        f"{_show(r['value'])}: {_detail(r, ttt)}" for _, r in scored.iloc[1:].iterrows()
    )
    line = f"`{name}`: **{_show(first['value'])}** {verb} ({_detail(first, ttt)}) vs {others}."
    second = scored.iloc[1]
    low, high = sorted((float(second["q25"]), float(second["q75"])))
    if int(second["runs"]) > 1 and low <= float(first["median"]) <= high:
        line += f" Not a clear win: {_show(second['value'])}'s middle half of runs includes it."
    return line


def categorical_params(spec: dict[str, Any], param_columns: list[str]) -> list[str]:
    """The ``config/...`` columns of the spec's ``choice``/``grid`` parameters, in
    ``param_columns`` order."""
    keys = set()
    space = spec.get("space") or {}
    stack = [("", space)] if isinstance(space, dict) else []
    while stack:
        prefix, mapping = stack.pop()
        for key, domain in mapping.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            if (
                isinstance(domain, dict)
                and len(domain) == 1
                and KINDS.get(next(iter(domain))) is not None
                and KINDS[next(iter(domain))].shape == "values"
            ):
                keys.add(f"config/{name}")
            elif isinstance(domain, dict) and all(isinstance(v, dict) for v in domain.values()):
                stack.append((name, domain))
    return [c for c in param_columns if c in keys]


def _stats(values: np.ndarray, mode: str) -> dict[str, float]:
    values = np.sort(np.asarray(values, dtype=float))
    if not len(values):
        return {"median": math.nan, "q25": math.nan, "q75": math.nan, "best": math.nan}
    n = len(values)
    mid = values[n // 2] if n % 2 else (values[n // 2 - 1] + values[n // 2]) / 2
    # "lower"/"higher" quantiles never interpolate with inf (inf - inf is NaN).
    return {
        "median": float(mid),
        "q25": float(np.quantile(values, 0.25, method="lower")),
        "q75": float(np.quantile(values, 0.75, method="higher")),
        "best": float(values[0] if mode == "min" else values[-1]),
    }


def _detail(row: pd.Series, ttt: bool) -> str:
    if ttt:
        median = (
            "not reached" if not np.isfinite(row["median"]) else f"median {row['median']:.3g} s"
        )
        return f"{median}, reached in {int(row['reached'])} of {_runs(int(row['runs']))}"
    return f"median {row['median']:.4g}, {_runs(int(row['runs']))}"


def _runs(n: int) -> str:
    return f"{n} run" if n == 1 else f"{n} runs"


def _show(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _hashable(value: Any) -> Any:
    return value if isinstance(value, (str, int, float, bool, type(None))) else str(value)
