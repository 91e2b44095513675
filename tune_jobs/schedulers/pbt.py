"""PBT and PB2 with two guards Ray Tune lacks.

- ``NeedsCheckpoints``: Ray's PBT silently skips exploitation (an info-level log line)
  when the donor never reported a checkpoint, and restarts paused trials from scratch;
  a sweep then quietly becomes a broken random search. Here a trial that has run two
  perturbation intervals without any checkpoint stops the sweep with a clear error.
- ``ClipToSpace``: Ray perturbs continuous values by x0.8 / x1.2 without clipping, so a
  learning rate can leave the spec's range; values are clipped back into it.
"""

from __future__ import annotations

import math
from typing import Any

from ray.tune.schedulers import PopulationBasedTraining
from ray.tune.schedulers.pb2 import PB2

from tune_jobs.errors import UserError
from tune_jobs.nested import MISSING, get_dotted, set_dotted
from tune_jobs.ray_internals import pbt_interval

__all__ = ["CheckedPB2", "CheckedPBT", "ClipToSpace", "PBTCheckpointError"]


class PBTCheckpointError(UserError):
    """A PBT/PB2 sweep's trainable never reported a checkpoint."""


class ClipToSpace:
    """``custom_explore_fn`` clipping perturbed values into ``bounds``.

    Args:
        bounds: dotted key -> ``(low, high, integer)``.
    """

    def __init__(self, bounds: dict[str, tuple[float, float, bool]]) -> None:
        self.bounds = bounds

    def __call__(self, config: dict[str, Any]) -> dict[str, Any]:
        for key, (low, high, integer) in self.bounds.items():
            value = get_dotted(config, key)
            if value is MISSING or isinstance(value, bool) or not isinstance(value, (int, float)):
                continue
            value = min(max(value, low), high)
            set_dotted(config, key, round(value) if integer else value)
        return config


class NeedsCheckpoints:
    """Mixin: a trial two perturbation intervals in without a checkpoint is an error."""

    def on_trial_result(self, tune_controller: Any, trial: Any, result: dict) -> str:
        """Check the trial has checkpointed, then let PBT decide."""
        time_attr, interval = pbt_interval(self)
        time_value = result.get(time_attr)
        if (
            isinstance(time_value, (int, float))
            and math.isfinite(time_value)
            and time_value >= 2 * interval
            and trial.checkpoint is None
        ):
            raise PBTCheckpointError(
                f"trial {trial.trial_id} reached {time_attr}={time_value:g} without "
                "reporting any checkpoint; PBT/PB2 copy a donor's checkpoint, so the "
                "trainable must report one at least every perturbation_interval "
                "(ray.tune.report(metrics, checkpoint=...))"
            )
        return super().on_trial_result(tune_controller, trial, result)  # type: ignore[misc]


class CheckedPBT(NeedsCheckpoints, PopulationBasedTraining):
    """Ray Tune's ``PopulationBasedTraining`` that refuses checkpoint-less trainables."""


class CheckedPB2(NeedsCheckpoints, PB2):
    """Ray Tune's ``PB2`` that refuses checkpoint-less trainables."""
