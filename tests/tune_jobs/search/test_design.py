"""Space-filling designs: Latin hypercube strata and 2-level fractional factorials."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tune_jobs.search.design import design_points, factorial_levels, from_unit
from tune_jobs.spec.domains import Domain


def test_from_unit_maps_each_kind_into_its_support() -> None:
    us = np.linspace(0.0, 1.0, 101)
    loguni = Domain("loguniform", (1e-4, 1e-1))
    values = [from_unit(loguni, u) for u in us]
    assert min(values) == pytest.approx(1e-4) and max(values) <= 1e-1
    # Halfway in unit space is halfway in log space.
    assert from_unit(loguni, 0.5) == pytest.approx(math.sqrt(1e-4 * 1e-1))
    ints = {from_unit(Domain("randint", (1, 4)), u) for u in us}
    assert ints == {1, 2, 3, 4}  # upper bound included, every value reachable
    assert all(isinstance(v, int) for v in ints)
    assert {from_unit(Domain("choice", ("a", "b", "c")), u) for u in us} == {"a", "b", "c"}
    q = {from_unit(Domain("quniform", (0, 1, 0.25)), u) for u in us}
    assert q == {0.0, 0.25, 0.5, 0.75, 1.0}
    normal = [from_unit(Domain("normal", (2.0, 0.5)), u) for u in (0.1587, 0.5, 0.8413)]
    assert normal == pytest.approx([1.5, 2.0, 2.5], abs=1e-3)


def test_latin_hypercube_puts_one_point_in_each_stratum_per_dimension() -> None:
    space = {"lr": Domain("loguniform", (1e-4, 1e-0)), "model.dropout": Domain("uniform", (0, 1))}
    n = 10
    points = design_points(space, "lhs", n, seed=3, resolution=3)
    assert len(points) == n
    lr_strata = sorted(int((math.log10(p["lr"]) + 4) / 4 * n) for p in points)
    drop_strata = sorted(int(p["model"]["dropout"] * n) for p in points)  # nested key
    assert lr_strata == list(range(n))
    assert drop_strata == list(range(n))
    assert design_points(space, "lhs", n, seed=3, resolution=3) == points  # seeded
    assert design_points(space, "lhs", n, seed=4, resolution=3) != points


def test_fractional_factorial_is_balanced_and_orthogonal() -> None:
    space = {
        "lr": Domain("loguniform", (1e-3, 1e-1)),
        "batch": Domain("choice", (32, 64)),
        "layers": Domain("randint", (2, 6)),
        "dropout": Domain("uniform", (0.0, 0.3)),
        "act": Domain("choice", ("relu", "gelu")),
    }
    points = design_points(space, "factorial", 1, seed=None, resolution=3)
    assert len(points) == 8  # 2^(5-2), resolution III
    coded = np.array(
        [[1 if p[k] == factorial_levels(d)[1] else -1 for k, d in space.items()] for p in points]
    )
    assert (coded.sum(axis=0) == 0).all()  # each factor half low, half high
    gram = coded.T @ coded
    assert (gram == np.diag(np.diag(gram))).all()  # main effects orthogonal
    assert {p["layers"] for p in points} == {2, 6}
    assert len(design_points(space, "factorial", 2, seed=None, resolution=3)) == 16  # replicated


def test_factorial_rejects_a_choice_with_more_than_two_values() -> None:
    with pytest.raises(ValueError, match="2 values per choice; got 3"):
        factorial_levels(Domain("choice", (1, 2, 3)))


def test_small_designs_are_full_factorials() -> None:
    space = {"a": Domain("uniform", (0, 1)), "b": Domain("uniform", (0, 1))}
    points = design_points(space, "factorial", 1, seed=None, resolution=5)
    assert sorted((p["a"], p["b"]) for p in points) == [(0, 0), (0, 1), (1, 0), (1, 1)]


def test_latin_hypercube_covers_the_shaped_kinds() -> None:
    space = {
        "w": Domain("weighted_choice", (("a", 0.8), ("b", 0.2))),
        "ln": Domain("lognormal", (0.0, 1.0)),
        "b": Domain("beta", (2.0, 5.0)),
        "q": Domain("qnormal", (10.0, 3.0, 1.0)),
    }
    points = design_points(space, "lhs", 20, seed=0, resolution=3)
    assert sum(p["w"] == "a" for p in points) == 16  # 80 % of the strata
    assert all(p["ln"] > 0 and 0 < p["b"] < 1 for p in points)
    assert all(float(p["q"]).is_integer() for p in points)
