"""Run and resume sweeps: the one place that builds Ray Tune's ``Tuner``.

Everything Ray-driver-side (Tuner, RunConfig, callbacks, searchers, schedulers) is
assembled here from a ``RunPlan``, so following Ray's API changes touches one module.

A staged sweep (``stages:``) runs one Tune experiment per stage: stage 1 in RUN_DIR
itself, stage ``k`` in ``RUN_DIR/stages/stage<k>``; all write the same Parquet tables
and TensorBoard folder of RUN_DIR. ``RUN_DIR/stages.json`` records each stage's status
and derived space: ``resume`` restores the stage that was running (never re-running a
finished one) and then runs the stages after it (``tune_jobs.execution.stages``).
"""

from __future__ import annotations

import posixpath
import sys
from dataclasses import dataclass
from typing import Any

from tune_jobs.errors import UserError
from tune_jobs.execution.assemble import build_strategy
from tune_jobs.execution.connect import init_ray
from tune_jobs.execution.resources import check_cluster_fits
from tune_jobs.execution.setup import (
    CheckpointRepair,
    configure_tune,
    prepare_run_dir,
    tuner_state_is_damaged,
)
from tune_jobs.execution.stages import run_later_stages, spec_from_record
from tune_jobs.names import ERROR, FINISHED_STATUSES, SPEC_FILE
from tune_jobs.plan.run_plan import RunPlan, make_plan, repeat_base
from tune_jobs.ray_internals import TUNER_STATE_FILE
from tune_jobs.results.parquet_sink import ParquetResultsSink
from tune_jobs.results.ranking import Objective, best_trial, summary_lines
from tune_jobs.results.snapshot import check_snapshot, refuse_silent_restart
from tune_jobs.results.storage import (  # absolute_storage: re-exported
    RunStorage,
    absolute_storage,
    join_storage,
    split_storage,
    storage_failure,
)
from tune_jobs.results.tables import load_trials
from tune_jobs.results.tensorboard_sink import TensorBoardSink
from tune_jobs.spec.convert import build
from tune_jobs.spec.loader import parse_yaml
from tune_jobs.spec.schema import SweepSpec
from tune_jobs.trial.trainable import TrainFn, resolve_trainable, wrap_trainable

#: ``SweepOutcome.stop_reason`` of a sweep stopped at its first trial error.
FAIL_FAST = "fail_fast"


__all__ = [
    "FAIL_FAST",
    "FINISHED_STATUSES",
    "SweepOutcome",
    "absolute_storage",
    "init_ray",
    "resume_sweep",
    "run_sweep",
]


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
        return total > 0 and self.statuses.get(ERROR, 0) == total


def run_sweep(
    plan: RunPlan, address: str | None = None, function: TrainFn | None = None
) -> SweepOutcome:
    """Start a new sweep for ``plan`` (all its stages); RUN_DIR must not hold a previous run.

    ``function``: a Python function to train with instead of resolving ``trainable:``
    (``tune_jobs.run`` with a function as the trainable).
    """
    from tune_jobs.results.stage_progress import stage_record, write_progress

    spec = plan.spec
    run = RunStorage.for_run(spec.storage, spec.name)
    trainable = _trainable(spec, plan.source, function)
    prepare_run_dir(run, spec, plan.source, _run_dir(spec, run))
    init_ray(address)
    check_cluster_fits(spec.resources)  # else Ray would keep the trials pending forever
    if spec.stages:
        record = stage_record(1, spec.stage_name(1), spec.space, spec.config, {}, plan.num_configs)
        write_progress(run, [record])
    tuner = _build_tuner(plan, trainable, run)
    outcome = _fit(tuner, spec, run)
    return _finish(spec, plan.source, trainable, run, outcome)


