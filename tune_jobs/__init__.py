"""tune_jobs: run hyperparameter sweeps from YAML specs on Ray Tune.

Results land in Parquet (``trials.parquet``, ``metrics/``) and TensorBoard while the
sweep runs. The command-line entry point is ``tune-jobs`` (``tune_jobs.cli``).
"""

from tune_jobs.trial.user_code import protect_our_packages

# Before anything imports ``trainables`` or ``analysis``: a research repo with packages of
# those names, run from as the working directory, must not replace ours.
protect_our_packages()

__version__ = "0.1.0"
__all__ = ["__version__"]
