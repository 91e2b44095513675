"""Names of the files tune-jobs writes inside RUN_DIR (documented in docs/results.md)."""

__all__ = [
    "BOOKKEEPING_COLUMNS",
    "EXPERIMENT_STATE_FILES",
    "FINISHED_STATUSES",
    "METRICS_DIR",
    "SCHEMA_PART",
    "SNAPSHOT_FOLLOWER_FILES",
    "SPEC_FILE",
    "TENSORBOARD_DIR",
    "TRIALS_FILE",
    "TUNER_STATE_FILE",
]

#: The resolved spec the run was started from.
SPEC_FILE = "spec.yaml"
#: One row per trial, rewritten atomically as trials change.
TRIALS_FILE = "trials.parquet"
#: Parquet dataset, one row per reported result, appended as part files.
METRICS_DIR = "metrics"
#: Zero-row file holding the union schema of ``metrics/``; it sorts first, so dataset
#: readers take their schema from it and see columns first written in later parts.
SCHEMA_PART = "part-00000000-schema.parquet"
#: One TensorBoard run per trial lives below this directory.
TENSORBOARD_DIR = "tensorboard"
#: Written by Ray Tune; its presence marks a run that ``Tuner.restore`` can resume.
TUNER_STATE_FILE = "tuner.pkl"

#: The first columns of ``trials.parquet``: the trial's identity and state, not metrics.
BOOKKEEPING_COLUMNS = (
    "trial_id",
    "trial_name",
    "status",
    "variant",
    "stage",
    "config_id",
    "repeat",
    "attempt",
    "num_failures",
    "error",
    "path",
)

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

#: Trial statuses in trials.parquet that mean "done" (not resumable).
FINISHED_STATUSES = ("TERMINATED", "ERROR", "DIVERGED", "SKIPPED")
