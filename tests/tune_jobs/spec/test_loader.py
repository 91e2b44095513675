"""Loading specs: YAML floats, ``--set`` overrides, the smoke rule, domains, plans."""

from __future__ import annotations

import copy
import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
import yaml

import tune_jobs
from tune_jobs.errors import SpecError
from tune_jobs.plan.run_plan import make_plan
from tune_jobs.spec import (
    CommandSpec,
    Domain,
    SweepSpec,
    VariantsSpec,
    apply_overrides,
    apply_smoke,
    load_spec,
    spec_to_dict,
)
from tune_jobs.spec.convert import build
from tune_jobs.spec.loader import parse_yaml
from tune_jobs.trial.meta import TRIAL_META_KEY, effective_config

DEMO = Path(tune_jobs.__file__).parent / "specs" / "demo.yaml"

BASE = """\
name: t
trainable: mlp
metric: val_loss
"""


def write_spec(tmp_path: Path, body: str, name: str = "spec.yaml") -> Path:
    path = tmp_path / name
    path.write_text(BASE + body, encoding="utf-8")
    return path


# A user trainable: its config keys are its own, so the plan tests below may use any key
# (a built-in trainable refuses keys its config does not have).
ANY_KEYS = "tests.fixtures.user_trainables:counter"


def spec_from(body: str, trainable: str = "mlp") -> SweepSpec:
    text = BASE.replace("trainable: mlp", f"trainable: {trainable}") + body
    return build(SweepSpec, parse_yaml(text, "test.yaml"), "", "test.yaml")


# --- YAML numbers --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [("1e-4", 1e-4), ("1E-4", 1e-4), ("-2e+3", -2000.0), ("3e2", 300.0), ("1.0e-2", 0.01)],
)
def test_exponent_without_dot_is_a_float(text: str, value: float) -> None:
    parsed = parse_yaml(f"x: {text}", "t.yaml")["x"]
    assert isinstance(parsed, float)
    assert parsed == pytest.approx(value)


def test_plain_integers_and_strings_keep_their_type() -> None:
    parsed = parse_yaml("a: 100\nb: '1e-4'\nc: e5\nd: 0.5", "t.yaml")
    assert parsed == {"a": 100, "b": "1e-4", "c": "e5", "d": 0.5}
    assert isinstance(parsed["a"], int)


def test_loguniform_bounds_written_as_1e_minus_4_validate(tmp_path: Path) -> None:
    spec = load_spec(write_spec(tmp_path, "space:\n  lr: {loguniform: [1e-4, 1e-2]}\n"))
    assert spec.space["lr"] == Domain("loguniform", (1e-4, 1e-2))
    assert all(isinstance(v, float) for v in spec.space["lr"].args)


def test_missing_file_is_a_spec_error(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="file not found"):
        load_spec(tmp_path / "nope.yaml")


# --- --set overrides -----------------------------------------------------------------


def test_set_scalar_replaces_value_and_leaves_input_alone() -> None:
    raw = {"config": {"max_steps": 600}, "search": {"num_samples": 4}}
    before = copy.deepcopy(raw)
    out = apply_overrides(raw, ["config.max_steps=50", "search.num_samples=7"], "s.yaml")
    assert out["config"]["max_steps"] == 50
    assert out["search"]["num_samples"] == 7
    assert raw == before


def test_set_creates_nested_mappings() -> None:
    out = apply_overrides({"config": {"x": 1}}, ["config.a.b=3", "stop.max_iterations=9"], "s")
    assert out["config"] == {"x": 1, "a": {"b": 3}}
    assert out["stop"] == {"max_iterations": 9}


def test_set_reaches_literal_dotted_keys_in_space() -> None:
    raw = {"space": {"optimizer.lr": {"uniform": [0.1, 0.2]}}}
    out = apply_overrides(raw, ["space.optimizer.lr.loguniform=[1e-4,1e-2]"], "s")
    assert set(out["space"]) == {"optimizer.lr"}
    assert out["space"]["optimizer.lr"] == {"uniform": [0.1, 0.2], "loguniform": [1e-4, 1e-2]}


def test_set_replaces_a_whole_literal_dotted_domain(tmp_path: Path) -> None:
    path = write_spec(tmp_path, "space:\n  optimizer.lr: {uniform: [0.1, 0.2]}\n")
    spec = load_spec(path, ["space.optimizer.lr={loguniform: [1e-4, 1e-2]}"])
    assert spec.space == {"optimizer.lr": Domain("loguniform", (1e-4, 1e-2))}


