"""Run and resume sweeps: the one place that builds Ray Tune's ``Tuner``.

Everything Ray-driver-side (Tuner, RunConfig, callbacks, searchers, schedulers) is
assembled here from a ``RunPlan``, so following Ray's API changes touches one module.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Any

import yaml

from tune_jobs.errors import UserError
from tune_jobs.layout import SPEC_FILE, TUNER_STATE_FILE
from tune_jobs.plan import RunPlan
from tune_jobs.sinks import ParquetResultsSink, TensorBoardSink
from tune_jobs.spec.convert import build
from tune_jobs.spec.loader import parse_yaml, spec_to_dict
from tune_jobs.spec.schema import SweepSpec
from tune_jobs.storage import RunStorage, split_storage
from tune_jobs.strategy import build_strategy
from tune_jobs.trainable_ref import resolve_trainable

#: Trial statuses in trials.parquet that mean "done" (not resumable).
FINISHED_STATUSES = ("TERMINATED", "ERROR", "DIVERGED", "SKIPPED")

__all__ = ["FINISHED_STATUSES", "SweepOutcome", "absolute_storage", "init_ray", "resume_sweep", "run_sweep"]


@dataclass
class SweepOutcome:
    """What a finished (or interrupted) sweep reports back to the CLI."""

    run_dir: str
    statuses: dict[str, int]
    best_trial: str | None
    best_value: float | None
    stop_reason: str | None = None
    """Why the sweep stopped before running every trial (target reached, budget)."""

    @property
    def unfinished(self) -> int:
        """Trials left pending, running or interrupted (the sweep was stopped early)."""
        return sum(n for s, n in self.statuses.items() if s not in FINISHED_STATUSES)

    @property
    def all_failed(self) -> bool:
        """Every trial ended in ERROR."""
        total = sum(self.statuses.values())
        return total > 0 and self.statuses.get("ERROR", 0) == total


def absolute_storage(storage: str) -> str:
    """Make a local storage path absolute so a resumed run writes to the same place."""
    if "://" in storage:
        return storage
    return split_storage(storage)[1]


def init_ray(address: str | None) -> None:
    """Connect to the cluster at ``address`` (or ``RAY_ADDRESS``), else start a local Ray.

    Inside a Ray job the job's cluster is joined; a second Ray is never started.
    """
    import ray

    if ray.is_initialized():
        return
    if address or os.environ.get("RAY_ADDRESS"):
        ray.init(address=address, log_to_driver=True)
        return
    # Project code imported by module name must import on workers too.
    path = os.pathsep.join(p for p in (os.getcwd(), os.environ.get("PYTHONPATH")) if p)
    ray.init(
        include_dashboard=False,
        runtime_env={"env_vars": {"PYTHONPATH": path}},
        log_to_driver=True,
    )


def run_sweep(plan: RunPlan, address: str | None = None) -> SweepOutcome:
    """Start a new sweep for ``plan``; RUN_DIR must not hold a previous run."""
    spec = plan.spec
    run = RunStorage.for_run(spec.storage, spec.name)
    _prepare_run_dir(run, spec, plan.source)
    trainable = resolve_trainable(spec.trainable, plan.source)
    init_ray(address)
    tuner = _build_tuner(plan, trainable, run)
    return _fit(tuner, spec, run)


def resume_sweep(run_dir: str, address: str | None = None) -> SweepOutcome:
    """Continue an interrupted sweep in ``run_dir`` from its last experiment snapshot."""
    from ray import tune

    run = RunStorage.open(run_dir)
    if not run.exists(SPEC_FILE) or not run.exists(TUNER_STATE_FILE):
        raise UserError(
            f"{run_dir}: not a resumable tune-jobs run (no {SPEC_FILE} or {TUNER_STATE_FILE})"
        )
    source = run.path(SPEC_FILE)
    raw = parse_yaml(run.read_bytes(SPEC_FILE).decode(), source)
    spec = build(SweepSpec, raw, "", source)
    trainable = resolve_trainable(spec.trainable, source)
    init_ray(address)
    _configure_tune()
    path = run_dir if "://" in run_dir else run.root
    tuner = tune.Tuner.restore(
        path,
        trainable=tune.with_resources(trainable, spec.resources.as_ray()),
        resume_unfinished=True,
        resume_errored=True,
        storage_filesystem=None if run.is_local else run.fs,
    )
    return _fit(tuner, spec, run)


def _prepare_run_dir(run: RunStorage, spec: SweepSpec, source: str) -> None:
    try:
        exists = run.exists(TUNER_STATE_FILE)
    except OSError as err:
        raise UserError(f"{spec.storage}: storage is not reachable ({err})") from None
    if exists:
        raise UserError(
            f"{run.root}: a run named {spec.name!r} already exists; resume it with "
            f"`tune-jobs resume {run.root}` or pick another --name"
        )
    try:
        run.makedirs()
        text = f"# Resolved from {source}\n" + yaml.safe_dump(spec_to_dict(spec), sort_keys=False)
        run.write_bytes(text.encode(), SPEC_FILE)
    except OSError as err:
        raise UserError(f"{spec.storage}: storage is not writable ({err})") from None


def _configure_tune() -> None:
    """Process-wide Tune settings for every sweep, set in this one place."""
    # Tune's CSV/JSON/TensorBoardX loggers duplicate our sinks and halve throughput.
    os.environ["TUNE_DISABLE_AUTO_CALLBACK_LOGGERS"] = "1"
    # Trainables report a validation metric only every few results (eval_every);
    # Tune's schedulers skip results without it, but its strict check would crash.
    os.environ["TUNE_DISABLE_STRICT_METRIC_CHECKING"] = "1"
    # Variant presets differ from the base config on purpose; and without those
    # loggers Tune's own ResultGrid has no per-trial metrics (ours are in Parquet).
    logging.getLogger("ray.tune.search.variant_generator").setLevel(logging.ERROR)
    logging.getLogger("ray.tune.analysis.experiment_analysis").setLevel(logging.ERROR)


def _build_tuner(plan: RunPlan, trainable: Any, run: RunStorage) -> Any:
    from ray import tune

    spec = plan.spec
    _configure_tune()
    strategy = build_strategy(plan)
    callbacks = [
        strategy.callback,
        ParquetResultsSink(spec.storage, spec.name),
        TensorBoardSink(spec.storage, spec.name, spec.metric),
    ]
    fs, base = split_storage(spec.storage)
    return tune.Tuner(
        tune.with_resources(trainable, spec.resources.as_ray()),
        param_space=plan.constant_space if plan.owns_space else plan.param_space,
        tune_config=tune.TuneConfig(
            metric=spec.metric,
            mode=spec.mode,
            search_alg=strategy.searcher,
            scheduler=strategy.scheduler,
            num_samples=plan.tune_num_samples,
            reuse_actors=spec.reuse_actors,
            trial_dirname_creator=lambda trial: trial.trial_id,
        ),
        run_config=tune.RunConfig(
            name=spec.name,
            storage_path=base if "://" not in spec.storage else spec.storage,
            storage_filesystem=None if run.is_local else fs,
            stop=strategy.stopper,
            callbacks=callbacks,
            failure_config=tune.FailureConfig(max_failures=spec.max_failures),
            # Upload trial-directory files (stdout/stderr logs of command trainables).
            sync_config=tune.SyncConfig(sync_artifacts=True),
            checkpoint_config=tune.CheckpointConfig(num_to_keep=spec.checkpoints_to_keep),
            verbose=1,
        ),
    )


def _fit(tuner: Any, spec: SweepSpec, run: RunStorage) -> SweepOutcome:
    from analysis.load import load_trials

    tuner.fit()
    trials = load_trials(run.root if run.is_local else f"{spec.storage}/{spec.name}")
    statuses = trials["status"].value_counts().to_dict() if not trials.empty else {}
    best_trial = best_value = None
    if not trials.empty and spec.metric in trials.columns:
        ranked = trials.dropna(subset=[spec.metric])
        if not ranked.empty:
            best = ranked.sort_values(spec.metric, ascending=spec.mode == "min").iloc[0]
            best_trial, best_value = str(best["trial_id"]), float(best[spec.metric])
    return SweepOutcome(run.root, statuses, best_trial, best_value)