def resume_sweep(
    run_dir: str, address: str | None = None, function: TrainFn | None = None
) -> SweepOutcome:
    """Continue an interrupted sweep in ``run_dir`` from its last experiment snapshot
    (``function``: as for ``run_sweep``; needed when the run was started with one)."""
    from ray import tune

    run = RunStorage.open(run_dir)
    if not run.exists(SPEC_FILE) or not run.exists(TUNER_STATE_FILE):
        raise UserError(
            f"{run_dir}: not a resumable tune-jobs run (no {SPEC_FILE} or {TUNER_STATE_FILE})"
        )
    from tune_jobs.results.stage_progress import read_progress

    source = run.path(SPEC_FILE)
    raw = parse_yaml(run.read_bytes(SPEC_FILE).decode(), source)
    spec = build(SweepSpec, raw, "", source)
    trainable = _trainable(spec, source, function)
    init_ray(address)
    check_cluster_fits(spec.resources)
    configure_tune()
    records = read_progress(run) if spec.stages else []
    current = records[-1] if records else {"index": 1, "status": "running", "dir": "."}
    if current["status"] != "running":  # between stages: go on with the next one
        return _finish(spec, source, trainable, run, None)
    rel = current["dir"]
    if current["index"] > 1 and not run.exists(rel, TUNER_STATE_FILE):
        # Killed before Tune wrote this stage's state: nothing of it ran; start it.
        plan = make_plan(spec_from_record(spec, records), source)
        tuner = _build_tuner(plan, trainable, run, stage=current["index"])
    else:
        if tuner_state_is_damaged(run, rel):  # driver killed while Tune rewrote it
            stage_spec = spec_from_record(spec, records) if current["index"] > 1 else spec
            _build_tuner(make_plan(stage_spec, source), trainable, run, current["index"])
            print(f"tune-jobs: {TUNER_STATE_FILE} was cut short; rebuilt it", file=sys.stderr)
        for line in check_snapshot(run, rel, run_dir):  # older runs: a cut-short state file
            print(f"tune-jobs: {line}", file=sys.stderr)
        # With storage_filesystem given, Tune takes a path on that filesystem (no URI).
        tuner = tune.Tuner.restore(
            run.root if rel == "." else run.path(rel),
            trainable=tune.with_resources(trainable, spec.resources.request()),
            resume_unfinished=True,
            resume_errored=True,
            storage_filesystem=run.tune_filesystem,
        )
    with refuse_silent_restart(run_dir):  # Tune would start over with no trials
        outcome = _fit(tuner, spec, run)
    return _finish(spec, source, trainable, run, outcome)


def _trainable(spec: SweepSpec, source: str, function: TrainFn | None) -> TrainFn:
    if function is not None:
        return wrap_trainable(function)
    return resolve_trainable(spec.trainable, source)


def _run_dir(spec: SweepSpec, run: RunStorage) -> str:
    """RUN_DIR as ``analysis.load`` takes it (a path, or the URI)."""
    return run.root if run.is_local else join_storage(spec.storage, spec.name)


def _finish(
    spec: SweepSpec,
    source: str,
    trainable: Any,
    run: RunStorage,
    outcome: SweepOutcome | None,
) -> SweepOutcome:
    """Run the stages after the one ``outcome`` finished, then print the median ranking."""
    if spec.stages:
        outcome = run_later_stages(
            spec,
            source,
            run,
            _run_dir(spec, run),
            outcome,
            lambda plan, stage: _fit(_build_tuner(plan, trainable, run, stage), spec, run),
            lambda: _outcome(spec, run),
        )
    assert outcome is not None
    if spec.repeats.n > 1:
        objective = Objective.from_spec(spec)
        lines = summary_lines(load_trials(_run_dir(spec, run)), objective, spec.repeats.seed_key)
        if lines:
            print("\n" + "\n".join(lines))
    return outcome


