"""Search quality of our searchers on analytic functions, without Ray trials.

Method: a spec (``branin`` or ``hartmann6``, ``value`` minimised, the function's box as
``uniform`` ranges) is loaded with ``tune_jobs.spec.load_spec`` and planned with
``tune_jobs.plan.run_plan.make_plan``; the searcher is the one
``tune_jobs.execution.assemble.build_strategy``
gives a sweep (for ``hyperopt``: our ``ObjectiveSearcher`` around Ray's ``HyperOptSearch``
over the native space from ``hyperopt_space``). We call ``set_search_properties``,
``suggest(trial_id)`` and ``on_trial_complete(trial_id, result)`` ourselves, one trial
at a time, and evaluate the pure function from ``trainables/analytic.py`` directly, so
we measure exactly our search path without paying Ray's per-trial overhead.

Baselines: hyperopt used directly (``hyperopt.fmin`` with ``tpe.suggest``, the same
``n_startup_jobs`` and the same hyperopt space), hyperopt's random search, and our
``random`` algorithm (Tune's ``BasicVariantGenerator``, driven the same way).

Regret = best value found - the function's global minimum. Every row: median and IQR
over seeds ``0..seeds-1``, seconds = wall time of all seeds of that row.

    python benchmarks/search_quality.py                 # the full table
    python benchmarks/search_quality.py --seeds 3 --functions branin
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from trainables.analytic import (
    BRANIN_MINIMUM,
    HARTMANN6_MINIMUM,
    branin_value,
    hartmann6_value,
)

__all__ = [
    "FUNCTIONS",
    "SEARCHERS",
    "Row",
    "best_regrets",
    "hyperopt_direct",
    "run_service_searcher",
    "spec_for",
    "summarize",
]

#: name -> (minimum, space, evaluate(config) -> value)
FUNCTIONS: dict[str, tuple[float, dict[str, Any], Callable[[dict[str, Any]], float]]] = {
    "branin": (
        BRANIN_MINIMUM,
        {"x1": {"uniform": [-5.0, 10.0]}, "x2": {"uniform": [0.0, 15.0]}},
        lambda c: branin_value(c["x1"], c["x2"]),
    ),
    "hartmann6": (
        HARTMANN6_MINIMUM,
        {f"x{i}": {"uniform": [0.0, 1.0]} for i in range(1, 7)},
        lambda c: hartmann6_value([c[f"x{i}"] for i in range(1, 7)]),
    ),
}


def spec_for(function: str, algorithm: str, evals: int, seed: int, n_initial: int = 20) -> dict:
    """The sweep spec (as a dict) searching ``function`` with ``algorithm``."""
    search: dict[str, Any] = {"algorithm": algorithm, "num_samples": evals, "seed": seed}
    if algorithm == "hyperopt":
        search["n_initial_points"] = n_initial
    return {
        "name": f"sq-{function}-{algorithm}",
        "trainable": function,
        "metric": "value",
        "mode": "min",
        "space": FUNCTIONS[function][1],
        "search": search,
    }


def _plan(spec: dict) -> Any:
    from tune_jobs.plan.run_plan import make_plan
    from tune_jobs.spec import load_spec

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "spec.yaml"
        path.write_text(yaml.safe_dump(spec, sort_keys=False))
        return make_plan(load_spec(path), str(path))


def _suggestions(plan: Any, searcher: Any) -> Callable[[int], dict[str, Any] | None]:
    """A function ``i -> config`` driving ``searcher`` the way Tune would."""
    spec = plan.spec
    if plan.owns_space:
        searcher.set_search_properties(spec.metric, spec.mode, plan.constant_space)
        return lambda i: searcher.suggest(f"t{i}")
    # BasicVariantGenerator is a SearchAlgorithm: it creates Trial objects itself.
    from ray.tune.experiment import Experiment

    searcher.set_search_properties(spec.metric, spec.mode, plan.param_space)
    searcher.add_configurations(
        [
            Experiment(
                spec.name,
                run=lambda config: None,
                config=plan.param_space,
                num_samples=plan.tune_num_samples,
            )
        ]
    )

    def next_config(i: int) -> dict[str, Any] | None:
        trial = searcher.next_trial()
        return None if trial is None else trial.config

    return next_config


def run_service_searcher(
    function: str, algorithm: str, evals: int, seed: int, n_initial: int = 20
) -> list[float]:
    """Values seen, in order, when our service's ``algorithm`` searches ``function``."""
    from tune_jobs.execution.assemble import build_strategy

    plan = _plan(spec_for(function, algorithm, evals, seed, n_initial))
    searcher = build_strategy(plan).searcher
    evaluate = FUNCTIONS[function][2]
    suggest = _suggestions(plan, searcher)
    values: list[float] = []
    for i in range(evals):
        config = suggest(i)
        if config is None:
            break
        value = evaluate(config)
        values.append(value)
        if plan.owns_space:
            searcher.on_trial_complete(
                f"t{i}", {"value": value, "training_iteration": 1, "config": config}
            )
    return values


