"""The clean view: one row per (trial, iteration), later attempts superseding rollbacks."""

from __future__ import annotations

import pandas as pd

from analysis import clean_view


def _rows(*triples: tuple[str, int, int]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {"trial_id": t, "attempt": a, "training_iteration": i, "v": f"{t}{a}{i}"}
            for t, a, i in triples
        ]
    )


def test_restore_supersedes_rows_from_its_start_iteration_on() -> None:
    # Attempt 0 ran to 7; restored from the checkpoint at 4, attempt 1 re-reported 5..6
    # and stopped (e.g. a scheduler decision): 7 of attempt 0 was rolled back.
    frame = _rows(*[("a", 0, i) for i in range(1, 8)], ("a", 1, 5), ("a", 1, 6))
    clean = clean_view(frame)
    assert clean["training_iteration"].tolist() == [1, 2, 3, 4, 5, 6]
    assert clean["attempt"].tolist() == [0, 0, 0, 0, 1, 1]


def test_pbt_style_backwards_jump_and_several_trials() -> None:
    # Trial b: 1..12, exploit continues from the donor's iteration 10 -> 10, 11, 12.
    frame = _rows(
        *[("b", 0, i) for i in range(1, 13)],
        *[("b", 1, i) for i in (10, 11, 12)],
        *[("c", 0, i) for i in (1, 2)],
    )
    clean = clean_view(frame)
    b = clean[clean["trial_id"] == "b"]
    assert b["training_iteration"].tolist() == list(range(1, 13))
    assert b[b["training_iteration"] >= 10]["attempt"].unique().tolist() == [1]
    assert clean[clean["trial_id"] == "c"]["v"].tolist() == ["c01", "c02"]


def test_three_attempts_each_cutting_the_previous() -> None:
    frame = _rows(
        *[("a", 0, i) for i in range(1, 6)],  # 1..5
        *[("a", 1, i) for i in (3, 4, 5, 6)],  # restored at 3
        *[("a", 2, i) for i in (5, 6, 7)],  # restored at 5
    )
    clean = clean_view(frame)
    assert list(zip(clean["training_iteration"], clean["attempt"], strict=True)) == [
        (1, 0),
        (2, 0),
        (3, 1),
        (4, 1),
        (5, 2),
        (6, 2),
        (7, 2),
    ]


def test_empty_frame_passes_through() -> None:
    assert clean_view(pd.DataFrame()).empty
