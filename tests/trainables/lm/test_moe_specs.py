"""Seed 001's three MoE sweeps: the shipped specs plan 16 / 27 / 27 trials, and every
trial's config (full size and smoke) is a valid ``lm`` config."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from tests.conftest import REPO
from trainables._config import build_config
from trainables.lm.config import PRESETS, LMConfig
from tune_jobs.plan.run_plan import make_plan
from tune_jobs.spec import load_spec

SPECS = {"moe_architecture": 16, "moe_experts": 27, "moe_training": 27}


def _path(name: str) -> Path:
    return REPO / "tune_jobs" / "specs" / f"{name}.yaml"


@pytest.mark.parametrize(("name", "trials"), sorted(SPECS.items()))
def test_moe_spec_plans_the_seeds_trial_count(name: str, trials: int) -> None:
    spec = load_spec(_path(name))
    plan = make_plan(spec, str(_path(name)))
    assert plan.num_trials == plan.grid_size == trials
    assert spec.search.algorithm == "grid" and spec.trainable == "lm"


@pytest.mark.parametrize("smoke", [False, True])
@pytest.mark.parametrize("name", sorted(SPECS))
def test_every_moe_trial_config_is_valid(name: str, smoke: bool) -> None:
    spec = load_spec(_path(name), smoke=smoke)
    grid = {key: domain.args for key, domain in spec.space.items()}
    configs = [
        build_config(LMConfig, {**spec.config, **dict(zip(grid, values, strict=True))}, PRESETS)
        for values in itertools.product(*grid.values())
    ]
    assert len(configs) == (2 if smoke else SPECS[name])
    for cfg in configs:
        assert cfg.num_experts > 0 and cfg.eval_every <= cfg.max_steps
