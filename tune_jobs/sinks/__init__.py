"""Results sinks: Tune callbacks that write Parquet and TensorBoard while a sweep runs."""

from tune_jobs.sinks.parquet_sink import ParquetResultsSink
from tune_jobs.sinks.tensorboard_sink import TensorBoardSink

__all__ = ["ParquetResultsSink", "TensorBoardSink"]
