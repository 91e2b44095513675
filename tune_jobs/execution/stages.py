"""Running a staged sweep: one Tune experiment per stage, each from the previous top-k.

Stage 1 runs in RUN_DIR itself, stage ``k`` in ``RUN_DIR/stages/stage<k>``; all write
the same Parquet tables and TensorBoard folder of RUN_DIR. ``RUN_DIR/stages.json``
(``tune_jobs.results.stage_progress``) records each stage's status and derived space:
``resume`` restores the stage that was running (never re-running a finished one) and
then runs the stages after it. The shrink rule itself is ``tune_jobs.plan.stages``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from tune_jobs.errors import UserError
from tune_jobs.names import FINISHED_STATUSES, SKIPPED
from tune_jobs.plan.run_plan import RunPlan, make_plan
from tune_jobs.plan.stages import locked_config, refine_space, stage_spec, top_configs
from tune_jobs.results.stage_progress import (
    read_progress,
    space_from_data,
    stage_record,
    write_progress,
)
from tune_jobs.results.storage import RunStorage
from tune_jobs.results.tables import load_trials
from tune_jobs.spec.schema import SweepSpec

__all__ = ["run_later_stages", "spec_from_record", "stage_statuses"]

OutcomeT = TypeVar("OutcomeT")


def spec_from_record(spec: SweepSpec, records: list[dict[str, Any]]) -> SweepSpec:
    """The ``SweepSpec`` of the last recorded stage (index >= 2)."""
    record, previous = records[-1], records[-2]
    space = space_from_data(record["space"])
    return stage_spec(spec, record["index"], space, record["config"], previous["configs"])


def stage_statuses(run_dir: str, stage: int) -> dict[str, int]:
    """Trial counts by status of stage ``stage``, from ``trials.parquet``."""
    trials = load_trials(run_dir)
    if trials.empty:
        return {}
    if "stage" in trials.columns:
        trials = trials[trials["stage"].fillna(1).astype(int) == stage]
    return trials["status"].value_counts().to_dict()


def run_later_stages(
    spec: SweepSpec,
    source: str,
    run: RunStorage,
    run_dir: str,
    outcome: OutcomeT | None,
    run_stage: Callable[[RunPlan, int], OutcomeT],
    final_outcome: Callable[[], OutcomeT],
) -> OutcomeT:
    """Mark the current stage done and run every later stage, one after the other.

    ``run_stage(plan, index)`` runs one stage's Tune experiment (the runner builds the
    Tuner); ``final_outcome()`` reads the sweep's outcome when no stage ran here.
    """

    records = read_progress(run)
    while True:
        current = records[-1]
        index = current["index"]
        statuses = stage_statuses(run_dir, index)
        if any(status not in FINISHED_STATUSES for status in statuses):
            assert outcome is not None
            return outcome  # interrupted: `tune-jobs resume` continues this stage
        if current["status"] == "running":
            current["status"] = "done"
            write_progress(run, records)
        if current["status"] == "skipped" or index > len(spec.stages):
            break
        if statuses.get(SKIPPED):
            print(f"\nstage {index} stopped the sweep early; later stages are not run")
            break
        nxt = spec.stages[index - 1]
        name = spec.stage_name(index + 1)
        space = space_from_data(current["space"])
        top = top_configs(load_trials(run_dir), spec, index, nxt.top_k, list(space))
        if not top:
            raise UserError(
                f"{run.root}: stage {index + 1} ({name}): no configuration of stage {index} "
                f"finished with a value of {spec.metric}; cannot derive its space"
            )
        refined = refine_space(space, spec.space, top, nxt.widen)
        config = locked_config(current["config"], refined.locked)
        record = stage_record(index + 1, name, refined.space, config, refined.locked, 0)
        locked = ", ".join(f"{k}={v}" for k, v in refined.locked.items()) or "none"
        if not refined.space:
            record["status"] = "skipped"
            records.append(record)
            write_progress(run, records)
            print(f"\nstage {index + 1} ({name}): the top {len(top)} agree on every parameter")
            print(f"  ({locked}); nothing left to search, later stages are not run")
            break
        stage_sweep = stage_spec(spec, index + 1, refined.space, config, current["configs"])
        plan = make_plan(stage_sweep, source)
        record["configs"] = plan.num_configs
        records.append(record)
        write_progress(run, records)
        print(f"\nstage {index + 1} ({name}): {plan.num_trials} trials; locked: {locked}")
        for key, domain in refined.space.items():
            print(f"  {key}: {domain.describe()}")
        outcome = run_stage(plan, index + 1)
    if outcome is None:
        outcome = final_outcome()
    return outcome
