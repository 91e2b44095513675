"""Argument checks shared by the analysis functions (clear ``ValueError`` messages)."""

from __future__ import annotations

import pandas as pd

from tune_jobs.names import BAD_STATUSES, BOOKKEEPING_COLUMNS

__all__ = ["BAD_STATUSES", "check_columns", "check_metric", "check_mode", "metric_columns"]


_BOOKKEEPING = frozenset({*BOOKKEEPING_COLUMNS, "timestamp"})


def metric_columns(frame: pd.DataFrame) -> list[str]:
    """Numeric, non-boolean columns that are not bookkeeping or ``config/`` parameters."""
    return [
        c
        for c in frame.columns
        if c not in _BOOKKEEPING
        and not str(c).startswith("config/")
        and pd.api.types.is_numeric_dtype(frame[c])
        and not pd.api.types.is_bool_dtype(frame[c])
    ]


def check_metric(frame: pd.DataFrame, metric: str) -> None:
    """``ValueError`` naming the allowed columns if ``metric`` is not a metric column."""
    if metric not in frame.columns:
        allowed = ", ".join(metric_columns(frame)) or "none"
        raise ValueError(f"unknown metric {metric!r}; metric columns: {allowed}")


def check_columns(frame: pd.DataFrame, *columns: str) -> None:
    """``ValueError`` naming the frame's columns if one of ``columns`` is missing."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(
            f"unknown column(s) {', '.join(map(repr, missing))}; "
            f"columns: {', '.join(map(str, frame.columns))}"
        )


def check_mode(mode: str, name: str = "mode") -> str:
    """``mode`` if it is ``min`` or ``max``, else ``ValueError``."""
    if mode not in ("min", "max"):
        raise ValueError(f"{name} must be 'min' or 'max', got {mode!r}")
    return mode
