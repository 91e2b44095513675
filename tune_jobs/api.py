"""The Python API: run, resume and load sweeps from a notebook or a script.

```python
import tune_jobs

def train(config):  # a function in this notebook or module
    from ray import tune
    for step in range(config["steps"]):
        tune.report({"loss": (config["lr"] - 0.1) ** 2 / (step + 1)})

result = tune_jobs.run(
    {
        "name": "lr",
        "trainable": train,
        "metric": "loss",
        "config": {"steps": 5},
        "space": {"lr": {"loguniform": [1e-3, 1.0]}},
        "search": {"num_samples": 8},
    },
    storage="results",
)
result.best          # BestTrial(trial_id=..., value=..., config={...})
result.trials        # trials.parquet as a DataFrame
result.metrics()     # every reported result, superseded attempts dropped
```

``spec`` is a path to a spec file, YAML text (more than one line), or a mapping of the
same keys; its ``trainable`` may be a Python function. The ``tune-jobs`` command is a
thin layer over these functions. Errors raise ``tune_jobs.errors.UserError``
(``SpecError`` for a bad spec) with the same one-line message the command prints.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tune_jobs.errors import UserError
from tune_jobs.names import ERROR, FINISHED_STATUSES, SPEC_FILE, TRIALS_FILE

if TYPE_CHECKING:
    import pandas as pd

    from tune_jobs.execution.tuner import SweepOutcome
    from tune_jobs.plan.run_plan import RunPlan

__all__ = ["BestTrial", "SweepResult", "load", "resume", "run", "validate"]

SpecInput = str | Path | Mapping[str, Any]
Overrides = Mapping[str, Any] | list[str] | tuple[str, ...] | None


@dataclass(frozen=True)
class BestTrial:
    """The best trial by the run's objective (valid trials before DIVERGED/ERROR ones)."""

    trial_id: str
    value: float | None
    """Its value of the spec's ``metric`` (None if it never reported it)."""
    config: dict[str, Any]
    """Its configuration (nested, as the trainable received it)."""


@dataclass(frozen=True)
class SweepResult:
    """A sweep's results in RUN_DIR, read from its files when asked."""

    run_dir: str
    """RUN_DIR: a local path or a storage URI."""
    statuses: dict[str, int] = field(default_factory=dict)
    """Trials by status (``TERMINATED``, ``ERROR``, ...)."""
    stop_reason: str | None = None
    """Why the sweep stopped before running every trial (target reached, budget)."""

    @property
    def finished(self) -> bool:
        """Every trial ran to an end (nothing left to resume)."""
        return all(status in FINISHED_STATUSES for status in self.statuses)

    @property
    def all_failed(self) -> bool:
        """Every trial ended in ERROR."""
        total = sum(self.statuses.values())
        return total > 0 and self.statuses.get(ERROR, 0) == total

    @property
    def trials(self) -> pd.DataFrame:
        """``trials.parquet``: one row per trial (status, ``config/...``, last metrics)."""
        from tune_jobs.results.tables import load_trials

        return load_trials(self.run_dir)

    def metrics(self, clean: bool = True) -> pd.DataFrame:
        """Every reported result; ``clean`` drops rows a restored trial superseded."""
        from tune_jobs.results.tables import load_metrics

        return load_metrics(self.run_dir, clean=clean)

    @property
    def spec(self) -> dict[str, Any]:
        """The resolved spec the run was started from (``spec.yaml``)."""
        import yaml

        from tune_jobs.results.storage import RunStorage

        return yaml.safe_load(RunStorage.open(self.run_dir).read_bytes(SPEC_FILE)) or {}

    @property
    def best(self) -> BestTrial | None:
        """The best trial by the one ranking rule (``tune_jobs.results.ranking``)."""
        from tune_jobs.results.ranking import Objective, best_trial

        trials = self.trials
        spec = self.spec
        row = best_trial(trials, Objective.from_spec_dict(spec))
        if row is None:
            return None
        metric = spec.get("metric")
        value = row.get(metric) if metric else None
        return BestTrial(
            trial_id=str(row["trial_id"]),
            value=None if value is None or value != value else float(value),
            config=_config_of(row),
        )

    @classmethod
    def from_outcome(cls, outcome: SweepOutcome) -> SweepResult:
        """The result of a sweep that just ran."""
        return cls(outcome.run_dir, dict(outcome.statuses), outcome.stop_reason)

    def __repr__(self) -> str:
        counts = ", ".join(f"{n} {s}" for s, n in sorted(self.statuses.items())) or "no trials"
        return f"SweepResult({self.run_dir!r}: {counts})"


def _config_of(row: pd.Series) -> dict[str, Any]:
    """The nested configuration from a trial's ``config/<dotted key>`` cells."""
    from tune_jobs.nested import set_dotted

    config: dict[str, Any] = {}
    for column, value in row.items():
        if isinstance(column, str) and column.startswith("config/"):
            if hasattr(value, "item") and callable(value.item):
                value = value.item()  # numpy scalars as plain Python values
            set_dotted(config, column[len("config/") :].replace("/", "."), value)
    return config


