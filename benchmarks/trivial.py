"""Trivial trainables for ``benchmarks/sweep_overhead.py`` (no real work, only reporting)."""

from __future__ import annotations

import time
from typing import Any

from ray import tune


def train(config: dict[str, Any]) -> None:
    """``config["n"]`` results (default 10); ``loss`` depends on the sampled ``x``."""
    for i in range(int(config.get("n", 10))):
        tune.report({"loss": config["x"] * i, "i": i})


def train_fast(config: dict[str, Any]) -> None:
    """Report ``config["n"]`` results as fast as possible, each stamped with ``t``.

    ``t`` is ``time.perf_counter()`` in this process just before the result is
    handed to Tune, so the span between the first and last ``t`` is the time the
    trainable needed to get all results accepted.
    """
    n = int(config["n"])
    for i in range(n):
        x = float(i)
        tune.report(
            {
                "loss": 1.0 / (1.0 + x),
                "a": x,
                "b": 2.0 * x,
                "c": x * x,
                "d": -x,
                "t": time.perf_counter(),
            }
        )
