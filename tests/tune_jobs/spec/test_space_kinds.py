"""Every distribution kind: Tune and hyperopt draws lie in the support, with the right types."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hyperopt.pyll import stochastic

from tune_jobs.errors import SpecError
from tune_jobs.spec.domains import DOMAIN_KINDS, Domain

DRAWS = 200


def _multiple(v: float, q: float) -> bool:
    return math.isclose(v / q, round(v / q), abs_tol=1e-9)


def _in_range(lo: float, hi: float):
    return lambda v: lo - 1e-12 <= v <= hi + 1e-12


# kind -> (args, value type, support check, values that must be reachable)
CASES: dict[str, tuple[tuple[Any, ...], type, Any, set[Any]]] = {
    "uniform": ((-1.0, 2.0), float, _in_range(-1, 2), set()),
    "quniform": ((0.5, 10.0, 3.0), float, lambda v: v in (3.0, 6.0, 9.0), {3.0, 9.0}),
    "loguniform": ((1e-4, 1e-1), float, _in_range(1e-4, 1e-1), set()),
    "qloguniform": ((1, 100, 1), int, _in_range(1, 100), {1}),
    "randint": ((0, 3), int, lambda v: v in (0, 1, 2, 3), {0, 1, 2, 3}),
    "qrandint": ((1, 8, 1), int, _in_range(1, 8), {1, 8}),
    "lograndint": ((1, 4), int, lambda v: v in (1, 2, 3, 4), {1, 4}),
    "normal": ((5.0, 0.5), float, math.isfinite, set()),
    "qnormal": ((0.0, 3.0, 2), int, lambda v: v % 2 == 0, set()),
    "lognormal": ((0.0, 1.0), float, lambda v: v > 0, set()),
    "qlognormal": ((1.0, 1.0, 0.5), float, lambda v: v >= 0 and _multiple(v, 0.5), set()),
    "beta": ((2.0, 5.0), float, _in_range(0, 1), set()),
    "qbeta": ((0.5, 0.5, 0.25), float, lambda v: v in (0.0, 0.25, 0.5, 0.75, 1.0), {0.0, 1.0}),
    "inv_loguniform": ((0.01, 1.0), float, _in_range(0.01, 1.0), set()),
    "choice": ((None, [1, 2], "a"), object, lambda v: v in (None, [1, 2], "a"), {None, "a"}),
    "weighted_choice": ((["a", 0.1], ["b", 0.9]), str, lambda v: v in ("a", "b"), {"a", "b"}),
}


def test_every_kind_is_covered() -> None:
    assert set(CASES) | {"grid"} == set(DOMAIN_KINDS)


def _check(kind: str, values: list[Any]) -> None:
    _, typ, in_support, reachable = CASES[kind]
    for v in values:
        if typ is not object:
            assert type(v) is typ, (kind, v, type(v))
        assert in_support(v), (kind, v)
    hashable = {v for v in values if not isinstance(v, list)}
    assert reachable <= hashable, (kind, reachable - hashable)


@pytest.mark.parametrize("kind", sorted(CASES))
def test_tune_draws_lie_in_the_support(kind: str) -> None:
    domain = Domain(kind, CASES[kind][0]).to_tune()
    rng = np.random.default_rng(0)
    values = [domain.sample(random_state=rng) for _ in range(DRAWS)]
    if kind in ("randint", "qrandint", "lograndint"):  # Tune's own integer domains
        values = [int(v) for v in values]
    if kind in ("uniform", "loguniform", "normal"):
        values = [float(v) for v in values]
    _check(kind, values)


@pytest.mark.parametrize("kind", sorted(CASES))
def test_hyperopt_draws_are_plain_numbers_in_the_support(kind: str) -> None:
    expr = Domain(kind, CASES[kind][0]).to_hyperopt(kind)
    rng = np.random.default_rng(1)
    _check(kind, [stochastic.sample(expr, rng=rng) for _ in range(DRAWS)])


def test_custom_kinds_are_reproducible_under_a_seed() -> None:
    domain = Domain("lognormal", (0.0, 1.0)).to_tune()
    first = [domain.sample(random_state=np.random.default_rng(7)) for _ in range(3)]
    again = [domain.sample(random_state=np.random.default_rng(7)) for _ in range(3)]
    assert first == again
    weighted = Domain("weighted_choice", (["x", 0.5], ["y", 0.5])).to_tune()
    a = weighted.sample(size=20, random_state=np.random.default_rng(3))
    assert a == weighted.sample(size=20, random_state=np.random.default_rng(3))


def test_weighted_choice_follows_its_probabilities() -> None:
    domain = Domain("weighted_choice", (["rare", 0.1], ["common", 0.9])).to_tune()
    draws = domain.sample(size=2000, random_state=np.random.default_rng(0))
    assert 0.05 < draws.count("rare") / 2000 < 0.15


def test_lognormal_is_exp_of_the_normal() -> None:
    domain = Domain("lognormal", (1.0, 0.1)).to_tune()
    logs = np.log(domain.sample(size=4000, random_state=np.random.default_rng(0)))
    assert abs(logs.mean() - 1.0) < 0.01 and abs(logs.std() - 0.1) < 0.01


def test_grid_is_refused_by_hyperopt() -> None:
    with pytest.raises(ValueError, match="does not support 'grid'"):
        Domain("grid", (1, 2)).to_hyperopt("x")


def test_new_kinds_values_log_scale_and_describe() -> None:
    wc = Domain.from_spec(
        {"weighted_choice": {"values": ["a", None], "probabilities": [0.25, 0.75]}}, "space.x", "t"
    )
    assert wc == Domain("weighted_choice", (["a", 0.25], [None, 0.75]))
    assert wc.values == ["a", None]
    assert wc.describe() == "weighted_choice{'a': 0.25, null: 0.75}"
    # The list form (what spec.yaml stores) parses to the same domain.
    assert Domain.from_spec({"weighted_choice": [["a", 0.25], [None, 0.75]]}, "s", "t") == wc
    assert Domain("lognormal", (0, 1)).is_log
    assert Domain("inv_loguniform", (0.1, 1)).is_log
    assert not Domain("beta", (1, 1)).is_log
    assert Domain("beta", (1, 1)).values is None


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"lognormal": [0, 0]}, "space.x.lognormal: sd must be > 0; got 0"),
        ({"qnormal": [0, 1, 0]}, "space.x.qnormal: q must be > 0; got 0"),
        ({"qlognormal": [0, 1]}, "expected 3 numbers [mean, sd, q]"),
        ({"beta": [0, 1]}, "beta needs a > 0 and b > 0"),
        ({"qbeta": [1, 1, -0.5]}, "q must be > 0"),
        ({"inv_loguniform": [0, 1]}, "log-scaled range needs low > 0"),
        ({"inv_loguniform": [1, 0.5]}, "low >= high"),
        ({"quniform": [0.1, 0.2, 1.0]}, "no multiple of q=1.0 lies in [0.1, 0.2]"),
        ({"weighted_choice": {"values": [1, 2], "probabilities": [0.5, 0.6]}}, "sum to 1"),
        ({"weighted_choice": {"values": [1, 2], "probabilities": [1.0]}}, "2 values but 1"),
        ({"weighted_choice": {"values": [1], "probs": [1.0]}}, "expected {values: [...]"),
        ({"weighted_choice": [[1, -0.5], [2, 1.5]]}, "probabilities.0: expected a number >= 0"),
        ({"weighted_choice": [1, 2]}, "expected {values"),
    ],
)
def test_bad_arguments_are_one_line_spec_errors(data: dict, message: str) -> None:
    with pytest.raises(SpecError) as err:
        Domain.from_spec(data, "space.x", "f.yaml")
    text = str(err.value)
    assert text.startswith("f.yaml: space.x") and "\n" not in text
    assert message in text


def test_probabilities_within_tolerance_are_accepted() -> None:
    data = {"weighted_choice": {"values": [1, 2, 3], "probabilities": [0.1, 0.2, 0.7000001]}}
    assert Domain.from_spec(data, "space.x", "t").kind == "weighted_choice"


def test_integer_q_gives_integers_and_float_q_floats() -> None:
    rng = np.random.default_rng(0)
    ints = [Domain("quniform", (16, 128, 16)).to_tune().sample(random_state=rng) for _ in range(50)]
    assert all(type(v) is int and v % 16 == 0 and 16 <= v <= 128 for v in ints)
    floats = Domain("quniform", (0.0, 1.0, 0.25)).to_tune().sample(size=50, random_state=rng)
    assert all(isinstance(v, float) for v in floats)
