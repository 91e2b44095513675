"""W&B sweep files -> tune-jobs specs: every key and distribution, and the errors."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
import yaml

from tune_jobs.errors import SpecError
from tune_jobs.spec import load_spec
from tune_jobs.spec.wandb import is_wandb_sweep, sanitize_name, translate_wandb

REPO = Path(__file__).resolve().parents[3]
PROGRAM = "tune_jobs/specs/wandb/train_wandb.py"


def sweep(**extra: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "program": PROGRAM,
        "method": "random",
        "metric": {"name": "val_loss", "goal": "minimize"},
        "parameters": {"lr": {"min": 0.001, "max": 0.1}},
    }
    return {**base, **extra}


def space_of(param: dict[str, Any], method: str = "random") -> Any:
    out = translate_wandb(sweep(method=method, parameters={"p": param}), "s.yaml")
    return out.get("space", {}).get("p"), out.get("config", {}).get("p")


@pytest.fixture(autouse=True)
def _repo_cwd(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)  # W&B resolves `program` from the current directory


@pytest.mark.parametrize(
    ("param", "expected"),
    [
        ({"values": [1, None, "x"]}, {"choice": [1, None, "x"]}),
        ({"distribution": "categorical", "values": [3]}, {"choice": [3]}),
        ({"min": 1, "max": 5}, {"randint": [1, 5]}),
        ({"distribution": "int_uniform", "min": -2, "max": 2}, {"randint": [-2, 2]}),
        ({"min": 0, "max": 1.5}, {"uniform": [0, 1.5]}),
        ({"distribution": "uniform", "min": 0.0, "max": 1.0}, {"uniform": [0.0, 1.0]}),
        ({"distribution": "q_uniform", "min": 0, "max": 10}, {"quniform": [0, 10, 1.0]}),
        ({"distribution": "q_uniform", "min": 0, "max": 64, "q": 8}, {"quniform": [0, 64, 8]}),
        (
            {"distribution": "log_uniform_values", "min": 1e-4, "max": 1e-2},
            {"loguniform": [1e-4, 1e-2]},
        ),
        (
            {"distribution": "q_log_uniform_values", "min": 16, "max": 512, "q": 16},
            {"qloguniform": [16, 512, 16]},
        ),
        (
            {"distribution": "inv_log_uniform_values", "min": 0.01, "max": 1.0},
            {"inv_loguniform": [0.01, 1.0]},
        ),
        ({"distribution": "normal"}, {"normal": [0.0, 1.0]}),
        ({"distribution": "normal", "mu": 2, "sigma": 0.5}, {"normal": [2, 0.5]}),
        ({"distribution": "q_normal", "mu": 0, "sigma": 3, "q": 2}, {"qnormal": [0, 3, 2]}),
        ({"distribution": "log_normal", "mu": -1, "sigma": 2}, {"lognormal": [-1, 2]}),
        ({"distribution": "q_log_normal"}, {"qlognormal": [0.0, 1.0, 1.0]}),
        ({"distribution": "beta", "a": 2, "b": 3}, {"beta": [2, 3]}),
        ({"distribution": "q_beta", "q": 0.1}, {"qbeta": [1.0, 1.0, 0.1]}),
        (
            {"values": ["a", "b"], "probabilities": [0.3, 0.7]},
            {"weighted_choice": {"values": ["a", "b"], "probabilities": [0.3, 0.7]}},
        ),
        (
            {"distribution": "categorical_w_probabilities", "values": [1], "probabilities": [1]},
            {"weighted_choice": {"values": [1], "probabilities": [1]}},
        ),
    ],
)
def test_each_distribution_maps_to_a_domain(param: dict, expected: dict) -> None:
    assert space_of(param)[0] == expected


def test_log_uniform_bounds_are_exponents() -> None:
    plain = space_of({"distribution": "log_uniform", "min": -5, "max": 0})[0]
    assert plain == {"loguniform": [pytest.approx(math.exp(-5)), 1.0]}
    q = space_of({"distribution": "q_log_uniform", "min": 0, "max": 3, "q": 2})[0]
    assert q == {"qloguniform": [1.0, pytest.approx(math.exp(3)), 2]}
    # inv_log_uniform: value = exp(-u), u uniform in [min, max]
    inv = space_of({"distribution": "inv_log_uniform", "min": 0, "max": 2})[0]
    assert inv == {"inv_loguniform": [pytest.approx(math.exp(-2)), 1.0]}


def test_constant_goes_to_config() -> None:
    assert space_of({"value": 7}) == (None, 7)
    assert space_of({"distribution": "constant", "value": [1, 2]}) == (None, [1, 2])


def test_grid_method_enumerates_finite_parameters() -> None:
    assert space_of({"values": [1, 2]}, "grid")[0] == {"grid": [1, 2]}
    assert space_of({"min": 1, "max": 3}, "grid")[0] == {"grid": [1, 2, 3]}
    q = space_of({"distribution": "q_uniform", "min": 0, "max": 1, "q": 0.25}, "grid")[0]
    assert q == {"grid": [0.0, 0.25, 0.5, 0.75, 1.0]}
    with pytest.raises(SpecError, match=r"parameters\.p: method grid needs a finite parameter"):
        space_of({"min": 0.0, "max": 1.0}, "grid")


def test_nested_parameters_become_dotted_keys() -> None:
    params = {
        "optimizer": {
            "parameters": {
                "lr": {"min": 0.1, "max": 0.2},
                "name": {"value": "adam"},
                "inner": {"parameters": {"beta": {"values": [0.9, 0.99]}}},
            }
        },
        "epochs": {"value": 3},
    }
    out = translate_wandb(sweep(parameters=params), "s.yaml")
    assert out["space"] == {
        "optimizer.lr": {"uniform": [0.1, 0.2]},
        "optimizer.inner.beta": {"choice": [0.9, 0.99]},
    }
    assert out["config"] == {"optimizer": {"name": "adam"}, "epochs": 3}
    spec = load_spec_from(sweep(parameters=params))
    assert spec.config == {"optimizer": {"name": "adam"}, "epochs": 3}
    assert set(spec.space) == {"optimizer.lr", "optimizer.inner.beta"}


def load_spec_from(raw: dict[str, Any], tmp: Path | None = None, **kwargs: Any):
    path = (tmp or REPO / "results") / "wandb_unit_sweep.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    try:
        return load_spec(path, **kwargs)
    finally:
        path.unlink()


def test_top_level_keys() -> None:
    raw = sweep(
        name="My sweep #1",
        description="lr search",
        project="proj",
        entity="team",
        method="bayes",
        run_cap=7,
        metric={"name": "acc", "goal": "maximize", "target": 0.95},
    )
    out = translate_wandb(raw, "dir/s.yaml")
    assert out["name"] == "My_sweep_1"
    assert out["description"] == "lr search (W&B project proj, entity team)"
    assert (out["metric"], out["mode"]) == ("acc", "max")
    assert out["stop"] == {"target": 0.95, "stop_sweep_on_target": True}
    assert out["search"] == {"algorithm": "hyperopt", "num_samples": 7}
    assert out["trainable"] == {
        "command": ["${env}", "${interpreter}", PROGRAM, "${args}"],
        "env": {"TUNE_JOBS_WANDB_SHIM": "1"},
    }
    assert translate_wandb(sweep(method="random"), "x/my-sweep.yaml")["name"] == "my-sweep"
    grid = sweep(method="grid", parameters={"a": {"values": [1]}})
    assert translate_wandb(grid, "s.yaml")["search"] == {"algorithm": "grid"}
    assert translate_wandb(sweep(), "s.yaml")["search"]["num_samples"] == 10
    assert "stop" not in translate_wandb(sweep(), "s.yaml")
    assert translate_wandb(sweep(metric={"name": "l"}), "s.yaml")["mode"] == "min"


def test_sanitize_name() -> None:
    assert sanitize_name("  __a b/c  ") == "a_b_c"
    assert sanitize_name("###") == ""


def test_run_cap_truncates_a_grid_into_named_variants() -> None:
    params = {"a": {"values": [1, 2, 3]}, "b": {"values": ["x", "y"]}}
    out = translate_wandb(sweep(method="grid", run_cap=4, parameters=params), "s.yaml")
    assert "space" not in out and out["search"] == {"algorithm": "grid", "num_samples": 0}
    assert out["variants"]["named"] == {
        "grid_0": {"a": 1, "b": "x"},
        "grid_1": {"a": 1, "b": "y"},
        "grid_2": {"a": 2, "b": "x"},
        "grid_3": {"a": 2, "b": "y"},
    }
    full = translate_wandb(sweep(method="grid", run_cap=6, parameters=params), "s.yaml")
    assert "variants" not in full and set(full["space"]) == {"a", "b"}


@pytest.mark.parametrize(
    ("et", "expected"),
    [
        ({"type": "hyperband", "min_iter": 3}, {"grace_period": 3, "reduction_factor": 3}),
        (
            {"type": "hyperband", "max_iter": 27, "s": 2, "eta": 3},
            {"grace_period": 3, "max_t": 27, "reduction_factor": 3},
        ),
        (
            {"type": "hyperband", "max_iter": 10, "s": 5, "eta": 2, "strict": True},
            {"grace_period": 1, "max_t": 10, "reduction_factor": 2},
        ),
        (
            {"type": "hyperband", "min_iter": 2, "max_iter": 20, "eta": 2},
            {"grace_period": 2, "max_t": 20, "reduction_factor": 2},
        ),
    ],
)
def test_hyperband_becomes_asha(et: dict, expected: dict) -> None:
    scheduler = translate_wandb(sweep(early_terminate=et), "s.yaml")["scheduler"]
    assert scheduler["type"] == "asha" and scheduler["time_attr"] == "iterations"
    assert scheduler["brackets"] == 1
    assert {k: scheduler[k] for k in expected} == expected
    if "max_iter" not in et:  # W&B never cuts runs short: rungs go far beyond any run
        assert scheduler["max_t"] == 3 * 3**10


def test_command_macros_and_program() -> None:
    cmd = ["${env}", "python3", "${program}", "--mode=fast", "${args_no_boolean_flags}"]
    out = translate_wandb(sweep(command=cmd), "s.yaml")
    assert out["trainable"]["command"] == ["${env}", "python3", PROGRAM, "--mode=fast", cmd[-1]]
    # A program next to the sweep file is found there (made absolute).
    here = translate_wandb(sweep(program="train_wandb.py"), f"{REPO}/tune_jobs/specs/wandb/s.yaml")
    assert here["trainable"]["command"][2] == str(REPO / PROGRAM)


@pytest.mark.parametrize(
    ("raw", "key", "message"),
    [
        (sweep(controller={"type": "local"}), "controller", "allowed: program, command, method"),
        (sweep(method="custom"), "method", "allowed: grid, random, bayes"),
        (sweep(metric={"name": "x", "goal": "up"}), "metric.goal", "allowed: minimize, maximize"),
        (sweep(metric={"name": "x", "impute": "worst"}), "metric.impute", "allowed: name, goal"),
        (sweep(run_cap=0), "run_cap", "expected an integer >= 1"),
        (
            sweep(early_terminate={"type": "envelope"}),
            "early_terminate.type",
            "got 'envelope'; allowed: hyperband",
        ),
        (
            sweep(early_terminate={"type": "hyperband", "min_iter": 1, "max_iter_x": 2}),
            "early_terminate.max_iter_x",
            "allowed: type, min_iter, max_iter, s, eta, strict",
        ),
        (
            sweep(early_terminate={"type": "hyperband", "max_iter": 9}),
            "early_terminate",
            "needs min_iter, or max_iter with s",
        ),
        (
            sweep(early_terminate={"type": "hyperband", "min_iter": 1, "strict": False}),
            "early_terminate.strict",
            "only strict: true",
        ),
        (
            sweep(early_terminate={"type": "hyperband", "min_iter": 1, "eta": 1}),
            "early_terminate.eta",
            "expected a number > 1",
        ),
        (
            sweep(parameters={"lr": {"distribution": "gamma", "min": 0, "max": 1}}),
            "parameters.lr.distribution",
            "unknown distribution 'gamma'; allowed: constant, categorical",
        ),
        (
            sweep(parameters={"lr": {"distribution": "normal", "min": 0}}),
            "parameters.lr.min",
            "not a key of distribution normal; allowed keys here: distribution, mu, sigma",
        ),
        (
            sweep(parameters={"lr": {"distribution": "uniform", "min": 0}}),
            "parameters.lr.max",
            "required by distribution uniform",
        ),
        (sweep(parameters={"lr": {"min": 1, "max": 1}}), "parameters.lr", "min must be < max"),
        (sweep(parameters={"lr": {"mean": 1}}), "parameters.lr", "cannot tell the distribution"),
        (sweep(parameters={"lr": 0.1}), "parameters.lr", "expected a mapping like {values"),
        (sweep(parameters={"a.b": {"value": 1}}), "parameters.a.b", "without dots"),
        (
            sweep(parameters={"o": {"parameters": {"x": {"value": 1}}, "value": 2}}),
            "parameters.o.value",
            "a nested parameter may only have parameters:",
        ),
        (sweep(parameters={}), "parameters", "expected a non-empty mapping"),
        (sweep(command=["${program}", "${argz}"]), "command.1", "unknown macro ${argz}"),
        (sweep(program="nope.py"), "program", "file not found: 'nope.py'"),
        ({"method": "grid", "program": PROGRAM}, "parameters", "required by a W&B sweep"),
    ],
)
def test_unsupported_keys_are_one_line_errors(raw: dict, key: str, message: str) -> None:
    with pytest.raises(SpecError) as err:
        translate_wandb(raw, "sweeps/s.yaml")
    text = str(err.value)
    assert "\n" not in text
    assert text.startswith(f"sweeps/s.yaml: {key}: "), text
    assert message in text, text


def test_detection_and_format_flag(tmp_path: Path) -> None:
    assert is_wandb_sweep({"method": "grid"}) and not is_wandb_sweep({"name": "x"})
    spec = load_spec_from(sweep(name="fmt", run_cap=3), tmp_path)
    assert spec.name == "fmt" and spec.search.num_samples == 3
    with pytest.raises(SpecError, match=r"wandb_unit_sweep.yaml: \w+: unknown key"):
        load_spec_from(sweep(name="fmt"), tmp_path, fmt="spec")
    # --set applies after translation: our own settings a W&B file cannot express.
    over = load_spec_from(sweep(name="fmt"), tmp_path, fmt="wandb", overrides=["max_concurrent=4"])
    assert over.max_concurrent == 4
