"""tune_jobs: run hyperparameter sweeps from YAML specs on Ray Tune.

Results land in Parquet (``trials.parquet``, ``metrics/``) and TensorBoard while the
sweep runs. The command-line entry point is ``tune-jobs`` (``tune_jobs.cli``).
"""

__version__ = "0.1.0"
__all__ = ["__version__"]
