"""Names and constants shared across tune-jobs, each defined once: the files inside
RUN_DIR (documented in docs/results.md), trial statuses, bookkeeping columns, and the
time-to-target objective's names and censoring."""

__all__ = [
    "ACTIVE_STATUSES",
    "BAD_STATUSES",
    "BOOKKEEPING_COLUMNS",
    "CENSORED_BASE",
    "DIVERGED",
    "ERROR",
    "FINISHED_STATUSES",
    "METRICS_DIR",
    "NO_VALUE_GAP",
    "PAUSED",
    "PENDING",
    "REACHED_TARGET",
    "RUNNING",
    "SCHEMA_PART",
    "SCORED_STATUSES",
    "SKIPPED",
    "SPEC_FILE",
    "TENSORBOARD_DIR",
    "TERMINATED",
    "TIME_TO_TARGET",
    "TRIALS_FILE",
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


# --- trial statuses (the ``status`` column of trials.parquet) --------------------------
#: Ran to its end (stopped by a rule, a scheduler or its own last iteration).
TERMINATED = "TERMINATED"
#: Raised an error after its retries.
ERROR = "ERROR"
#: Reported ``diverged: true`` or tripped the divergence rule.
DIVERGED = "DIVERGED"
#: Never started: the sweep stopped first (target reached, budget spent).
SKIPPED = "SKIPPED"
RUNNING = "RUNNING"
PENDING = "PENDING"
PAUSED = "PAUSED"
#: Statuses whose metric values are no comparable results: never ranked as best.
BAD_STATUSES = (DIVERGED, ERROR)
#: Statuses that mean "done" (not resumable).
FINISHED_STATUSES = (TERMINATED, ERROR, DIVERGED, SKIPPED)
#: Trials that ran to an end and can be scored (time to target censors these).
SCORED_STATUSES = (TERMINATED, DIVERGED, ERROR)
#: Statuses of trials that are still going (paused: a scheduler will resume it).
ACTIVE_STATUSES = (RUNNING, PAUSED, PENDING)

# --- time to target ---------------------------------------------------------------------
#: The derived metric: training seconds until the target was first reached.
TIME_TO_TARGET = "time_to_target_s"
#: Whether a trial reached the target (a column of trials.parquet).
REACHED_TARGET = "reached_target"
#: Score of a trial that never reached the target: ``CENSORED_BASE`` + its last gap to
#: the target, so it ranks after every trial that reached it, closest first. Larger than
#: any real training time (31 years), small enough that float64 keeps the gap.
CENSORED_BASE = 1.0e9
#: The gap counted for a trial that never reported the target metric.
NO_VALUE_GAP = 1.0e6
