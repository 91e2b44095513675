"""Row shaping and the fixed column-type rules of the Parquet sink."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from tune_jobs.names import SCHEMA_PART
from tune_jobs.results.rows import metrics_of, rows_to_table, rows_to_table_inferred
from tune_jobs.results.storage import RunStorage


def test_metrics_of_drops_tune_internals_and_flattens() -> None:
    result = {
        "loss": 1.0,
        "experts": {"util_0": 0.5, "util_1": 0.25},
        "config": {"lr": 0.1},
        "hostname": "h",
        "pid": 1,
        "training_iteration": 3,
        "should_checkpoint": True,
        "maybe": None,
    }
    assert metrics_of(result) == {
        "loss": 1.0,
        "experts/util_0": 0.5,
        "experts/util_1": 0.25,
        "training_iteration": 3,
    }


def test_numbers_are_always_float64_and_types_stay_fixed_across_batches() -> None:
    schema: dict[str, pa.DataType] = {}
    first = rows_to_table([{"training_iteration": 1, "step": 10, "ok": True, "tag": "a"}], schema)
    assert first.schema.field("step").type == pa.float64()
    assert first.schema.field("training_iteration").type == pa.int64()
    second = rows_to_table(
        [{"training_iteration": 2, "step": 10.5, "ok": False, "tag": ["x"], "new": np.float32(2)}],
        schema,
    )
    assert second.schema.field("step").type == pa.float64()
    assert second.column("tag").to_pylist() == ['["x"]']  # non-scalars as JSON text
    assert second.column("new").to_pylist() == [2.0]
    assert list(second.schema.names) == ["training_iteration", "step", "ok", "tag", "new"]


def test_inferred_trial_table_keeps_integer_params_and_stringifies_mixed() -> None:
    rows = [
        {"config/bs": 16, "config/act": "relu", "config/mix": 1},
        {"config/bs": None, "config/act": "gelu", "config/mix": "x"},
    ]
    table = rows_to_table_inferred(rows, ["config/bs", "config/act", "config/mix"])
    assert table.schema.field("config/bs").type == pa.int64()
    assert table.column("config/bs").to_pylist() == [16, None]
    assert table.schema.field("config/mix").type == pa.string()


def test_schema_part_lets_readers_see_columns_first_written_later(tmp_path: Path) -> None:
    run = RunStorage.open(str(tmp_path))
    run.makedirs("metrics")
    schema: dict[str, pa.DataType] = {}
    early = rows_to_table([{"trial_id": "a", "loss": 1.0}], schema)
    run.write_parquet(early, "metrics", "part-00000001-s.parquet")
    late = rows_to_table([{"trial_id": "a", "loss": 0.5, "val_loss": 0.7}], schema)
    run.write_parquet(late.schema.empty_table(), "metrics", SCHEMA_PART)
    run.write_parquet(late, "metrics", "part-00000002-s.parquet")
    frame = pd.read_parquet(tmp_path / "metrics")
    assert sorted(frame.columns) == ["loss", "trial_id", "val_loss"]
    assert frame["val_loss"].isna().sum() == 1 and len(frame) == 2
    assert not list(tmp_path.glob("metrics/.*"))  # atomic writes leave no temp files
