"""Space-filling designs: Latin hypercube and 2-level fractional factorial.

Both compute every configuration up front (``design_points``) and serve them in order
through ``searchers.DesignSearcher``, a Tune ``Searcher`` that never learns. They suit the
refinement stage of a coarse-to-fine sweep, where a few well-spread points beat
random ones.

Mapping a unit coordinate ``u`` in [0, 1) to a parameter (``from_unit``): uniform and
quantised ranges linearly, log-scaled ranges linearly in log space, integer ranges to
an equal-width bin per integer (upper bound included), ``normal`` through its inverse
CDF, ``choice``/``grid`` to an equal-width bin per value.
"""

from __future__ import annotations

import math
from typing import Any

from tune_jobs.nested import set_dotted
from tune_jobs.spec.domains import Domain

__all__ = ["design_points", "factorial_levels", "from_unit"]


def from_unit(domain: Domain, u: float) -> Any:
    """The value of ``domain`` at unit coordinate ``u`` (see the module docstring)."""
    u = min(max(u, 0.0), math.nextafter(1.0, 0.0))
    a = domain.args
    kind = domain.kind
    if kind in ("choice", "grid"):
        return a[int(u * len(a))]
    if kind in ("uniform", "quniform"):
        value = a[0] + u * (a[1] - a[0])
        return _quantise(value, a[2], a[0], a[1]) if kind == "quniform" else value
    if kind in ("loguniform", "qloguniform"):
        value = math.exp(math.log(a[0]) + u * (math.log(a[1]) - math.log(a[0])))
        return _quantise(value, a[2], a[0], a[1]) if kind == "qloguniform" else value
    if kind in ("randint", "qrandint"):
        step = a[2] if kind == "qrandint" else 1
        count = (a[1] - a[0]) // step + 1
        return int(a[0] + int(u * count) * step)
    if kind == "lograndint":
        low, high = math.log(a[0]), math.log(a[1] + 1)
        return min(int(math.exp(low + u * (high - low))), a[1])
    if kind == "inv_loguniform":  # 1/v log-uniform is v log-uniform over the same range
        return math.exp(math.log(a[0]) + u * (math.log(a[1]) - math.log(a[0])))
    if kind == "weighted_choice":  # equal-probability bins become probability-wide bins
        total = 0.0
        for value, probability in a:
            total += probability
            if u < total:
                return value
        return a[-1][0]
    return _from_unit_by_ppf(kind, a, min(max(u, 1e-9), 1 - 1e-9))


def _from_unit_by_ppf(kind: str, a: tuple[Any, ...], u: float) -> Any:
    """Unbounded and shaped distributions through their inverse CDF (scipy)."""
    from scipy.stats import beta, norm

    if kind in ("normal", "qnormal"):
        value = float(norm.ppf(u, loc=a[0], scale=a[1]))
    elif kind in ("lognormal", "qlognormal"):
        value = math.exp(float(norm.ppf(u, loc=a[0], scale=a[1])))
    elif kind in ("beta", "qbeta"):
        value = float(beta.ppf(u, a[0], a[1]))
    else:
        raise ValueError(f"space-filling designs do not support {kind!r} parameters")
    if kind.startswith("q"):
        value = round(value / a[2]) * a[2]
    return value


def factorial_levels(domain: Domain) -> tuple[Any, Any]:
    """The low and high level of a 2-level factor."""
    a = domain.args
    if domain.kind in ("choice", "grid"):
        if len(a) != 2:
            raise ValueError(
                f"a 2-level factorial needs 2 values per choice; got {len(a)} "
                "(use lhs, or fix the parameter in config)"
            )
        return a[0], a[1]
    if domain.kind == "weighted_choice":
        if len(a) != 2:
            raise ValueError(f"a 2-level factorial needs 2 values per choice; got {len(a)}")
        return a[0][0], a[1][0]
    if domain.kind in ("normal", "qnormal", "lognormal", "qlognormal", "beta", "qbeta"):
        # One standard deviation either side of the middle (for normal: mean +- sd).
        return from_unit(domain, 0.158655), from_unit(domain, 0.841345)
    if domain.kind == "inv_loguniform":
        return a[0], a[1]
    if domain.kind in ("uniform", "quniform", "loguniform", "qloguniform"):
        return a[0], a[1]
    if domain.kind in ("randint", "qrandint", "lograndint"):
        return int(a[0]), int(a[1])
    raise ValueError(f"factorial designs do not support {domain.kind!r} parameters")


def _quantise(value: float, q: float, low: float, high: float) -> float:
    out = round(value / q) * q
    return float(min(max(out, low), high))


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
