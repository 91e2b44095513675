"""The shipped specs of seeds 000 and 003 say what the seeds ask for (no Ray started):
the 22-experiment denoise sweep, its 3-experiment test sweep, and the two-stage
time-to-target sweep with repeats."""

from __future__ import annotations

from pathlib import Path

import pytest

from trainables.denoise import PRESETS, DenoiseConfig
from tune_jobs.cli.app import main
from tune_jobs.plan.run_plan import make_plan
from tune_jobs.spec import load_spec

SPECS = Path(__file__).resolve().parents[2] / "tune_jobs" / "specs"


def _plan(name: str, smoke: bool = False):
    spec = load_spec(SPECS / name, smoke=smoke)
    return make_plan(spec, str(SPECS / name))


def _variants(plan) -> dict[str, dict]:
    return dict(plan.spec.variants.expand())


def test_denoise_sweep_is_the_seeds_22_experiments(capsys: pytest.CaptureFixture[str]) -> None:
    plan = _plan("denoise_sweep.yaml")
    assert plan.num_trials == 22 and len(plan.variant_names) == 22
    assert plan.spec.config["preset"] == "reference"
    reference = PRESETS["reference"]
    assert (reference["d"], reference["n_train"], reference["epochs"]) == (1024, 300_000, 12)
    for key in ("lr", "batch_size", "encoder_init_scale", "decoder_init_scale", "epochs"):
        assert plan.spec.config[key] == reference[key], key  # recorded in every trial
    variants = _variants(plan)
    # The seed's value lists: the reference's own value plus the one-factor values.
    lrs = {reference["lr"]} | {v["lr"] for n, v in variants.items() if n.startswith("lr=")}
    assert sorted(lrs) == [0.005, 0.01, 0.02, 0.04, 0.08]
    batches = {reference["batch_size"]}
    batches |= {v["batch_size"] for n, v in variants.items() if n.startswith("batch_size=")}
    assert sorted(batches) == [5120, 10240, 15360, 20480]
    inits = {reference["encoder_init_scale"]}
    for name, values in variants.items():
        if name.startswith("init_"):
            assert values["encoder_init_scale"] == values["decoder_init_scale"]
            inits.add(values["encoder_init_scale"])
    assert sorted(inits) == [0.01, 0.02, 0.05, 0.1]
    combos = ("fast", "stable", "aggressive", "conservative", "efficient", "asymmetric_init")
    assert set(combos) <= set(variants)
    assert variants["fast"]["lr"] > reference["lr"] and variants["stable"]["lr"] < reference["lr"]
    asym = variants["asymmetric_init"]
    assert asym["encoder_init_scale"] != asym["decoder_init_scale"]
    overtrain = [n for n, v in variants.items() if v.get("epochs") == 20]
    assert len(overtrain) == 2
    assert sorted(v.get("seed", 0) for v in variants.values() if not v) == [0]  # one reference
    assert sorted(v["seed"] for v in variants.values() if "seed" in v) == [1, 2, 3]
    # Every variant builds a valid trainable config.
    for values in variants.values():
        DenoiseConfig(**{**PRESETS["reference"], **values})
    assert main(["validate", str(SPECS / "denoise_sweep.yaml")]) == 0
    assert "trials: 22 (22 from variants" in capsys.readouterr().out


def test_denoise_test_sweep_and_the_smoke_runs() -> None:
    plan = _plan("denoise_test_sweep.yaml")
    assert plan.num_trials == 3
    assert plan.spec.config["preset"] == "reference"
    for name in ("denoise_sweep.yaml", "denoise_test_sweep.yaml"):
        smoke = _plan(name, smoke=True)
        assert smoke.num_trials <= 2 and smoke.spec.stop.max_iterations <= 2
        assert smoke.spec.config["preset"] == "tiny"


def test_time_to_target_spec_has_the_seeds_two_stages_and_repeats() -> None:
    plan = _plan("lm_time_to_target.yaml")
    spec = plan.spec
    assert spec.metric == "time_to_target_s" and spec.stop.target is not None
    assert spec.stop.target_metric == "val_loss"
    assert len(spec.stages) == 1 and spec.stages[0].top_k == 5  # stage 2 from the top 5
    assert spec.repeats.n >= 2  # ranked by the median over repeats
    space = spec.space
    assert list(space["orthogonalization"].args) == ["newton_schulz", "polar_express"]
    assert {"lr", "momentum", "batch_size", "warmup_steps"} <= set(space)
    assert spec.config["optimizer"] == "muon"
    smoke = _plan("lm_time_to_target.yaml", smoke=True)
    assert smoke.spec.stages and smoke.spec.stages[0].search.num_samples >= 1
