"""Before a sweep starts: its run directory, Ray Tune's process-wide settings, and the
repair of restored trials whose recorded checkpoint is gone (``CheckpointRepair``).

Why a restored trial can name a deleted checkpoint: with ``checkpoints_to_keep: K``,
Ray's per-trial ``_CheckpointManager.register_checkpoint`` deletes the oldest checkpoint
the moment the K-th newer one is registered, while the experiment snapshot that names it
is replaced only later (Tune forces a new snapshot after K checkpoints, but at the end of
that controller step, and uploads it to storage in a background thread). A driver killed
in between (``ray job stop``, SIGKILL) leaves a newest snapshot whose trial checkpoint no
longer exists; ``Tuner.restore`` would then fail that trial ("Could not recover from
checkpoint as it does not exist on storage anymore").

The same kill can prune an older checkpoint the snapshot still keeps. Ray deletes the
oldest kept checkpoint when a new one is registered, and deleting a directory that is
gone raises (``ray.train._internal.storage._delete_fs_path`` checks the path outside
its ``try``); ``Trial.on_checkpoint`` then skips ``_update_checkpoint_index``, so the
driver's checkpoint index falls one behind the directories its trial writes. A later
stop and resume would start the trial's actor at that stale index, and its first new
checkpoint would overwrite the directory the snapshot pairs with the previous iteration
(seen: a resumed run's final index 77 with its newest checkpoint in ``checkpoint_000078``).
``repair_missing_checkpoints`` therefore also drops every gone checkpoint from a trial's
bookkeeping and moves its checkpoint index past every ``checkpoint_*`` directory that
exists, so a resumed trial never writes into a directory written before.
"""

from __future__ import annotations

import logging
import os
import re
import sys
from collections.abc import Iterable
from typing import Any

import yaml
from ray.tune import Callback

from tune_jobs.errors import UserError
from tune_jobs.names import SPEC_FILE
from tune_jobs.ray_internals import (
    TUNER_STATE_FILE,
    advance_checkpoint_index,
    checkpoint_index,
    checkpoint_manager,
    replace_checkpoints,
)
from tune_jobs.results.storage import RunStorage
from tune_jobs.spec.loader import spec_to_dict
from tune_jobs.spec.schema import SweepSpec

__all__ = [
    "CheckpointRepair",
    "configure_tune",
    "prepare_run_dir",
    "repair_missing_checkpoints",
    "tuner_state_is_damaged",
]


def prepare_run_dir(run: RunStorage, spec: SweepSpec, source: str, where: str) -> None:
    """Create RUN_DIR with the resolved spec; one-line errors for unreachable or unwritable
    storage and for a run of that name that already exists (``where``: RUN_DIR as shown)."""
    try:
        exists = run.exists(TUNER_STATE_FILE)
    except OSError as err:
        raise UserError(f"{spec.storage}: storage is not reachable ({err})") from None
    if exists:
        raise UserError(
            f"{where}: a run named {spec.name!r} already exists; resume it with "
            f"`tune-jobs resume {where}` or pick another --name"
        )
    try:
        run.makedirs()
        text = f"# Resolved from {source}\n" + yaml.safe_dump(spec_to_dict(spec), sort_keys=False)
        run.write_bytes(text.encode(), SPEC_FILE)
    except OSError as err:
        raise UserError(f"{spec.storage}: storage is not writable ({err})") from None


def tuner_state_is_damaged(run: RunStorage, rel: str) -> bool:
    """Whether ``RUN_DIR/rel/tuner.pkl`` is empty or cut short.

    Tune rewrites it non-atomically (the driver's staging directory is copied to storage),
    so a driver killed during that copy can leave it truncated (seen: 0 bytes), and
    ``Tuner.restore`` then fails with ``EOFError``. Such a file is rebuilt from spec.yaml.
    """
    import pickle

    data = run.read_bytes(rel, TUNER_STATE_FILE)
    try:
        pickle.loads(data)
    except (EOFError, pickle.UnpicklingError):
        return True
    return False


def configure_tune() -> None:
    """Process-wide Tune settings for every sweep, set in this one place."""
    # Tune's CSV/JSON/TensorBoardX loggers duplicate our sinks and halve throughput.
    os.environ["TUNE_DISABLE_AUTO_CALLBACK_LOGGERS"] = "1"
    # Trainables report a validation metric only every few results (eval_every);
    # Tune's schedulers skip results without it, but its strict check would crash.
    os.environ["TUNE_DISABLE_STRICT_METRIC_CHECKING"] = "1"
    # A trial failed as hung (tune_jobs.stopping.watchdog) never answers Tune's polite
    # stop: kill its actor after 10 s instead of Tune's default 600 s.
    os.environ.setdefault("TUNE_FORCE_TRIAL_CLEANUP_S", "10")
    # Variant presets differ from the base config on purpose; and without those
    # loggers Tune's own ResultGrid has no per-trial metrics (ours are in Parquet).
    logging.getLogger("ray.tune.search.variant_generator").setLevel(logging.ERROR)
    logging.getLogger("ray.tune.analysis.experiment_analysis").setLevel(logging.ERROR)


