"""Before a sweep starts: its run directory, and Ray Tune's process-wide settings."""

from __future__ import annotations

import logging
import os

import yaml

from tune_jobs.errors import UserError
from tune_jobs.layout import SPEC_FILE, TUNER_STATE_FILE
from tune_jobs.spec.loader import spec_to_dict
from tune_jobs.spec.schema import SweepSpec
from tune_jobs.storage import RunStorage

__all__ = ["configure_tune", "prepare_run_dir"]


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
