"""ASHA against running a whole grid to the end, on a multi-fidelity analytic function.

Method: a spec searches a grid over ``branin`` or ``hartmann6`` (``search.algorithm:
grid``; ``levels`` values per coordinate, evenly spaced inside the box) with the
trainables' ``noise`` fidelity: at iteration ``i`` a trial reports
``f(x) + noise * z_i / sqrt(i)``, ``z_i`` drawn from ``PCG64(seed)`` exactly as
``trainables/analytic.py`` does, with ``seed`` = the trial's index in the grid (each
trial its own noise stream). Every trial may run ``max_t`` iterations.

- FIFO: every grid trial runs ``max_t`` iterations.
- ASHA: the scheduler ``tune_jobs.execution.assemble.build_strategy`` builds for the same spec
  with ``scheduler: {type: asha, ...}`` (Ray's ``ASHAScheduler``), driven in-process:
  ``concurrency`` trials run at once, started in grid order, each reporting one result
  per step in round robin (equal-speed trials); ``on_trial_result`` decides CONTINUE or
  STOP as in Tune; a finished trial frees its slot for the next one.

Both see the very same reported values, so a trial ASHA runs to ``max_t`` reports the
same final value as under FIFO. Compared: the best final reported value (what a user
picks the winner by), the true value ``f(x)`` of that winner, and total iterations.

    python benchmarks/asha_fidelity.py
    python benchmarks/asha_fidelity.py --function branin --levels 9 --noise 2.0
"""

from __future__ import annotations

import argparse
import itertools
import math
import tempfile
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from benchmarks.search_quality import FUNCTIONS

__all__ = ["Outcome", "compare", "grid_spec", "noisy_values", "run_asha", "run_fifo"]

_BOXES = {"branin": {"x1": (-5.0, 10.0), "x2": (0.0, 15.0)}}
_BOXES["hartmann6"] = {f"x{i}": (0.0, 1.0) for i in range(1, 7)}


def grid_spec(function: str, levels: int, noise: float, max_t: int, scheduler: dict) -> dict:
    """The sweep spec: a ``levels``-point grid per coordinate, ``max_t`` iterations."""
    space = {}
    for key, (low, high) in _BOXES[function].items():
        step = (high - low) / levels
        space[key] = {"grid": [round(low + step * (k + 0.5), 6) for k in range(levels)]}
    return {
        "name": f"asha-{function}",
        "trainable": function,
        "metric": "value",
        "mode": "min",
        "config": {"noise": noise, "iterations": max_t},
        "space": space,
        "search": {"algorithm": "grid"},
        "scheduler": scheduler,
        "stop": {"max_iterations": max_t},
    }


def noisy_values(true_value: float, noise: float, seed: int, n: int) -> list[float]:
    """What the analytic trainable reports at iterations ``1..n`` for ``seed``."""
    rng = np.random.Generator(np.random.PCG64(seed))
    return [
        true_value + noise * float(rng.standard_normal()) / math.sqrt(i) for i in range(1, n + 1)
    ]


@dataclass
class Outcome:
    """One scheduler's run over the grid."""

    scheduler: str
    iterations: int
    """Total iterations over all trials."""
    best_final: float
    """Best value reported at ``max_t`` (the winner a user would pick)."""
    winner_true: float
    """``f(x)`` of that winner."""
    completed: int
    """Trials that reached ``max_t``."""


def _grid(function: str, levels: int) -> list[dict[str, float]]:
    keys = list(_BOXES[function])
    spec = grid_spec(function, levels, 0.0, 1, {"type": "fifo"})
    values = [spec["space"][k]["grid"] for k in keys]
    return [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*values)]


def _curves(function: str, levels: int, noise: float, max_t: int) -> list[tuple[float, list]]:
    evaluate = FUNCTIONS[function][2]
    out = []
    for seed, point in enumerate(_grid(function, levels)):
        true = evaluate(point)
        out.append((true, noisy_values(true, noise, seed, max_t)))
    return out


def run_fifo(function: str, levels: int, noise: float, max_t: int) -> Outcome:
    """Every grid trial to ``max_t``."""
    curves = _curves(function, levels, noise, max_t)
    best = min(range(len(curves)), key=lambda i: curves[i][1][-1])
    return Outcome("fifo", len(curves) * max_t, curves[best][1][-1], curves[best][0], len(curves))


class _Trial:
    def __init__(self, trial_id: str) -> None:
        self.trial_id = trial_id


