"""Analysis of sweep results: load a RUN_DIR's Parquet tables as pandas DataFrames."""

from analysis.load import clean_view, load_metrics, load_trials

__all__ = ["clean_view", "load_metrics", "load_trials"]
