"""Space-filling designs: Latin hypercube and 2-level fractional factorial.

Both compute every configuration up front (``design_points``) and serve them in order
through ``searchers.DesignSearcher``, a Tune ``Searcher`` that never learns. They suit the
refinement stage of a coarse-to-fine sweep, where a few well-spread points beat
random ones.

A unit coordinate ``u`` in [0, 1) becomes a parameter value through the domain
(``Domain.from_unit``): ranges linearly (log-scaled ones in log space, integers in one
equal-width bin each), distributions through their inverse CDF, value lists in one bin
per value.
"""

from __future__ import annotations

from typing import Any

from tune_jobs.nested import set_dotted
from tune_jobs.spec.domains import Domain

__all__ = ["design_points", "factorial_levels", "from_unit"]


def from_unit(domain: Domain, u: float) -> Any:
    """The value of ``domain`` at unit coordinate ``u`` (``Domain.from_unit``)."""
    return domain.from_unit(u)


def factorial_levels(domain: Domain) -> tuple[Any, Any]:
    """The low and high level of a 2-level factor."""
    if domain.is_choice:
        values = domain.values or []
        if len(values) != 2:
            raise ValueError(
                f"a 2-level factorial needs 2 values per choice; got {len(values)} "
                "(use lhs, or fix the parameter in config)"
            )
        return values[0], values[1]
    if domain.bounds is not None:
        return domain.bounds
    # A distribution: one standard deviation either side of the middle (normal: mean +- sd).
    return domain.from_unit(0.158655), domain.from_unit(0.841345)


def design_points(
    space: dict[str, Domain], method: str, num_samples: int, seed: int | None, resolution: int
) -> list[dict[str, Any]]:
    """The nested configurations of a ``lhs`` or ``factorial`` design over ``space``.

    ``lhs`` draws ``num_samples`` points (scipy's ``LatinHypercube``, seeded);
    ``factorial`` builds the smallest 2-level design of the given resolution
    (pyDOE3's ``fracfact_by_res``) and repeats it ``max(1, num_samples)`` times.
    """
    keys = list(space)
    rows: list[list[Any]]
    if method == "lhs":
        from scipy.stats import qmc

        sample = qmc.LatinHypercube(d=len(keys), seed=seed).random(num_samples)
        rows = [[from_unit(space[k], u) for k, u in zip(keys, row, strict=True)] for row in sample]
    elif method == "factorial":
        levels = [factorial_levels(space[k]) for k in keys]
        coded = _two_level_design(len(keys), resolution)
        rows = [
            [lv[0] if c < 0 else lv[1] for lv, c in zip(levels, row, strict=True)] for row in coded
        ]
        rows = rows * max(1, num_samples)
    else:
        raise ValueError(f"unknown design {method!r}; allowed: lhs, factorial")
    points = []
    for row in rows:
        point: dict[str, Any] = {}
        for key, value in zip(keys, row, strict=True):
            set_dotted(point, key, value)
        points.append(point)
    return points


def _two_level_design(factors: int, resolution: int) -> list[list[float]]:
    """Coded (-1/+1) rows; a full factorial when no smaller design has the resolution."""
    import itertools

    if factors <= 2:
        return [list(r) for r in itertools.product((-1.0, 1.0), repeat=factors)]
    from pyDOE3 import fracfact_by_res

    try:
        return fracfact_by_res(factors, resolution).tolist()
    except ValueError:  # the resolution needs every run: the full factorial
        return [list(r) for r in itertools.product((-1.0, 1.0), repeat=factors)]