def _load_plan(
    spec: SpecInput,
    *,
    storage: str | None = None,
    name: str | None = None,
    overrides: Overrides = None,
    smoke: bool = False,
    grids: list[str] | None = None,
    fmt: str = "auto",
) -> tuple[RunPlan, Callable[..., Any] | None]:
    """Load and check ``spec`` into the plan a run would follow, before Ray starts.

    Returns the plan and the Python function given as ``trainable`` (None if the spec
    names one). ``overrides``: ``{"search.num_samples": 8}`` or ``["search.num_samples=8"]``
    (``--set``); ``smoke``, ``grids`` and ``fmt`` as the ``--smoke``, ``--grid`` and
    ``--format`` options. Raises ``SpecError`` with one line naming the problem.
    """
    from tune_jobs.plan.run_plan import make_plan
    from tune_jobs.results.storage import absolute_storage
    from tune_jobs.spec.loader import load_spec, parse_yaml, spec_from_mapping
    from tune_jobs.trial.trainable import function_ref

    texts = [str(o) for o in overrides] if isinstance(overrides, (list, tuple)) else []
    values = dict(overrides) if isinstance(overrides, Mapping) else None
    options = {"smoke": smoke, "name": name, "storage": storage, "fmt": fmt, "grids": grids}
    function = None
    if isinstance(spec, Mapping):
        source = "<spec mapping>"
        raw = {k: v for k, v in spec.items() if k != "trainable"}
        raw = copy.deepcopy(raw)
        trainable = spec.get("trainable")
        if callable(trainable):
            function, trainable = trainable, function_ref(trainable)
        if trainable is not None:
            raw["trainable"] = trainable
        loaded = spec_from_mapping(raw, source, texts, values=values, **options)
    elif isinstance(spec, Path) or (isinstance(spec, str) and "\n" not in spec.strip()):
        source = str(spec)
        loaded = load_spec(spec, texts, values=values, **options)
    elif isinstance(spec, str):
        source = "<spec text>"
        loaded = spec_from_mapping(
            parse_yaml(spec, source), source, texts, values=values, **options
        )
    else:
        raise UserError(f"spec must be a path, YAML text or a mapping; got {type(spec).__name__}")
    loaded = dataclasses.replace(loaded, storage=absolute_storage(loaded.storage))
    return make_plan(loaded, source), function


def validate(
    spec: SpecInput,
    *,
    storage: str | None = None,
    name: str | None = None,
    overrides: Overrides = None,
    smoke: bool = False,
    grids: list[str] | None = None,
    fmt: str = "auto",
) -> RunPlan:
    """Check ``spec`` as ``tune-jobs validate`` does (nothing is written, Ray is not
    started) and return the plan a run would follow; ``plan.describe()`` gives its lines.

    Arguments as for ``run``. Raises ``SpecError`` with one line naming the problem.
    """
    from tune_jobs.trial.trainable import resolve_trainable

    checked, function = _load_plan(
        spec, storage=storage, name=name, overrides=overrides, smoke=smoke, grids=grids, fmt=fmt
    )
    if function is None:
        resolve_trainable(checked.spec.trainable, checked.source)  # fail here, not in a worker
    return checked


def run(
    spec: SpecInput,
    *,
    storage: str | None = None,
    name: str | None = None,
    overrides: Overrides = None,
    address: str | None = None,
    smoke: bool = False,
    grids: list[str] | None = None,
    fmt: str = "auto",
) -> SweepResult:
    """Run the sweep ``spec`` to its end (all its stages) and return its results.

    Args:
        spec: a spec file's path, YAML text, or a mapping of spec keys whose
            ``trainable`` may be a Python function.
        storage: replaces ``storage:`` (a directory or an ``s3://`` URI).
        name: replaces ``name:``; results go to ``<storage>/<name>``.
        overrides: spec keys to set, ``{"search.num_samples": 8}`` (or ``key=value``
            strings, as ``--set``).
        address: a Ray cluster to join; else ``RAY_ADDRESS``, else a local Ray.
        smoke, grids, fmt: as ``--smoke``, ``--grid`` and ``--format``.
    """
    import os

    from tune_jobs.execution.tuner import run_sweep

    checked, function = _load_plan(
        spec, storage=storage, name=name, overrides=overrides, smoke=smoke, grids=grids, fmt=fmt
    )
    outcome = run_sweep(checked, address or os.environ.get("RAY_ADDRESS"), function)
    return SweepResult.from_outcome(outcome)


def resume(
    run_dir: str | Path, *, trainable: Callable[..., Any] | None = None, address: str | None = None
) -> SweepResult:
    """Continue the interrupted sweep in ``run_dir``; ``trainable``: the Python function
    a run started from Python trained with (needed when it cannot be imported by name)."""
    from tune_jobs.execution.tuner import resume_sweep

    return SweepResult.from_outcome(resume_sweep(str(run_dir), address, trainable))


def load(run_dir: str | Path) -> SweepResult:
    """The results of the sweep in ``run_dir`` (finished, interrupted or still running)."""
    from tune_jobs.results.storage import RunStorage

    shown = str(run_dir)
    run = RunStorage.open(shown)
    if not run.exists(SPEC_FILE):
        raise UserError(f"{shown}: not a tune-jobs run (no {SPEC_FILE})")
    result = SweepResult(shown)
    if not run.exists(TRIALS_FILE):
        return result
    trials = result.trials
    statuses = trials["status"].value_counts().to_dict() if not trials.empty else {}
    return dataclasses.replace(result, statuses={str(k): int(v) for k, v in statuses.items()})
