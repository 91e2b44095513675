"""Search quality through our search path (spec -> plan -> build_strategy's searcher),
driven in-process with fixed seeds; one short real hyperopt sweep through Ray; ASHA
against the whole grid on a multi-fidelity function. Full tables: benchmarks/."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hyperopt import STATUS_OK, Trials, fmin, tpe

from benchmarks.asha_fidelity import compare, run_asha, run_fifo
from benchmarks.search_quality import (
    FUNCTIONS,
    _plan,
    best_regrets,
    run_service_searcher,
    spec_for,
)
from tests.conftest import run_spec_in_process
from trainables.analytic import BRANIN_MINIMUM, HARTMANN6_MINIMUM
from tune_jobs.search.hyperopt_space import hyperopt_space

SEEDS = range(5)


class _RaySeedStream:
    """Seeds ``tpe.suggest`` as Ray's HyperOptSearch does (``RandomState.randint``)."""

    def __init__(self, seed: int) -> None:
        self._state = np.random.RandomState(seed)

    def integers(self, high: int) -> int:
        return self._state.randint(high)


def _fmin_values(function: str, evals: int, seed: int) -> list[float]:
    plan = _plan(spec_for(function, "hyperopt", evals, seed))
    evaluate = FUNCTIONS[function][2]
    trials = Trials()
    fmin(
        lambda c: {"loss": evaluate(c), "status": STATUS_OK},
        space=hyperopt_space(plan.spec.space, plan.source),
        algo=partial(tpe.suggest, n_startup_jobs=20),
        max_evals=evals,
        trials=trials,
        rstate=_RaySeedStream(seed),
        show_progressbar=False,
    )
    return [t["result"]["loss"] for t in trials.trials]


def test_service_tpe_proposes_exactly_what_hyperopt_fmin_proposes() -> None:
    # Same space, same n_startup_jobs, same seed stream: value-for-value identical.
    for seed in (0, 1):
        ours = run_service_searcher("branin", "hyperopt", 40, seed)
        assert ours == _fmin_values("branin", 40, seed)


def test_service_tpe_is_reproducible_per_seed() -> None:
    first = run_service_searcher("branin", "hyperopt", 30, seed=3)
    assert run_service_searcher("branin", "hyperopt", 30, seed=3) == first
    assert run_service_searcher("branin", "hyperopt", 30, seed=4) != first


def test_tpe_on_branin_median_regret_after_100_evaluations() -> None:
    regrets = [
        best_regrets(run_service_searcher("branin", "hyperopt", 100, s), BRANIN_MINIMUM)
        for s in SEEDS
    ]
    assert np.median(regrets) <= 0.25, regrets


def test_tpe_beats_random_on_hartmann6_after_200_evaluations() -> None:
    tpe_regrets = [
        best_regrets(run_service_searcher("hartmann6", "hyperopt", 200, s), HARTMANN6_MINIMUM)
        for s in SEEDS
    ]
    random_regrets = [
        best_regrets(run_service_searcher("hartmann6", "random", 200, s), HARTMANN6_MINIMUM)
        for s in SEEDS
    ]
    # "Clearly below": at most 60% of random search's median regret.
    assert np.median(tpe_regrets) <= 0.6 * np.median(random_regrets), (
        tpe_regrets,
        random_regrets,
    )


def test_asha_on_hartmann6_grid_keeps_the_winner_with_under_30_percent_of_iterations() -> None:
    # 729-point grid, noise at iteration 1 = the grid's top-10 spread (10th best - best).
    trues = sorted(FUNCTIONS["hartmann6"][2](p) for p in _grid_points())
    noise = trues[9] - trues[0]
    fifo, asha = compare("hartmann6", 3, noise, 27, {"grace_period": 1, "reduction_factor": 3})
    assert fifo.iterations == 729 * 27
    assert asha.best_final <= fifo.best_final + 0.02 * abs(fifo.best_final)
    assert asha.iterations <= 0.30 * fifo.iterations


def test_asha_without_noise_keeps_branin_grid_winner() -> None:
    fifo = run_fifo("branin", 9, 0.0, 27)
    asha = run_asha("branin", 9, 0.0, 27, {"grace_period": 1, "reduction_factor": 3})
    assert asha.winner_true == fifo.winner_true
    assert asha.iterations < fifo.iterations


def _grid_points() -> list[dict[str, float]]:
    from benchmarks.asha_fidelity import _grid

    return _grid("hartmann6", 3)


@pytest.mark.slow
def test_real_hyperopt_sweep_on_branin(ray_local: None, tmp_path: Path) -> None:
    spec = {**spec_for("branin", "hyperopt", 12, seed=0, n_initial=6), "name": "tpe_branin"}
    spec["resources"] = {"cpu": 0.5}
    outcome = run_spec_in_process(tmp_path, spec)
    trials = pd.read_parquet(Path(outcome.run_dir) / "trials.parquet")
    assert outcome.statuses == {"TERMINATED": 12}
    assert len(trials) == 12 and trials["trial_id"].is_unique
    # The sweep's values are Branin at the configs it ran.
    values = [
        FUNCTIONS["branin"][2]({"x1": a, "x2": b})
        for a, b in zip(trials["config/x1"], trials["config/x2"], strict=True)
    ]
    assert trials["value"].to_numpy() == pytest.approx(values)
    # Best found beats the average of random points over the box (Branin's mean ~ 54).
    rng = np.random.default_rng(0)
    random_mean = np.mean(
        [
            FUNCTIONS["branin"][2]({"x1": a, "x2": b})
            for a, b in zip(rng.uniform(-5, 10, 2000), rng.uniform(0, 15, 2000), strict=True)
        ]
    )
    assert outcome.best_value == trials["value"].min() < random_mean
