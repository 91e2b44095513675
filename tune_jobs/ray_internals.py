"""Every private part of Ray Tune (and of hyperopt) that tune-jobs relies on, in one place.

Ray's public API covers running a sweep, not repairing one: failing a hung trial through
Tune's own failure path, mending a resumed trial whose checkpoint is gone, knowing which
repeat of a configuration a trial is, or noticing that Tune could not restore a snapshot.
Each function below says what it touches and why no public route exists. Nothing
else in the product touches a private Ray name (``tests/architecture`` checks), so a new
Ray version is one file to review.

``PRIVATE_NAMES`` lists each private name; ``tests/tune_jobs/test_ray_internals.py``
checks every one still exists in the installed Ray, and ``check_ray_version`` refuses,
in one line, to run under a Ray minor these were not checked against.
"""

from __future__ import annotations

import re
from typing import Any

from tune_jobs.errors import UserError

__all__ = [
    "CONTROLLER_LOGGER",
    "EXPERIMENT_STATE_FILES",
    "PRIVATE_NAMES",
    "RESTORE_FAILED_MESSAGE",
    "SNAPSHOT_FOLLOWER_FILES",
    "STATE_FILE_TEMPLATES",
    "TESTED_RAY",
    "TUNER_STATE_FILE",
    "advance_checkpoint_index",
    "check_ray_version",
    "checkpoint_index",
    "checkpoint_manager",
    "define_hyperopt_function",
    "fail_trial",
    "pbt_interval",
    "repeat_position",
    "replace_checkpoints",
    "tune_rng",
]

#: The Ray minor version every name below was checked against (``pyproject.toml`` pins it).
TESTED_RAY = "2.60"

# --- Tune's state files -----------------------------------------------------------------
# Tune names its per-session snapshot files after private templates (``CKPT_FILE_TMPL``);
# the atomic filesystem orders their writes and ``resume`` checks them, so both must know
# the names without waiting for Tune to write them.

#: Written by Ray Tune (``tuner_internal._TUNER_PKL``); it marks a run ``Tuner.restore`` can resume.
TUNER_STATE_FILE = "tuner.pkl"
#: Tune's per-session experiment state (the trial list), one file per driver session.
EXPERIMENT_STATE_FILES = "experiment_state-*.json"
#: Tune's other per-session state files, saved with each experiment snapshot: the
#: callbacks', the searcher's and the search generator's (basic-variant or wrapper).
SNAPSHOT_FOLLOWER_FILES = (
    "callback-states-*.pkl",
    "searcher-state-*.pkl",
    "basic-variant-state-*.json",
    "search_gen_state-*.json",
)
#: Where each name above comes from: (module, dotted attribute) of Tune's template.
STATE_FILE_TEMPLATES: dict[str, tuple[str, str]] = {
    TUNER_STATE_FILE: ("ray.tune.impl.tuner_internal", "_TUNER_PKL"),
    EXPERIMENT_STATE_FILES: ("ray.tune.execution.tune_controller", "TuneController.CKPT_FILE_TMPL"),
    "callback-states-*.pkl": ("ray.tune.callback", "CallbackList.CKPT_FILE_TMPL"),
    "searcher-state-*.pkl": ("ray.tune.search.searcher", "Searcher.CKPT_FILE_TMPL"),
    "basic-variant-state-*.json": (
        "ray.tune.search.basic_variant",
        "BasicVariantGenerator.CKPT_FILE_TMPL",
    ),
    "search_gen_state-*.json": (
        "ray.tune.search.search_generator",
        "SearchGenerator.CKPT_FILE_TMPL",
    ),
}

# --- Tune's restore failure ----------------------------------------------------------------
# ``TuneController.__init__`` catches any error while restoring, logs this message and
# starts the experiment over; ``results.snapshot.refuse_silent_restart`` listens for it
# on this logger to stop with one line instead (no public hook exists).

#: The logger of Tune's controller.
CONTROLLER_LOGGER = "ray.tune.execution.tune_controller"
#: The exact message it logs when restoring the experiment state failed.
RESTORE_FAILED_MESSAGE = "Failed to restore the run state."

#: Every private name used here: (module, dotted attribute). An attribute that Ray sets in
#: ``__init__`` (not on the class) is found in the class's source as ``self.<name> =``.
PRIVATE_NAMES: tuple[tuple[str, str], ...] = (
    ("ray.tune.execution.tune_controller", "TuneController._process_trial_failure"),
    ("ray.train._internal.checkpoint_manager", "_CheckpointManager.register_checkpoint"),
    ("ray.train._internal.checkpoint_manager", "_CheckpointManager.latest_checkpoint_result"),
    ("ray.train._internal.checkpoint_manager", "_CheckpointManager.best_checkpoint_results"),
    ("ray.train._internal.checkpoint_manager", "_CheckpointManager.checkpoint_config"),
    ("ray.tune.experiment.trial", "Trial.run_metadata"),
    ("ray.tune.experiment.trial", "Trial.invalidate_json_state"),
    ("ray.tune.trainable.metadata", "_TrainingRunMetadata.checkpoint_manager"),
    ("ray.tune.trainable.metadata", "_TrainingRunMetadata.invalidate_cache"),
    ("ray.train._internal.storage", "StorageContext.current_checkpoint_index"),
    ("ray.tune.search.repeater", "Repeater._trial_id_to_group"),
    ("ray.tune.search.repeater", "_TrialGroup._trials"),
    ("ray.tune.schedulers.pbt", "PopulationBasedTraining._time_attr"),
    ("ray.tune.schedulers.pbt", "PopulationBasedTraining._perturbation_interval"),
    ("ray.tune.search.sample", "_BackwardsCompatibleNumpyRng"),
    ("hyperopt.pyll.base", "SymbolTable._impls"),
    *STATE_FILE_TEMPLATES.values(),
)


