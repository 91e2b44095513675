"""Report results and checkpoints through Ray Tune, and restore the latest checkpoint.

A checkpoint is one ``checkpoint.pt`` holding a plain dict with fixed keys; this module
is the only place trainables touch Ray (``ray.tune.report``, ``ray.tune.get_checkpoint``,
and the CPUs Ray assigned to the trial).
"""

from __future__ import annotations

import random
import tempfile
from pathlib import Path
from typing import Any

import torch

__all__ = [
    "CHECKPOINT_FILE",
    "assigned_cpus",
    "load_checkpoint",
    "report",
    "rng_state",
    "set_rng_state",
]

CHECKPOINT_FILE = "checkpoint.pt"


def report(metrics: dict[str, Any], state: dict[str, Any] | None = None) -> None:
    """Report ``metrics`` to Tune, with ``state`` saved as the checkpoint when given."""
    from ray import tune

    if state is None:
        tune.report(metrics)
        return
    with tempfile.TemporaryDirectory(prefix="tune-jobs-ckpt-") as tmp:
        torch.save(state, Path(tmp) / CHECKPOINT_FILE)
        tune.report(metrics, checkpoint=tune.Checkpoint.from_directory(tmp))


def load_checkpoint() -> dict[str, Any] | None:
    """The state dict of the trial's latest checkpoint, or ``None`` on a fresh start."""
    from ray import tune

    checkpoint = tune.get_checkpoint()
    if checkpoint is None:
        return None
    with checkpoint.as_directory() as path:
        return torch.load(Path(path) / CHECKPOINT_FILE, map_location="cpu", weights_only=False)


def assigned_cpus() -> float | None:
    """The CPUs Ray assigned to this trial; ``None`` outside a Ray worker."""
    import ray

    if not ray.is_initialized():
        return None
    return ray.get_runtime_context().get_assigned_resources().get("CPU")


def rng_state(generator: torch.Generator) -> dict[str, Any]:
    """All random states a training loop depends on, for a checkpoint."""
    state = {
        "torch": torch.get_rng_state(),
        "python": random.getstate(),
        "data": generator.get_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any], generator: torch.Generator) -> None:
    """Restore what ``rng_state`` saved."""
    torch.set_rng_state(state["torch"])
    random.setstate(state["python"])
    generator.set_state(state["data"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