def test_set_yaml_list_and_mapping_values() -> None:
    out = apply_overrides(
        {}, ["space.width.choice=[16, 32, 64]", "resources={cpu: 2, gpu: 0.5}"], "s"
    )
    assert out["space"]["width"]["choice"] == [16, 32, 64]
    assert out["resources"] == {"cpu": 2, "gpu": 0.5}


def test_set_empty_value_is_null() -> None:
    assert apply_overrides({"max_concurrent": 3}, ["max_concurrent="], "s") == {
        "max_concurrent": None
    }


@pytest.mark.parametrize("item", ["config.max_steps", "=5", " =5"])
def test_malformed_set_is_a_spec_error(item: str) -> None:
    with pytest.raises(SpecError) as info:
        apply_overrides({}, [item], "s.yaml")
    assert info.value.key_path == "--set"
    assert repr(item) in str(info.value)


def test_set_cannot_descend_into_a_scalar() -> None:
    with pytest.raises(SpecError, match="cannot descend") as info:
        apply_overrides({"config": {"preset": "tiny"}}, ["config.preset.size=3"], "s.yaml")
    assert info.value.key_path == "config.preset.size"


def test_set_with_bad_yaml_value_names_the_override() -> None:
    with pytest.raises(SpecError, match=r"--set config\.x.*invalid YAML"):
        apply_overrides({}, ["config.x=[1, 2"], "s.yaml")


def test_set_result_is_validated_with_key_path() -> None:
    with pytest.raises(SpecError) as info:
        load_spec(DEMO, ["search.num_samples=-1"])
    assert info.value.key_path == "search.num_samples"
    assert "got -1" in str(info.value)


def test_load_spec_name_and_storage_override_the_file() -> None:
    spec = load_spec(DEMO, name="other", storage="/tmp/elsewhere")
    assert (spec.name, spec.storage) == ("other", "/tmp/elsewhere")


# --- the smoke rule ------------------------------------------------------------------

SMOKE_BODY = """\
config: {preset: default, max_steps: 600, opt: {name: adam, beta: 0.9}}
space:
  lr: {loguniform: [1.0e-4, 1.0e-1]}
  depth: {grid: [1, 2, 3, 4]}
search: {num_samples: 10}
stop: {max_iterations: 100, max_time_s: 500}
max_concurrent: 8
max_failures: 5
smoke:
  config: {preset: tiny, opt: {beta: 0.5}}
  max_iterations: 4
  max_trials: 3
"""


def test_smoke_shrinks_by_the_rule() -> None:
    spec = spec_from(SMOKE_BODY, ANY_KEYS)
    original = copy.deepcopy(spec)
    s = apply_smoke(spec)

    assert spec == original, "apply_smoke must not modify its input"
    assert s.config == {"preset": "tiny", "max_steps": 600, "opt": {"name": "adam", "beta": 0.5}}
    assert s.space["depth"] == Domain("grid", (1, 2))
    assert s.space["lr"] == spec.space["lr"]
    # A 2-point grid leaves room for 3 // 2 = 1 sample per grid point.
    assert s.search.num_samples == 1
    assert (s.stop.max_iterations, s.stop.max_time_s) == (4, 60.0)
    assert s.max_concurrent == 2
    assert s.max_failures == 1
    assert make_plan(s, "t").num_trials == 2 <= s.smoke.max_trials


def test_smoke_keeps_tighter_stop_rules_and_small_counts() -> None:
    s = apply_smoke(spec_from("stop: {max_iterations: 2, max_time_s: 30}\nmax_concurrent: 1\n"))
    assert (s.stop.max_iterations, s.stop.max_time_s) == (2, 30.0)
    assert s.max_concurrent == 1
    assert s.search.num_samples == 1  # default num_samples (1) is below max_trials


def test_smoke_truncates_variants_in_order_and_samples_to_budget() -> None:
    spec = spec_from(
        """\
variants:
  reference: {lr: 0.01}
  one_factor: {lr: [0.1, 0.3], width: [8]}
  named: {fast: {lr: 0.5}}
search: {num_samples: 5}
smoke: {max_trials: 3}
"""
    )
    s = apply_smoke(spec)
    assert s.variants is not None
    assert [name for name, _ in s.variants.expand()] == ["reference", "lr=0.1", "lr=0.3"]
    assert s.variants.expand() == spec.variants.expand()[:3]
    assert s.search.num_samples == 0
    assert make_plan(s, "t").num_trials == 3


def test_smoke_spec_with_generated_variant_names_round_trips() -> None:
    spec = spec_from("variants:\n  reference: {lr: 0.01}\n  one_factor: {lr: [0.1, 0.3]}\n")
    s = apply_smoke(spec)  # max_trials defaults to 2
    assert [n for n, _ in s.variants.expand()] == ["reference", "lr=0.1"]
    again = build(SweepSpec, parse_yaml(yaml.safe_dump(spec_to_dict(s)), "x"), "", "x")
    assert again == s