def _scheduler(function: str, levels: int, noise: float, max_t: int, settings: dict) -> Any:
    from tune_jobs.execution.assemble import build_strategy
    from tune_jobs.plan.run_plan import make_plan
    from tune_jobs.spec import load_spec

    spec = grid_spec(function, levels, noise, max_t, {"type": "asha", **settings})
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "spec.yaml"
        path.write_text(yaml.safe_dump(spec, sort_keys=False))
        plan = make_plan(load_spec(path), str(path))
    scheduler = build_strategy(plan).scheduler
    scheduler.set_search_properties(plan.spec.metric, plan.spec.mode)
    return scheduler


def run_asha(
    function: str,
    levels: int,
    noise: float,
    max_t: int,
    settings: dict,
    concurrency: int = 4,
    order_seed: int | None = None,
) -> Outcome:
    """The grid under our ASHA scheduler, ``concurrency`` trials at a time, started in
    grid order (or in a random order drawn with ``order_seed``)."""
    np.random.seed(0)  # ASHA draws a bracket per trial from numpy's global generator
    scheduler = _scheduler(function, levels, noise, max_t, settings)
    curves = _curves(function, levels, noise, max_t)
    order = list(range(len(curves)))
    if order_seed is not None:
        order = [int(i) for i in np.random.default_rng(order_seed).permutation(len(curves))]
    pending = deque(order)
    running: dict[int, int] = {}  # trial index -> iterations done
    finals: dict[int, float] = {}
    total = 0

    def start() -> None:
        while pending and len(running) < concurrency:
            index = pending.popleft()
            scheduler.on_trial_add(None, _Trial(str(index)))
            running[index] = 0

    start()
    while running:
        for index in list(running):
            running[index] += 1
            total += 1
            it = running[index]
            result = {"training_iteration": it, "value": curves[index][1][it - 1]}
            trial = _Trial(str(index))
            if it >= max_t:  # Tune's stopper (stop.max_iterations) ends it first
                finals[index] = result["value"]
                stop = True
            else:
                stop = scheduler.on_trial_result(None, trial, result) == "STOP"
            if stop:
                scheduler.on_trial_complete(None, trial, result)
                del running[index]
        start()
    best = min(finals, key=finals.__getitem__)
    return Outcome("asha", total, finals[best], curves[best][0], len(finals))


def compare(
    function: str,
    levels: int,
    noise: float,
    max_t: int,
    settings: dict,
    concurrency: int = 4,
    order_seed: int | None = None,
) -> tuple[Outcome, Outcome]:
    """``(fifo, asha)`` for the same grid and noise."""
    return (
        run_fifo(function, levels, noise, max_t),
        run_asha(function, levels, noise, max_t, settings, concurrency, order_seed),
    )


def main() -> None:
    """Print one table row per function and noise level."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--function", nargs="+", default=["branin", "hartmann6"])
    parser.add_argument(
        "--levels",
        type=int,
        default=None,
        help="grid values per coordinate (default: branin 9, hartmann6 3)",
    )
    parser.add_argument(
        "--noise",
        type=float,
        nargs="+",
        default=None,
        help="noise std at iteration 1 (default: 0, 1 and 3 times the "
        "grid's top-10 spread: 10th best minus best f(x))",
    )
    parser.add_argument("--max-t", type=int, default=27)
    parser.add_argument("--grace-period", type=float, default=1)
    parser.add_argument("--reduction-factor", type=float, default=3)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument(
        "--orders",
        type=int,
        default=5,
        help="also start the trials in this many random orders (seeds 0..)",
    )
    args = parser.parse_args()
    settings = {"grace_period": args.grace_period, "reduction_factor": args.reduction_factor}
    print(
        "| function | trials | noise | start order | FIFO iterations | ASHA iterations "
        "| ASHA / FIFO | FIFO best final | ASHA best final | gap "
        "| FIFO winner f(x) | ASHA winner f(x) | ASHA trials to max_t | seconds |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for function in args.function:
        levels = args.levels or {"branin": 9, "hartmann6": 3}[function]
        trues = sorted(t for t, _ in _curves(function, levels, 0.0, 1))
        spread = trues[9] - trues[0]
        for noise, order in itertools.product(
            args.noise or [0.0, spread, 3 * spread], [None, *range(args.orders)]
        ):
            start = time.perf_counter()
            fifo, asha = compare(
                function, levels, noise, args.max_t, settings, args.concurrency, order
            )
            seconds = time.perf_counter() - start
            gap = (asha.best_final - fifo.best_final) / abs(fifo.best_final)
            label = "grid" if order is None else f"random {order}"
            print(
                f"| {function} | {fifo.completed} | {noise:.3g} | {label} | {fifo.iterations} | "
                f"{asha.iterations} | {asha.iterations / fifo.iterations:.1%} | "
                f"{fifo.best_final:.4f} | {asha.best_final:.4f} | {gap:.2%} | "
                f"{fifo.winner_true:.4f} | {asha.winner_true:.4f} | {asha.completed} | "
                f"{seconds:.1f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