def hyperopt_direct(
    function: str, algo: str, evals: int, seed: int, n_initial: int = 20
) -> list[float]:
    """Values seen by ``hyperopt.fmin`` (``tpe`` or ``rand``) over the same space."""
    from hyperopt import STATUS_OK, Trials, fmin, rand, tpe

    from tune_jobs.search.hyperopt_space import hyperopt_space

    plan = _plan(spec_for(function, "hyperopt", evals, seed, n_initial))
    evaluate = FUNCTIONS[function][2]
    suggest = partial(tpe.suggest, n_startup_jobs=n_initial) if algo == "tpe" else rand.suggest
    trials = Trials()
    fmin(
        lambda c: {"loss": evaluate(c), "status": STATUS_OK},
        space=hyperopt_space(plan.spec.space, plan.source),
        algo=suggest,
        max_evals=evals,
        trials=trials,
        rstate=np.random.default_rng(seed),
        show_progressbar=False,
    )
    return [float(t["result"]["loss"]) for t in trials.trials]


def best_regrets(values: list[float], minimum: float) -> float:
    """Best value found minus the global minimum."""
    return float(min(values) - minimum)


#: row label -> runner(function, evals, seed) -> values
SEARCHERS: dict[str, Callable[[str, int, int], list[float]]] = {
    "tune-jobs hyperopt (TPE)": lambda f, n, s: run_service_searcher(f, "hyperopt", n, s),
    "hyperopt.fmin tpe (direct)": lambda f, n, s: hyperopt_direct(f, "tpe", n, s),
    "tune-jobs random": lambda f, n, s: run_service_searcher(f, "random", n, s),
    "hyperopt.fmin rand (direct)": lambda f, n, s: hyperopt_direct(f, "rand", n, s),
}


@dataclass
class Row:
    """One line of the table."""

    searcher: str
    function: str
    regrets: list[float]
    evals: int
    seconds: float

    @property
    def median(self) -> float:
        """Median best regret over seeds."""
        return float(np.median(self.regrets))

    @property
    def iqr(self) -> tuple[float, float]:
        """25th and 75th percentile of best regret over seeds."""
        q1, q3 = np.percentile(self.regrets, [25, 75])
        return float(q1), float(q3)


def summarize(searcher: str, function: str, evals: int, seeds: int) -> Row:
    """Run ``searcher`` on ``function`` for seeds ``0..seeds-1``."""
    minimum = FUNCTIONS[function][0]
    start = time.perf_counter()
    regrets = [
        best_regrets(SEARCHERS[searcher](function, evals, seed), minimum) for seed in range(seeds)
    ]
    return Row(searcher, function, regrets, evals, time.perf_counter() - start)


def main() -> None:
    """Print the table (markdown)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--functions", nargs="+", default=list(FUNCTIONS))
    parser.add_argument(
        "--evals",
        nargs="+",
        type=int,
        default=None,
        help="evaluations per function (default: branin 100, hartmann6 200)",
    )
    args = parser.parse_args()
    default_evals = {"branin": 100, "hartmann6": 200}
    evals = dict(zip(args.functions, args.evals, strict=True)) if args.evals else default_evals
    print("| searcher | function | median regret | IQR | seeds | evals | seconds |")
    print("|---|---|---|---|---|---|---|")
    for function in args.functions:
        for searcher in SEARCHERS:
            row = summarize(searcher, function, evals[function], args.seeds)
            q1, q3 = row.iqr
            print(
                f"| {row.searcher} | {function} | {row.median:.4f} | {q1:.4f} - {q3:.4f} | "
                f"{args.seeds} | {row.evals} | {row.seconds:.1f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
