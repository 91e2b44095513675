"""Shape Tune results and trials into flat rows, and rows into typed Arrow tables.

Column types follow fixed rules so that part files written at different times always
agree: every reported number is ``float64`` (an integer metric that later reports a
fraction must not change type), booleans stay booleans, strings stay strings, and
anything else (lists, mappings) is stored as JSON text.
"""

from __future__ import annotations

import json
import math
from typing import Any

import pyarrow as pa

__all__ = [
    "INT_COLUMNS",
    "TUNE_INTERNAL_KEYS",
    "arrow_type_for",
    "flatten",
    "metrics_of",
    "rows_to_table",
    "rows_to_table_inferred",
]

#: Bookkeeping columns stored as int64.
INT_COLUMNS = frozenset({"attempt", "training_iteration", "timestamp", "stage", "repeat"})

#: Keys Tune adds to every result that are not the user's metrics.
TUNE_INTERNAL_KEYS = frozenset(
    {
        "config",
        "date",
        "done",
        "hostname",
        "node_ip",
        "pid",
        "experiment_tag",
        "trial_id",
        "time_since_restore",
        "iterations_since_restore",
        "timesteps_since_restore",
        "timesteps_total",
        "episodes_total",
        "should_checkpoint",
        "checkpoint_dir_name",
        "__duplicate__",
        "__trial_info__",
    }
)


def flatten(data: dict[str, Any], prefix: str = "", sep: str = "/") -> dict[str, Any]:
    """Flatten nested mappings: ``{"a": {"b": 1}}`` -> ``{"a/b": 1}``."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}{sep}{key}" if prefix else str(key)
        if isinstance(value, dict) and value:
            out.update(flatten(value, name, sep))
        else:
            out[name] = value
    return out


def metrics_of(result: dict[str, Any]) -> dict[str, Any]:
    """The user's metrics plus Tune's progress counters, flattened with ``/``."""
    kept = {k: v for k, v in result.items() if k not in TUNE_INTERNAL_KEYS and v is not None}
    return flatten(kept)


def arrow_type_for(column: str, value: Any) -> pa.DataType | None:
    """The fixed Arrow type of a column given one non-null value (``None`` if null)."""
    if value is None:
        return None
    if column in INT_COLUMNS:
        return pa.int64()
    if isinstance(value, bool):
        return pa.bool_()
    if isinstance(value, (int, float)):
        return pa.float64()
    if hasattr(value, "item") and callable(value.item):  # numpy / torch scalars
        return arrow_type_for(column, value.item())
    return pa.string()


def _coerce(value: Any, dtype: pa.DataType) -> Any:
    if value is None:
        return None
    if hasattr(value, "item") and callable(value.item) and not isinstance(value, (list, dict)):
        value = value.item()
    if pa.types.is_float64(dtype):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return None
        return float(value)
    if pa.types.is_int64(dtype):
        if isinstance(value, float) and math.isfinite(value):
            return int(value)
        return value if isinstance(value, int) and not isinstance(value, bool) else None
    if pa.types.is_boolean(dtype):
        return value if isinstance(value, bool) else None
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, sort_keys=True, default=str)
    except (TypeError, ValueError):
        return str(value)


def rows_to_table(rows: list[dict[str, Any]], schema: dict[str, pa.DataType]) -> pa.Table:
    """Build a table with exactly the columns of ``schema`` (missing values are null).

    ``schema`` is updated in place with types for columns first seen in ``rows``;
    a value that does not fit its column's type (a string where a number was seen
    first) is stored as null rather than breaking the whole dataset.
    """
    for row in rows:
        for column, value in row.items():
            if column not in schema:
                dtype = arrow_type_for(column, value)
                if dtype is not None:
                    schema[column] = dtype
    arrays = {
        column: pa.array([_coerce(row.get(column), dtype) for row in rows], type=dtype)
        for column, dtype in schema.items()
    }
    return pa.table(arrays)


def rows_to_table_inferred(rows: list[dict[str, Any]], columns: list[str]) -> pa.Table:
    """Build a table whose column types are inferred from all values at once.

    For tables rewritten whole (``trials.parquet``): integer-only columns stay
    ``int64``, mixed integer/float become ``float64``, and columns mixing kinds
    (a ``choice`` of numbers and strings) are stored as JSON text.
    """
    schema: dict[str, pa.DataType] = {}
    for column in columns:
        kinds = {_kind(row.get(column)) for row in rows} - {None}
        if (column in INT_COLUMNS and kinds <= {"int", "float"}) or kinds == {"int"}:
            schema[column] = pa.int64()
        elif kinds and kinds <= {"int", "float"}:
            schema[column] = pa.float64()
        elif kinds == {"bool"}:
            schema[column] = pa.bool_()
        else:
            schema[column] = pa.string()
    arrays = {
        column: pa.array([_coerce(row.get(column), dtype) for row in rows], type=dtype)
        for column, dtype in schema.items()
    }
    return pa.table(arrays)


def _kind(value: Any) -> str | None:
    if value is None:
        return None
    if hasattr(value, "item") and callable(value.item) and not isinstance(value, (list, dict)):
        value = value.item()
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    return "str" if isinstance(value, str) else "json"
