"""The Pareto front of a hand-made table, exactly."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis import pareto_front

TABLE = pd.DataFrame(
    {
        "name": ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"],
        "x": [1.0, 2.0, 2.0, 3.0, 4.0, 4.0, 5.0, 0.5, np.nan, 6.0],
        "y": [5.0, 3.0, 4.0, 3.0, 1.0, 1.0, 0.5, 10.0, 0.0, 0.5],
    }
)


def test_front_min_min_with_ties() -> None:
    # c: same x as b, worse y; d: same y as b, worse x; j: same y as g, worse x;
    # e and f are identical: neither dominates the other; i has no x.
    front = pareto_front(TABLE, "x", "y")
    assert front["name"].tolist() == ["h", "a", "b", "e", "f", "g"]


def test_front_with_max_modes_and_brute_force() -> None:
    # Larger is better: g is dominated by j (same y, larger x); the rest trade off.
    assert pareto_front(TABLE, "x", "y", "max", "max")["name"].tolist() == [
        "j",
        "e",
        "f",
        "d",
        "c",
        "a",
        "h",
    ]
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.integers(0, 8, 300), "y": rng.integers(0, 8, 300)})
    pts = frame.to_numpy()
    dominated = [
        any((q <= p).all() and (q < p).any() for q in pts) for p in pts
    ]  # O(n^2) definition
    want = set(np.flatnonzero(~np.array(dominated)))
    assert set(pareto_front(frame, "x", "y").index) == want


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="unknown column"):
        pareto_front(TABLE, "x", "z")
    with pytest.raises(ValueError, match="y_mode"):
        pareto_front(TABLE, "x", "y", y_mode="down")
    assert pareto_front(TABLE.iloc[0:0], "x", "y").empty
    assert pareto_front(TABLE.assign(y=np.nan), "x", "y").empty
