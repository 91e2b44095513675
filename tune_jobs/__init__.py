"""tune_jobs: run hyperparameter sweeps from YAML specs on Ray Tune.

Results land in Parquet (``trials.parquet``, ``metrics/``) and TensorBoard while the
sweep runs. From Python (a notebook, a script)::

    import tune_jobs

    result = tune_jobs.run("sweep.yaml", overrides={"search.num_samples": 8})
    result.best, result.trials, result.metrics()

``run``, ``resume``, ``load`` and ``validate`` come from ``tune_jobs.api``
(docs/python-api.md);
the command-line entry point is ``tune-jobs`` (``tune_jobs.cli``), a thin layer over them.
"""

from typing import TYPE_CHECKING, Any

from tune_jobs.trial.user_code import protect_our_packages

# Before anything imports ``trainables`` or ``analysis``: a research repo with packages of
# those names, run from as the working directory, must not replace ours.
protect_our_packages()

if TYPE_CHECKING:
    from tune_jobs.api import BestTrial, SweepResult, load, resume, run, validate

__version__ = "0.1.0"
__all__ = [
    "BestTrial",
    "SweepResult",
    "__version__",
    "load",
    "resume",
    "run",
    "validate",
]

_API = frozenset(__all__) - {"__version__"}


def __getattr__(name: str) -> Any:
    # The API on first use: ``import tune_jobs`` (done by every trial worker) stays light.
    if name in _API:
        from tune_jobs import api

        return getattr(api, name)
    raise AttributeError(f"module 'tune_jobs' has no attribute {name!r}")
