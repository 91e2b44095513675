"""The Pareto front of two metrics (e.g. loss vs training time)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis._checks import check_columns, check_mode

__all__ = ["pareto_front"]


def pareto_front(
    frame: pd.DataFrame, x: str, y: str, x_mode: str = "min", y_mode: str = "min"
) -> pd.DataFrame:
    """The rows of ``frame`` no other row dominates, sorted by ``x`` (best first).

    Row *a* dominates row *b* when *a* is at least as good in both ``x`` and ``y`` and
    strictly better in one (``min``: smaller is better, ``max``: larger). Exact, in
    O(n log n). Ties: rows with identical ``(x, y)`` do not dominate each other, so all
    of them are on the front if one is; a row equal to another in one metric and worse
    in the other is dominated. Rows with a NaN or infinite ``x`` or ``y`` are ignored.
    """
    check_columns(frame, x, y)
    check_mode(x_mode, "x_mode")
    check_mode(y_mode, "y_mode")
    if frame.empty:
        return frame.copy()
    xs = pd.to_numeric(frame[x], errors="coerce").to_numpy(dtype=float)
    ys = pd.to_numeric(frame[y], errors="coerce").to_numpy(dtype=float)
    xs = xs if x_mode == "min" else -xs
    ys = ys if y_mode == "min" else -ys
    valid = np.flatnonzero(np.isfinite(xs) & np.isfinite(ys))
    if not len(valid):
        return frame.iloc[0:0]
    order = valid[np.lexsort((ys[valid], xs[valid]))]
    sx, sy = xs[order], ys[order]
    # Per run of equal x: its smallest y; a row is on the front if its y is that
    # smallest y and strictly below every y seen at smaller x.
    starts = np.r_[True, sx[1:] != sx[:-1]]
    group = np.cumsum(starts) - 1
    group_min = sy[starts]  # sorted by y within equal x: the first is the smallest
    before = np.r_[np.inf, np.minimum.accumulate(group_min)[:-1]]
    on_front = (sy == group_min[group]) & (sy < before[group])
    return frame.iloc[order[on_front]]
