"""Analytic test functions with known optima: cheap trainables for testing searchers.

``branin`` (2-D, global minimum 0.397887 at three points) and ``hartmann6`` (6-D,
global minimum -3.32237) evaluate a closed-form function at the config's coordinates.
With ``noise`` > 0 they behave like a multi-fidelity trial: at iteration ``i`` the
reported ``value`` is ``f(x) + noise * N(0, 1) / sqrt(i)``, so more iterations give a
more accurate value (the last one is the closest to ``f(x)``). The noise comes from a
generator seeded by ``seed``; checkpoints hold its state, so a restored trial reports
exactly what an uninterrupted one reports.

Checkpoint (a plain dict): ``iteration``, ``rng`` (the generator's state), ``config``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from trainables._checkpoint import load_checkpoint, report
from trainables._config import build_config

__all__ = [
    "BRANIN_MINIMIZERS",
    "BRANIN_MINIMUM",
    "HARTMANN6_MINIMIZER",
    "HARTMANN6_MINIMUM",
    "PRESETS",
    "BraninConfig",
    "Hartmann6Config",
    "branin",
    "branin_value",
    "hartmann6",
    "hartmann6_value",
]

BRANIN_MINIMUM = 0.397887
"""Global minimum of the Branin function."""
BRANIN_MINIMIZERS: tuple[tuple[float, float], ...] = (
    (-math.pi, 12.275),
    (math.pi, 2.275),
    (9.42478, 2.475),
)
"""The three global minimisers ``(x1, x2)`` of the Branin function."""
HARTMANN6_MINIMUM = -3.32237
"""Global minimum of the 6-D Hartmann function."""
HARTMANN6_MINIMIZER: tuple[float, ...] = (0.20169, 0.150011, 0.476874, 0.275332, 0.311652, 0.6573)
"""The global minimiser of the 6-D Hartmann function."""

_H6_ALPHA = np.array([1.0, 1.2, 3.0, 3.2])
_H6_A = np.array(
    [
        [10.0, 3.0, 17.0, 3.5, 1.7, 8.0],
        [0.05, 10.0, 17.0, 0.1, 8.0, 14.0],
        [3.0, 3.5, 1.7, 10.0, 17.0, 8.0],
        [17.0, 8.0, 0.05, 10.0, 0.1, 14.0],
    ]
)
_H6_P = 1e-4 * np.array(
    [
        [1312, 1696, 5569, 124, 8283, 5886],
        [2329, 4135, 8307, 3736, 1004, 9991],
        [2348, 1451, 3522, 2883, 3047, 6650],
        [4047, 8828, 8732, 5743, 1091, 381],
    ]
)


def branin_value(x1: float, x2: float) -> float:
    """The Branin function (domain x1 in [-5, 10], x2 in [0, 15]; minimum 0.397887)."""
    b, c, t = 5.1 / (4 * math.pi**2), 5 / math.pi, 1 / (8 * math.pi)
    return (x2 - b * x1**2 + c * x1 - 6) ** 2 + 10 * (1 - t) * math.cos(x1) + 10


def hartmann6_value(xs: Sequence[float]) -> float:
    """The 6-D Hartmann function (domain [0, 1]^6; minimum -3.32237)."""
    x = np.asarray(xs, dtype=np.float64)
    if x.shape != (6,):
        raise ValueError(f"hartmann6_value: need 6 coordinates; got shape {x.shape}")
    inner = (_H6_A * (x - _H6_P) ** 2).sum(axis=1)  # (4,)
    return float(-(_H6_ALPHA * np.exp(-inner)).sum())


def _check_common(cfg: Any) -> None:
    name = type(cfg).__name__
    for key in ("iterations", "report_every", "checkpoint_every"):
        if getattr(cfg, key) < 1:
            raise ValueError(f"{name}: {key} must be >= 1; got {getattr(cfg, key)}")
    if not cfg.noise >= 0:
        raise ValueError(f"{name}: noise must be >= 0; got {cfg.noise}")


def _check_range(cfg: Any, key: str, low: float, high: float) -> None:
    value = getattr(cfg, key)
    if not low <= value <= high:
        raise ValueError(f"{type(cfg).__name__}: {key} must be in [{low}, {high}]; got {value}")


@dataclass
class BraninConfig:
    """Configuration of one ``branin`` trial."""

    preset: str = "default"
    """Named starting point (``default``, ``tiny``: the same); other keys override it."""
    x1: float = 2.5
    """First coordinate, in [-5, 10]."""
    x2: float = 7.5
    """Second coordinate, in [0, 15]."""
    seed: int = 0
    """Seed of the observation noise."""
    iterations: int = 1
    """Evaluations in the trial (the fidelity: noise shrinks as 1/sqrt(iteration))."""
    noise: float = 0.0
    """Std of the observation noise at iteration 1 (0: exact values)."""
    report_every: int = 1
    """Iterations between reported results (the last iteration always reports)."""
    checkpoint_every: int = 1
    """Reports between checkpoints (the last report always checkpoints)."""

    def __post_init__(self) -> None:
        _check_common(self)
        _check_range(self, "x1", -5.0, 10.0)
        _check_range(self, "x2", 0.0, 15.0)


@dataclass
class Hartmann6Config:
    """Configuration of one ``hartmann6`` trial."""

    preset: str = "default"
    """Named starting point (``default``, ``tiny``: the same); other keys override it."""
    x1: float = 0.5
    """First coordinate, in [0, 1]."""
    x2: float = 0.5
    """Second coordinate, in [0, 1]."""
    x3: float = 0.5
    """Third coordinate, in [0, 1]."""
    x4: float = 0.5
    """Fourth coordinate, in [0, 1]."""
    x5: float = 0.5
    """Fifth coordinate, in [0, 1]."""
    x6: float = 0.5
    """Sixth coordinate, in [0, 1]."""
    seed: int = 0
    """Seed of the observation noise."""
    iterations: int = 1
    """Evaluations in the trial (the fidelity: noise shrinks as 1/sqrt(iteration))."""
    noise: float = 0.0
    """Std of the observation noise at iteration 1 (0: exact values)."""
    report_every: int = 1
    """Iterations between reported results (the last iteration always reports)."""
    checkpoint_every: int = 1
    """Reports between checkpoints (the last report always checkpoints)."""

    def __post_init__(self) -> None:
        _check_common(self)
        for key in ("x1", "x2", "x3", "x4", "x5", "x6"):
            _check_range(self, key, 0.0, 1.0)

    def point(self) -> tuple[float, ...]:
        """The six coordinates in order."""
        return (self.x1, self.x2, self.x3, self.x4, self.x5, self.x6)


PRESETS: dict[str, dict[str, Any]] = {"default": {}, "tiny": {}}


def _run(cfg: Any, true_value: float, optimum: float) -> None:
    """The shared loop: noisy observations of ``true_value``, reports and checkpoints."""
    rng = np.random.Generator(np.random.PCG64(cfg.seed))
    iteration, reports = 0, 0
    state = load_checkpoint()
    if state is not None:
        iteration = state["iteration"]
        reports = iteration // cfg.report_every  # checkpoints precede the last iteration
        rng.bit_generator.state = state["rng"]
    while iteration < cfg.iterations:
        iteration += 1
        draw = float(rng.standard_normal())  # one draw per iteration, reported or not
        if iteration % cfg.report_every and iteration < cfg.iterations:
            continue
        value = true_value + cfg.noise * draw / math.sqrt(iteration)
        metrics = {
            "iteration": iteration,
            "value": value,
            "true_value": true_value,
            "regret": value - optimum,
            "diverged": False,
        }
        reports += 1
        checkpoint = None
        if reports % cfg.checkpoint_every == 0 or iteration >= cfg.iterations:
            checkpoint = {
                "iteration": iteration,
                "rng": rng.bit_generator.state,
                "config": dict(cfg.__dict__),
            }
        report(metrics, checkpoint)


def branin(config: dict[str, Any]) -> None:
    """Evaluate Branin at ``(x1, x2)``; reports ``value``, ``true_value``, ``regret``..."""
    cfg = build_config(BraninConfig, config, PRESETS)
    _run(cfg, branin_value(cfg.x1, cfg.x2), BRANIN_MINIMUM)


def hartmann6(config: dict[str, Any]) -> None:
    """Evaluate 6-D Hartmann at ``(x1..x6)``; reports ``value``, ``true_value``, ``regret``..."""
    cfg = build_config(Hartmann6Config, config, PRESETS)
    _run(cfg, hartmann6_value(cfg.point()), HARTMANN6_MINIMUM)