def test_smoke_samples_fill_budget_left_by_variants() -> None:
    spec = spec_from(
        "variants: {include_reference: false, named: {a: {lr: 0.1}}}\n"
        "search: {num_samples: 9}\nsmoke: {max_trials: 3}\n"
    )
    s = apply_smoke(spec)
    assert [n for n, _ in s.variants.expand()] == ["a"]
    assert s.search.num_samples == 2


def test_smoke_later_stages_keep_a_budget_when_variants_use_stage_one_up() -> None:
    spec = spec_from(
        "space: {lr: {loguniform: [1.0e-4, 1.0e-1]}}\n"
        "variants: {reference: {lr: 0.01}, named: {a: {lr: 0.1}}}\n"
        "search: {num_samples: 4}\n"
        "stages: [{name: fine, top_k: 1, search: {algorithm: lhs, num_samples: 6}}]\n"
        "smoke: {max_trials: 2}\n"
    )
    s = apply_smoke(spec)
    assert len(s.variants.expand()) == 2 and s.search.num_samples == 0
    assert s.stages[0].search.num_samples == 2


# --- domains -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "args", "expected"),
    [
        ("randint", (0, 3), {0, 1, 2, 3}),
        ("lograndint", (1, 4), {1, 2, 3, 4}),
        ("qrandint", (0, 6, 3), {0, 3, 6}),
    ],
)
def test_integer_ranges_include_their_upper_bound(kind: str, args: tuple, expected: set) -> None:
    domain = Domain(kind, args).to_tune()
    samples = domain.sample(size=2000, random_state=np.random.default_rng(0))
    assert {int(v) for v in samples} == expected


def test_domain_values_and_log_scale() -> None:
    assert Domain("grid", (1, 2)).values == [1, 2]
    assert Domain("choice", ("a",)).values == ["a"]
    assert Domain("uniform", (0, 1)).values is None
    assert Domain("loguniform", (1e-4, 1e-2)).is_log
    assert not Domain("uniform", (0, 1)).is_log


@pytest.mark.parametrize(
    "data",
    [{"randint": [2, 2]}, {"normal": [-5, 0.1]}, {"qloguniform": [1, 100, 1]}, {"grid": [None]}],
)
def test_edge_domains_are_valid(data: dict) -> None:
    ((kind, args),) = data.items()
    assert Domain.from_spec(data, "space.x", "t") == Domain(kind, tuple(args))


# --- spec_to_dict --------------------------------------------------------------------


def test_spec_to_dict_round_trips_through_build() -> None:
    spec = load_spec(DEMO)
    data = spec_to_dict(spec)
    assert build(SweepSpec, data, "", "round-trip") == spec
    # ... also through YAML text, as RUN_DIR/spec.yaml is re-read on resume.
    text = yaml.safe_dump(data, sort_keys=False)
    assert build(SweepSpec, parse_yaml(text, "spec.yaml"), "", "spec.yaml") == spec


def test_spec_to_dict_round_trips_a_command_trainable() -> None:
    spec = spec_from("space: {x: {quniform: [0, 1, 0.25]}}\n")
    spec = dataclasses.replace(
        spec,
        trainable=CommandSpec(
            command=["python", "train.py", "${args}"],
            metrics_regex=r"val=(?P<val_loss>[\d.]+)",
            env={"A": "1"},
        ),
    )
    data = spec_to_dict(spec)
    assert data["trainable"]["command"] == ["python", "train.py", "${args}"]
    assert data["space"] == {"x": {"quniform": [0, 1, 0.25]}}
    assert build(SweepSpec, parse_yaml(yaml.safe_dump(data), "s"), "", "s") == spec


# --- variants and plans --------------------------------------------------------------


def test_variant_names_and_overrides() -> None:
    variants = VariantsSpec(
        reference={"lr": 0.01, "width": 64},
        one_factor={"lr": [0.1, 0.001], "depth": [3]},
        named={"wide": {"width": 256}},
    )
    assert variants.expand() == [
        ("reference", {"lr": 0.01, "width": 64}),
        ("lr=0.1", {"lr": 0.1, "width": 64}),
        ("lr=0.001", {"lr": 0.001, "width": 64}),
        ("depth=3", {"lr": 0.01, "width": 64, "depth": 3}),
        ("wide", {"lr": 0.01, "width": 256}),
    ]
    no_ref = VariantsSpec(include_reference=False, named={"wide": {"width": 256}})
    assert [n for n, _ in no_ref.expand()] == ["wide"]


