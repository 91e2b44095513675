"""``SeedRepeater``: Ray Tune's ``Repeater`` giving each repeat its own seed.

Ray's ``Repeater`` asks the wrapped searcher for one configuration, hands it out
``repeat`` times, and reports the mean (``nanmean``) of the group's final metric back
to the wrapped searcher once every repeat has completed: the searcher learns from the
mean over repeats, and sees only the group's first trial. This subclass

- writes ``base + i`` into the config at ``seed_key`` for repeat ``i`` (instead of
  Ray's ``__trial_index__`` key, which the trainable would not understand);
- saves and restores its own groups with the wrapped searcher's state (Ray's
  ``Repeater.save`` saves only the wrapped searcher, so a resumed sweep would not
  know the groups of trials still running and fail when they complete).
"""

from __future__ import annotations

import copy
import os
import pickle
import tempfile
from typing import Any

from ray.tune.search import Repeater, Searcher

from tune_jobs.nested import set_dotted
from tune_jobs.ray_internals import repeat_position

__all__ = ["SeedRepeater"]


class SeedRepeater(Repeater):
    """Repeat each suggestion ``repeat`` times with seeds ``base, base + 1, ...``.

    Args:
        searcher: the searcher proposing configurations.
        repeat: runs per configuration.
        seed_key: the (dotted) config key receiving the seed.
        base: the first seed.
    """

    def __init__(self, searcher: Searcher, repeat: int, seed_key: str, base: int) -> None:
        super().__init__(searcher, repeat=repeat, set_index=False)
        self.seed_key = seed_key
        self.base = base

    def suggest(self, trial_id: str) -> dict[str, Any] | None:
        """The group's configuration with this repeat's seed."""
        config = super().suggest(trial_id)
        if not isinstance(config, dict):
            return config
        index = repeat_position(self, trial_id)
        config = copy.deepcopy(config)
        set_dotted(config, self.seed_key, self.base + index)
        return config

    def save(self, checkpoint_path: str) -> None:
        """Pickle our groups together with the wrapped searcher's saved bytes."""
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "inner.pkl")
            self.searcher.save(path)
            with open(path, "rb") as f:
                inner = f.read()
        with open(checkpoint_path, "wb") as f:
            pickle.dump({"own": self.get_state(), "inner": inner}, f)

    def restore(self, checkpoint_path: str) -> None:
        """Load what ``save`` wrote."""
        with open(checkpoint_path, "rb") as f:
            state = pickle.load(f)
        self.set_state(state["own"])
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "inner.pkl")
            with open(path, "wb") as f:
                f.write(state["inner"])
            self.searcher.restore(path)
