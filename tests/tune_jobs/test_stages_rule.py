"""The stage shrink rule, the median ranking and the spec checks (no Ray)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.conftest import write_spec
from tune_jobs.errors import SpecError
from tune_jobs.plan.run_plan import make_plan
from tune_jobs.plan.stages import refine_space
from tune_jobs.results.ranking import Objective, rank_configs
from tune_jobs.results.repeats import config_id, repeat_index
from tune_jobs.spec import load_spec
from tune_jobs.spec.domains import Domain


def _refine(kind: str, args: list, values: list, widen: float = 0.0, original=None):
    domain = Domain(kind, tuple(args))
    original = Domain(kind, tuple(original)) if original else domain
    return refine_space({"p": domain}, {"p": original}, [{"p": v} for v in values], widen)


def test_numeric_range_shrinks_to_top_k_and_widens_by_span() -> None:
    out = _refine("uniform", [0.0, 10.0], [2.0, 4.0, 3.0], widen=0.5)
    assert out.locked == {}
    assert out.space["p"] == Domain("uniform", (1.0, 5.0))


def test_log_scaled_range_widens_in_log_space() -> None:
    out = _refine("loguniform", [1e-5, 1.0], [1e-3, 1e-2], widen=1.0)
    low, high = out.space["p"].args
    assert out.space["p"].kind == "loguniform"
    assert low == pytest.approx(1e-4) and high == pytest.approx(1e-1)


def test_widening_is_clipped_to_the_original_range() -> None:
    # The previous stage was already narrowed; clipping uses the stage-1 range.
    out = _refine("uniform", [1.0, 3.0], [1.0, 3.0], widen=2.0, original=[0.0, 5.0])
    assert out.space["p"].args == (0.0, 5.0)


def test_integer_ranges_stay_integer_and_round_outwards() -> None:
    out = _refine("randint", [1, 100], [10, 20], widen=0.25)
    assert out.space["p"] == Domain("randint", (7, 23))  # floor(7.5), ceil(22.5)
    assert all(isinstance(a, int) for a in out.space["p"].args)
    log = _refine("lograndint", [1, 1024], [8, 32], widen=0.0)
    assert log.space["p"] == Domain("lograndint", (8, 32))
    quantised = _refine("qrandint", [0, 100, 5], [10, 30])
    assert quantised.space["p"] == Domain("qrandint", (10, 30, 5))


def test_agreeing_top_k_lock_the_parameter() -> None:
    numeric = _refine("loguniform", [1e-4, 1.0], [np.float64(0.01)] * 3)
    assert numeric.space == {} and numeric.locked == {"p": 0.01}
    choice = _refine("choice", ["adam", "sgd", "muon"], ["sgd", "sgd"])
    assert choice.locked == {"p": "sgd"} and choice.space == {}


def test_choices_keep_only_the_values_the_top_k_used() -> None:
    out = _refine("grid", [16, 32, 64, 128], [64, 16, 64])
    assert out.space["p"] == Domain("choice", (16, 64))
    # Mixed-kind choices are JSON text in trials.parquet.
    mixed = _refine("choice", [[1, 2], "auto", 3], ["[1, 2]", "3"])
    assert mixed.space["p"] == Domain("choice", ([1, 2], 3))


def test_median_ranking_with_censoring_and_divergence() -> None:
    trials = pd.DataFrame(
        {
            "trial_id": list("abcdefg"),
            "config_id": ["A", "A", "A", "B", "B", "C", "D"],
            "status": ["TERMINATED"] * 5 + ["DIVERGED", "TERMINATED"],
            "reached_target": [True, True, False, True, True, False, False],
            "time_to_target_s": [10.0, 30.0, None, 15.0, 16.0, None, None],
            "val_loss": [4.9, 4.9, 5.4, 4.9, 4.8, math.nan, 5.1],
        }
    )
    objective = Objective("time_to_target_s", "min", 5.0, "val_loss", "min")
    ranked = rank_configs(trials, objective)
    assert list(ranked["config_id"]) == ["B", "A", "D", "C"]
    a = ranked.set_index("config_id").loc["A"]
    assert a["n"] == 3 and a["median"] == 30.0  # the censored repeat counts as slowest
    assert ranked.set_index("config_id").loc["D", "median"] > 1e9  # censored, near target
    assert not ranked.set_index("config_id").loc["C", "top"]  # diverged never counts as top


def test_config_id_ignores_the_seed_and_repeat_comes_from_it() -> None:
    one = {"lr": 0.1, "opt": {"seed": 3, "m": 0.9}}
    two = {"lr": 0.1, "opt": {"seed": 4, "m": 0.9}}
    assert config_id(one, "opt.seed") == config_id(two, "opt.seed")
    assert config_id(one, "opt.seed") != config_id({**one, "lr": 0.2}, "opt.seed")
    assert repeat_index(two, "opt.seed", base=3, n=2) == 1
    assert repeat_index(two, "opt.seed", base=3, n=1) == 0


def _spec(tmp_path: Path, **extra) -> dict:
    return {
        "name": "staged",
        "trainable": "branin",
        "metric": "value",
        "config": {"seed": 7},
        "space": {"x1": {"uniform": [-5.0, 10.0]}, "x2": {"uniform": [0.0, 15.0]}},
        "search": {"algorithm": "random", "num_samples": 8},
        "storage": str(tmp_path),
        **extra,
    }


def test_validate_describes_repeats_and_stages(tmp_path: Path) -> None:
    spec = _spec(tmp_path, repeats=3, stages=[{"name": "fine", "top_k": 3, "widen": 0.1}])
    path = write_spec(tmp_path, spec)
    lines = make_plan(load_spec(path), str(path)).describe()
    assert (
        "trials: 24 (8 configurations (0 from variants + 8 samples x 1 grid points) x 3 "
        "repeats) in stage 1" in lines
    )
    assert "repeats: 3 per configuration, seed = 7..9; ranked by the median over repeats" in lines
    stage2 = [line for line in lines if line.startswith("  stage 2 (fine)")]
    assert stage2 and "top 3 configurations of stage 1" in stage2[0]
    assert "lhs, 8 configurations x 3 repeats = 24 trials" in stage2[0]
    assert any(line.startswith("  derivation") for line in lines)


@pytest.mark.parametrize(
    ("extra", "key"),
    [
        ({"repeats": {"n": 2, "seed_key": "x1"}}, "repeats.seed_key"),
        ({"repeats": {"n": 2, "seeds": 3}}, "repeats.seeds"),
        ({"stages": [{"search": {"algorithm": "hyperopt"}}]}, "stages.0.search.algorithm"),
        ({"stages": [{"top_k": 0}]}, "stages.0.top_k"),
        ({"stages": [{"name": "stage1"}]}, "stages.0.name"),
        ({"repeats": 2, "scheduler": {"type": "pbt"}}, "repeats"),
    ],
)
def test_bad_repeats_and_stages_are_one_line_errors(tmp_path: Path, extra: dict, key: str) -> None:
    path = write_spec(tmp_path, _spec(tmp_path, **extra))
    with pytest.raises(SpecError) as err:
        make_plan(load_spec(path), str(path))
    assert err.value.key_path == key
    assert "\n" not in str(err.value)


def test_stages_need_refinable_kinds(tmp_path: Path) -> None:
    spec = _spec(tmp_path, stages=[{}])
    spec["space"]["x1"] = {"normal": [2.0, 1.0]}
    path = write_spec(tmp_path, spec)
    with pytest.raises(SpecError, match="stages refine bounded ranges") as err:
        make_plan(load_spec(path), str(path))
    assert err.value.key_path == "space.x1"
