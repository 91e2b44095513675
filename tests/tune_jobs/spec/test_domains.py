"""The one model of a search domain: what each kind is, its bounds and step, the unit
interval, and no other module keeping its own list of kind names."""

from __future__ import annotations

import ast
import math
from pathlib import Path

import pytest

from tune_jobs.spec.domains import Domain
from tune_jobs.spec.kinds import DOMAIN_KINDS, KINDS

ROOT = Path(__file__).resolve().parents[3]

# One example per kind (valid arguments).
EXAMPLES: dict[str, Domain] = {
    "uniform": Domain("uniform", (-1.0, 3.0)),
    "quniform": Domain("quniform", (0, 64, 16)),
    "loguniform": Domain("loguniform", (1e-4, 1e-1)),
    "qloguniform": Domain("qloguniform", (0.01, 10.0, 0.01)),
    "randint": Domain("randint", (2, 9)),
    "qrandint": Domain("qrandint", (0, 100, 25)),
    "lograndint": Domain("lograndint", (1, 1024)),
    "normal": Domain("normal", (0.0, 2.0)),
    "qnormal": Domain("qnormal", (0.0, 2.0, 0.5)),
    "lognormal": Domain("lognormal", (0.0, 1.0)),
    "qlognormal": Domain("qlognormal", (0.0, 1.0, 1)),
    "beta": Domain("beta", (2.0, 5.0)),
    "qbeta": Domain("qbeta", (2.0, 5.0, 0.1)),
    "inv_loguniform": Domain("inv_loguniform", (0.01, 1.0)),
    "choice": Domain("choice", ("adam", "sgd", "muon")),
    "weighted_choice": Domain("weighted_choice", (["a", 0.2], ["b", 0.5], ["c", 0.3])),
    "grid": Domain("grid", (1, 2, 4)),
}


def test_every_kind_has_an_example() -> None:
    assert set(EXAMPLES) == set(KINDS) == set(DOMAIN_KINDS)


@pytest.mark.parametrize(
    ("kind", "choice", "rng", "integer", "log", "bounds", "step"),
    [
        ("uniform", False, True, False, False, (-1.0, 3.0), None),
        ("quniform", False, True, True, False, (0, 64), 16),  # an int q: int values
        ("loguniform", False, True, False, True, (1e-4, 1e-1), None),
        ("qloguniform", False, True, False, True, (0.01, 10.0), 0.01),
        ("randint", False, True, True, False, (2, 9), 1),
        ("qrandint", False, True, True, False, (0, 100), 25),
        ("lograndint", False, True, True, True, (1, 1024), 1),
        ("normal", False, False, False, False, None, None),
        ("qnormal", False, False, False, False, None, 0.5),
        ("lognormal", False, False, False, True, None, None),
        ("qlognormal", False, False, True, True, None, 1),
        ("beta", False, False, False, False, None, None),
        ("qbeta", False, False, False, False, None, 0.1),
        ("inv_loguniform", False, True, False, True, (0.01, 1.0), None),
        ("choice", True, False, False, False, None, None),
        ("weighted_choice", True, False, False, False, None, None),
        ("grid", True, False, False, False, None, None),
    ],
)
def test_the_domain_knows_what_it_is(kind, choice, rng, integer, log, bounds, step) -> None:
    d = EXAMPLES[kind]
    assert d.is_choice is choice
    assert d.is_numeric is (not choice)
    assert d.is_range is rng
    assert d.is_integer is integer
    assert d.is_log is log
    assert d.bounds == bounds
    assert d.step == step
    assert (d.values is not None) is choice


def test_with_bounds_keeps_kind_and_step() -> None:
    assert EXAMPLES["qrandint"].with_bounds(25, 75) == Domain("qrandint", (25, 75, 25))
    assert EXAMPLES["loguniform"].with_bounds(1e-3, 1e-2) == Domain("loguniform", (1e-3, 1e-2))
    with pytest.raises(ValueError, match="no bounds"):
        EXAMPLES["choice"].with_bounds(0, 1)


UNITS = [0.0, 0.07, 0.25, 0.5, 0.61, 0.93, 0.999999]


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_from_unit_stays_in_the_support_and_is_monotone(kind: str) -> None:
    d = EXAMPLES[kind]
    values = [d.from_unit(u) for u in UNITS]
    if d.is_choice:
        assert set(values) <= set(d.values or [])
        return
    if d.bounds is not None:
        low, high = d.bounds
        assert all(low <= v <= high for v in values), values
    if d.is_integer:
        assert all(isinstance(v, int) for v in values), values
    assert values == sorted(values)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_to_unit_inverts_from_unit(kind: str) -> None:
    d = EXAMPLES[kind]
    for u in UNITS:
        value = d.from_unit(u)
        back = d.to_unit(value)
        assert 0.0 <= back < 1.0
        again = d.from_unit(back)
        if isinstance(value, float):
            assert again == pytest.approx(value, rel=1e-6, abs=1e-9), (u, value, back)
        else:
            assert again == value, (u, value, back)


def test_to_unit_puts_integers_and_values_in_the_middle_of_their_bin() -> None:
    assert EXAMPLES["randint"].to_unit(2) == pytest.approx(0.5 / 8)
    assert EXAMPLES["choice"].to_unit("sgd") == pytest.approx(0.5)
    assert EXAMPLES["weighted_choice"].to_unit("b") == pytest.approx(0.2 + 0.25)
    assert EXAMPLES["loguniform"].to_unit(math.sqrt(1e-4 * 1e-1)) == pytest.approx(0.5)


@pytest.mark.parametrize(
    ("kind", "value"),
    [("choice", "rmsprop"), ("uniform", 3.5), ("randint", 1), ("lognormal", -1.0)],
)
def test_to_unit_refuses_what_the_domain_cannot_produce(kind: str, value: object) -> None:
    with pytest.raises(ValueError):
        EXAMPLES[kind].to_unit(value)


# --- no other module lists kind names --------------------------------------------------

# The domain model itself (its table and the per-kind sampling code) and the W&B
# translation (W&B's own distribution names, which partly coincide with ours).
MODEL = {
    "tune_jobs/spec/kinds.py",
    "tune_jobs/spec/domains.py",
    "tune_jobs/spec/sampling.py",
    "tune_jobs/spec/wandb/params.py",
}


def _kind_lists(path: Path) -> list[str]:
    """Tuple, list or set literals holding two or more kind names."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
            names = [
                e.value
                for e in node.elts
                if isinstance(e, ast.Constant) and isinstance(e.value, str) and e.value in KINDS
            ]
            if len(names) >= 2:
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {names}")
    return found


def test_no_module_keeps_its_own_list_of_kind_names() -> None:
    offenders = []
    for package in ("tune_jobs", "analysis"):
        for path in sorted((ROOT / package).rglob("*.py")):
            if str(path.relative_to(ROOT)) not in MODEL:
                offenders += _kind_lists(path)
    assert not offenders, "ask the Domain (tune_jobs/spec/domains.py):\n" + "\n".join(offenders)


def test_the_kind_list_finder_sees_a_tuple() -> None:
    sample = ROOT / "tests" / "tune_jobs" / "spec" / "test_domains.py"
    assert _kind_lists(sample) == [
        f"tests/tune_jobs/spec/test_domains.py:{_SAMPLE_LINE}: ['randint', 'qrandint']"
    ]


_SAMPLE_LINE = 1 + __import__("inspect").currentframe().f_lineno
_SAMPLE = ("randint", "qrandint")  # what the finder must see in this file