def check_ray_version(installed: str | None = None) -> None:
    """Refuse, in one line, a Ray whose minor version is not ``TESTED_RAY``."""
    if installed is None:
        import ray

        installed = ray.__version__
    match = re.match(r"(\d+)\.(\d+)", installed)
    if match is None or f"{match[1]}.{match[2]}" != TESTED_RAY:
        raise UserError(
            f"tune-jobs is tested with Ray {TESTED_RAY}.x and relies on its private parts "
            f"(tune_jobs/ray_internals.py); this Python has Ray {installed}: "
            f"pip install 'ray[tune,default]>={TESTED_RAY},<{_next_minor(TESTED_RAY)}'"
        )


def _next_minor(version: str) -> str:
    major, minor = version.split(".")
    return f"{major}.{int(minor) + 1}"


# --- failing a trial from outside ---------------------------------------------------------


def fail_trial(tune_controller: Any, trial: Any, error: Exception) -> None:
    """Fail ``trial`` as if its actor had raised ``error``: ERROR status, ``on_trial_error``
    callbacks, a retry under ``max_failures``.

    The hang watchdog needs Tune's own failure path (a public ``stop`` would mark the
    trial TERMINATED and never retry it). Schedulers receive the controller behind a
    wrapper that warns on unlisted attributes, so the wrapped controller is unwrapped.
    """
    controller = getattr(tune_controller, "_tune_controller", tune_controller)
    controller._process_trial_failure(trial, exception=error)


# --- a resumed trial's checkpoints -------------------------------------------------------
# ``resume`` mends trials whose recorded checkpoint directory is gone (Tune would fail
# restoring them) and moves each trial's checkpoint index past directories the stopped
# run was still writing. Tune exposes neither the checkpoint list nor the index.


def checkpoint_manager(trial: Any) -> Any:
    """The trial's checkpoint manager (``latest_checkpoint_result``,
    ``best_checkpoint_results``), or None."""
    return trial.run_metadata.checkpoint_manager


def replace_checkpoints(trial: Any, results: list[Any]) -> None:
    """Give ``trial`` a checkpoint manager holding ``results`` (oldest first; the last one
    becomes the latest) and refresh Tune's cached JSON state of the trial."""
    from ray.train._internal.checkpoint_manager import _CheckpointManager

    manager = trial.run_metadata.checkpoint_manager
    fresh = _CheckpointManager(manager.checkpoint_config)
    for result in results:  # no more than num_to_keep: registering deletes nothing
        fresh.register_checkpoint(result)
    trial.run_metadata.checkpoint_manager = fresh
    trial.run_metadata.invalidate_cache()
    trial.invalidate_json_state()


def checkpoint_index(storage: Any) -> int:
    """The index of the trial's next ``checkpoint_<index>`` directory."""
    return int(storage.current_checkpoint_index)


def advance_checkpoint_index(trial: Any, index: int) -> None:
    """Make ``trial``'s next checkpoint directory ``checkpoint_<index>``."""
    trial.storage.current_checkpoint_index = index
    trial.invalidate_json_state()


# --- which repeat a trial is ---------------------------------------------------------------


def repeat_position(repeater: Any, trial_id: str) -> int:
    """0 for the first trial of its ``Repeater`` group, 1 for the next, ...

    Tune's Repeater writes this index into the config only under a fixed top-level key
    (``set_index``); the seed repeater puts a seed at the user's dotted key instead.
    """
    group = repeater._trial_id_to_group[trial_id]
    return list(group._trials).index(trial_id)


# --- PBT's settings --------------------------------------------------------------------------


def pbt_interval(scheduler: Any) -> tuple[str, float]:
    """(time attribute, perturbation interval) of a ``PopulationBasedTraining``
    (also PB2); PBT keeps them only as private attributes."""
    return scheduler._time_attr, float(scheduler._perturbation_interval)


# --- sampling ---------------------------------------------------------------------------------


def tune_rng(random_state: Any) -> Any:
    """Tune's random-state wrapper around what a custom sampler receives (None, a seed, a
    legacy ``RandomState`` or a ``Generator``), so our samplers draw from the stream Tune
    seeds; Tune's own samplers use this private class the same way."""
    from ray.tune.search.sample import _BackwardsCompatibleNumpyRng

    if isinstance(random_state, _BackwardsCompatibleNumpyRng):
        return random_state
    return _BackwardsCompatibleNumpyRng(random_state)


# --- hyperopt ----------------------------------------------------------------------------------


def define_hyperopt_function(fn: Any) -> None:
    """Register ``fn`` as a pure pyll function once (hyperopt raises on a second
    definition and has no public "is defined" query)."""
    from hyperopt.pyll import scope

    if fn.__name__ not in scope._impls:
        scope.define_pure(fn)