class CheckpointRepair(Callback):
    """Tune callback: before a restored sweep starts any trial, repair trials whose
    recorded checkpoint no longer exists (``repair_missing_checkpoints``).

    Runs once, at the first controller step (after ``Tuner.restore`` re-queued the
    trials, before any trial actor starts). Pickled into ``tuner.pkl`` like every
    callback, so it comes back with ``Tuner.restore``; a new sweep has no checkpoints
    yet and costs nothing.
    """

    def __init__(self) -> None:
        self._checked = False

    def __getstate__(self) -> dict[str, Any]:
        return {}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._checked = False

    def on_step_begin(self, iteration: int, trials: list, **info: Any) -> None:
        if self._checked:
            return
        self._checked = True
        for line in repair_missing_checkpoints(trials):
            print(f"tune-jobs: {line}", file=sys.stderr)


def repair_missing_checkpoints(trials: Iterable[Any]) -> list[str]:
    """Repair the checkpoint bookkeeping of each pending trial before it restarts.

    A trial whose latest checkpoint is gone resumes from its newest remaining recorded
    checkpoint or, with none left, restarts from scratch (same trial id); one line per
    such trial is returned. Older recorded checkpoints that are gone are dropped quietly
    (Ray's pruning would fail on them), and the trial's checkpoint index moves past every
    ``checkpoint_*`` directory on storage (see the module docstring).

    Exactly-once still holds: results up to any checkpoint the snapshot recorded are on
    disk (the sink flushes before each snapshot), and a restored or restarted trial
    re-reports the later iterations under a new ``attempt`` that supersedes the old rows
    (``analysis.load.clean_view``).

    Uses Tune's private trial bookkeeping through ``tune_jobs.ray_internals``.
    """
    from ray.tune.experiment import Trial

    lines: list[str] = []
    for trial in trials:
        if trial.status not in (Trial.PENDING, Trial.PAUSED):
            continue
        _skip_written_checkpoint_dirs(trial)
        manager = checkpoint_manager(trial)
        latest = manager.latest_checkpoint_result if manager is not None else None
        if latest is None:
            continue
        recorded = [r for r in manager.best_checkpoint_results if r is not latest]
        # Another entry naming the latest one's directory would delete it when pruned.
        kept = [
            r
            for r in recorded
            if r.checkpoint.path != latest.checkpoint.path and _checkpoint_exists(r.checkpoint)
        ]
        latest_exists = _checkpoint_exists(latest.checkpoint)
        if latest_exists and len(kept) == len(recorded):
            continue
        kept.sort(key=lambda result: result.metrics.get("training_iteration", 0))
        replace_checkpoints(trial, [*kept, latest] if latest_exists else kept)
        if latest_exists:
            continue
        gone = latest.checkpoint.path
        if kept:
            lines.append(
                f"trial {trial.trial_id}: its checkpoint {gone} is gone; resuming from "
                f"{kept[-1].checkpoint.path} instead"
            )
        else:
            lines.append(
                f"trial {trial.trial_id}: its checkpoint {gone} is gone and no older one "
                "is left; restarting it from the beginning"
            )
    return lines


_CHECKPOINT_DIR = re.compile(r"checkpoint_(\d+)")


def _skip_written_checkpoint_dirs(trial: Any) -> None:
    """Move the trial's checkpoint index past every ``checkpoint_<index>`` directory in
    its trial directory, plus one: the stopped run's actor of this trial may still be
    persisting its next checkpoint. Its next checkpoint then goes to a new directory."""
    import pyarrow.fs as pafs

    storage = getattr(trial, "storage", None)
    if storage is None:
        return
    try:
        infos = storage.storage_filesystem.get_file_info(
            pafs.FileSelector(storage.trial_fs_path, allow_not_found=True)
        )
    except OSError:
        return  # storage unreachable: Tune reports it when the trial starts
    indices = [
        int(match.group(1))
        for info in infos
        if info.type == pafs.FileType.Directory
        and (match := _CHECKPOINT_DIR.fullmatch(info.base_name))
    ]
    if indices and max(indices) + 1 > checkpoint_index(storage):
        advance_checkpoint_index(trial, max(indices) + 1)


def _checkpoint_exists(checkpoint: Any) -> bool:
    """Whether a Tune ``Checkpoint``'s directory exists on its filesystem."""
    import pyarrow.fs as pafs

    try:
        info = checkpoint.filesystem.get_file_info(checkpoint.path)
    except OSError:
        return True  # storage unreachable: let Tune report it as usual
    return info.type != pafs.FileType.NotFound