def test_plan_counts_variants_times_unfixed_grid_plus_samples() -> None:
    spec = spec_from(
        """\
space:
  lr: {loguniform: [1.0e-4, 1.0e-1]}
  depth: {grid: [1, 2, 3]}
  width: {grid: [32, 64]}
variants:
  reference: {lr: 0.01}
  one_factor: {depth: [4, 5]}
  named: {both: {depth: 1, width: 32}}
search: {num_samples: 2}
"""
    )
    plan = make_plan(spec, "t")
    assert plan.variant_names == ["reference", "depth=4", "depth=5", "both"]
    assert plan.grid_size == 6
    # reference: 3*2 grid points; depth=N fixes depth: 2 each; both fixes both: 1.
    assert plan.variant_trials == 6 + 2 + 2 + 1
    assert plan.num_trials == 11 + 2 * 6
    assert plan.tune_num_samples == 4 + 2
    assert f"trials: {plan.num_trials} (11 from variants + 2 samples x 6 grid points)" in (
        plan.describe()
    )


def test_plan_with_variants_defaults_to_no_samples() -> None:
    plan = make_plan(spec_from("variants: {one_factor: {lr: [0.1]}}\n"), "t")
    assert plan.spec.num_samples == 0
    assert plan.num_trials == 2


def test_plan_grid_algorithm_turns_choice_into_grid() -> None:
    spec = spec_from(
        "search: {algorithm: grid}\nspace:\n  a: {choice: [1, 2, 3]}\n  b: {grid: [x, y]}\n",
        ANY_KEYS,
    )
    plan = make_plan(spec, "t")
    assert plan.grid_size == 6
    assert plan.num_trials == 6
    assert plan.param_space["a"] == {"grid_search": [1, 2, 3]}


def test_plan_nests_dotted_space_keys_into_config() -> None:
    spec = spec_from(
        "config: {optimizer: {name: adam}}\nspace:\n  optimizer.lr: {grid: [0.1, 0.2]}\n"
    )
    plan = make_plan(spec, "t")
    assert plan.param_space["optimizer"] == {"name": "adam", "lr": {"grid_search": [0.1, 0.2]}}
    assert plan.param_space[TRIAL_META_KEY] == {"variant": None, "extra": "{}"}


def test_variant_values_missing_from_param_space_travel_as_extra() -> None:
    spec = spec_from(
        """\
config: {preset: default, opt: {name: adam}}
space:
  lr: {loguniform: [1.0e-4, 1.0e-1]}
variants:
  include_reference: false
  named:
    sgd: {lr: 0.5, opt.name: sgd, opt.momentum: 0.9, activation: gelu}
""",
        ANY_KEYS,
    )
    plan = make_plan(spec, "t")
    (point,) = plan.points
    meta = point[TRIAL_META_KEY]
    assert meta["variant"] == "sgd"
    # lr and opt.name exist in the param space, so Tune's preset sets them ...
    assert point["lr"] == 0.5
    assert point["opt"] == {"name": "sgd"}
    # ... opt.momentum and activation do not, so they travel in `extra`.
    assert json.loads(meta["extra"]) == {"opt": {"momentum": 0.9}, "activation": "gelu"}

    # A trial's config as Tune would build it: param space resolved, point applied.
    trial_config = {
        "preset": "default",
        "opt": {"name": "sgd"},
        "lr": 0.5,
        TRIAL_META_KEY: meta,
    }
    config, variant = effective_config(trial_config)
    assert variant == "sgd"
    assert config == {
        "preset": "default",
        "opt": {"name": "sgd", "momentum": 0.9},
        "lr": 0.5,
        "activation": "gelu",
    }
    assert TRIAL_META_KEY not in config


def test_effective_config_without_meta_is_the_config() -> None:
    assert effective_config({"a": 1}) == ({"a": 1}, None)


def test_smoke_never_exceeds_max_trials_with_several_grids() -> None:
    spec = spec_from(
        "space:\n  a: {grid: [1, 2, 3]}\n  b: {grid: [4, 5]}\n  c: {grid: [6, 7]}\n"
        "search: {num_samples: 5}\nsmoke: {max_trials: 4}\n",
        ANY_KEYS,
    )
    s = apply_smoke(spec)
    assert [len(s.space[k].args) for k in "abc"] == [2, 2, 1]
    assert make_plan(s, "t").num_trials == 4


def test_nested_variant_values_count_as_fixing_a_dotted_grid_key() -> None:
    spec = spec_from(
        "space:\n  optimizer.lr: {grid: [0.1, 0.2]}\n"
        "variants:\n  include_reference: false\n  named:\n    fixed: {optimizer: {lr: 0.5}}\n"
        "    free: {width: 3}\n"
    )
    plan = make_plan(spec, "t")
    assert plan.variant_trials == 1 + 2