def _build_tuner(plan: RunPlan, trainable: Any, run: RunStorage, stage: int = 1) -> Any:
    from ray import tune

    from tune_jobs.results.stage_progress import STAGES_DIR

    spec = plan.spec
    configure_tune()
    strategy = build_strategy(plan)
    sink = ParquetResultsSink(
        spec.storage,
        spec.name,
        stage=stage,
        seed_key=spec.repeats.seed_key,
        seed_base=repeat_base(spec),
        repeats=spec.repeats.n,
        sweep_state=strategy.tracker,
    )
    callbacks = [
        strategy.callback,
        sink,
        TensorBoardSink(spec.storage, spec.name, spec.metric),
        # Comes back with Tuner.restore: repairs trials whose checkpoint was pruned
        # after the snapshot that names it (see tune_jobs.execution.setup).
        CheckpointRepair(),
    ]
    _, base = split_storage(spec.storage)
    name = spec.name
    if stage > 1:  # its own Tune experiment: RUN_DIR/stages/stage<k>
        name = f"stage{stage}"
        base = posixpath.join(base, spec.name, STAGES_DIR)
    return tune.Tuner(
        tune.with_resources(trainable, spec.resources.request()),
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
            name=name,
            # With storage_filesystem given, Tune takes a path on it, never the URI.
            storage_path=base,
            storage_filesystem=run.tune_filesystem,
            stop=strategy.stopper,
            callbacks=callbacks,
            failure_config=tune.FailureConfig(
                max_failures=spec.max_failures, fail_fast=spec.fail_fast
            ),
            # Upload trial-directory files (stdout/stderr logs of command trainables).
            sync_config=tune.SyncConfig(sync_artifacts=True),
            checkpoint_config=tune.CheckpointConfig(
                num_to_keep=plan.checkpoints_to_keep,
                checkpoint_score_attribute=spec.metric if spec.keep_best_checkpoints else None,
                checkpoint_score_order=spec.mode,
            ),
            verbose=1,
        ),
    )


def build_pilot_tuner(
    spec: SweepSpec,
    trainable: Any,
    config: dict[str, Any],
    storage_path: str,
    iterations: int,
    callback: Any,
) -> Any:
    """The Tuner of a ``validate --pilot`` trial: one config, ``iterations`` results, in
    a throw-away ``storage_path``, with no result files of Tune's own."""
    from ray import tune

    configure_tune()
    return tune.Tuner(
        tune.with_resources(trainable, spec.resources.as_ray()),
        param_space=config,
        tune_config=tune.TuneConfig(num_samples=1),
        run_config=tune.RunConfig(
            name="pilot",
            storage_path=storage_path,
            stop={"training_iteration": iterations},
            callbacks=[callback],
            verbose=0,
        ),
    )


def _fit(tuner: Any, spec: SweepSpec, run: RunStorage) -> SweepOutcome:
    try:
        tuner.fit()
    except Exception as err:
        # Tune wraps errors raised in the driver loop (e.g. our PBT checkpoint check):
        # surface a user error as its one line, results written so far stay; so is a
        # storage that fails mid-run (an OSError writing results or Tune's state).
        user = _user_error_in(err) or storage_failure(err, spec.storage, _run_dir(spec, run))
        if user is None:
            raise
        raise user from None
    outcome = _outcome(spec, run)
    if spec.fail_fast and outcome.statuses.get(ERROR):
        outcome.stop_reason = FAIL_FAST
    return outcome


def _user_error_in(err: BaseException) -> UserError | None:
    """The first ``UserError`` in an exception's cause/context chain."""
    seen: set[int] = set()
    current: BaseException | None = err
    while current is not None and id(current) not in seen:
        if isinstance(current, UserError):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def _outcome(spec: SweepSpec, run: RunStorage) -> SweepOutcome:
    trials = load_trials(_run_dir(spec, run))
    statuses = trials["status"].value_counts().to_dict() if not trials.empty else {}
    best = best_trial(trials, Objective.from_spec(spec))
    best_id = best_value = None
    if best is not None:
        best_id = str(best["trial_id"])
        best_value = float(best[spec.metric]) if spec.metric in best.index else None
    return SweepOutcome(_run_dir(spec, run), statuses, best_id, best_value)
