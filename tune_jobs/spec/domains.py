"""Search-space domains: the ``space:`` block of a spec, parsed and turned into Tune domains.

Each entry is a one-key mapping naming the distribution, for example
``lr: {loguniform: [1.0e-4, 1.0e-2]}``. Bounds are checked here so a bad range is a
spec error, not a crash inside a Ray worker. Every kind converts to a Ray Tune domain
(``to_tune``) and to a native hyperopt expression for TPE (``to_hyperopt``); the
samplers for kinds Tune lacks live in ``tune_jobs.spec.sampling``.

A domain also knows what it is (``is_choice``, ``is_range``, ``is_integer``, ``is_log``,
``bounds``, ``step``) and maps to and from the unit interval (``from_unit``,
``to_unit``): searchers, designs, stage refinement, schedulers and the plan checks ask
it instead of keeping their own lists of kind names (the table is
``tune_jobs.spec.kinds``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from tune_jobs.errors import SpecError
from tune_jobs.spec.convert import join_path, show
from tune_jobs.spec.kinds import DOMAIN_KINDS, KINDS, Kind

__all__ = ["DOMAIN_KINDS", "Domain"]

_PROB_TOLERANCE = 1e-6


@dataclass(frozen=True)
class Domain:
    """One searched parameter.

    Integer ranges (``randint``, ``qrandint``, ``lograndint``) include their upper
    bound, as a reader of ``randint: [0, 100]`` expects (and as W&B's ``int_uniform``
    does); Ray's own ``tune.randint`` excludes it, which is corrected here.
    """

    kind: str
    """Distribution name, one of ``DOMAIN_KINDS``."""
    args: tuple[Any, ...]
    """Arguments as written in the spec."""

    @classmethod
    def from_spec(cls, data: Any, path: str, source: str) -> Domain:
        """Parse ``{kind: args}`` from YAML, validating kind, arity and bounds."""
        allowed = ", ".join(DOMAIN_KINDS)
        if not isinstance(data, dict) or len(data) != 1:
            raise SpecError(
                source,
                path,
                f"a searched parameter must be a one-key mapping like {{uniform: [0, 1]}}; "
                f"got {show(data)}; allowed kinds: {allowed} (fixed values go under config:)",
            )
        ((kind, args),) = data.items()
        kpath = join_path(path, kind)
        if kind not in DOMAIN_KINDS:
            raise SpecError(source, kpath, f"unknown distribution; allowed: {allowed}")
        if kind == "weighted_choice":
            return cls(kind, _weighted_pairs(args, kpath, source))
        if not isinstance(args, list):
            raise SpecError(
                source, kpath, f"expected a list {DOMAIN_KINDS[kind]}; got {show(args)}"
            )
        if KINDS[kind].shape == "values":
            if not args:
                raise SpecError(source, kpath, "needs at least one value; got an empty list")
            return cls(kind, tuple(args))
        _check_numeric(kind, args, kpath, source)
        return cls(kind, tuple(args))

    # --- what the domain is (answered from the kind table, tune_jobs.spec.kinds) -----

    @property
    def _info(self) -> Kind:
        return KINDS[self.kind]

    @property
    def is_choice(self) -> bool:
        """A finite list of values: ``choice``, ``grid`` or ``weighted_choice``."""
        return self._info.shape == "values"

    @property
    def is_numeric(self) -> bool:
        """Numbers drawn from a range or a distribution (not a list of values)."""
        return not self.is_choice

    @property
    def is_range(self) -> bool:
        """A numeric range bounded by ``[low, high]`` (see ``bounds``)."""
        return self._info.shape == "range"

    @property
    def is_integer(self) -> bool:
        """Its values are ``int``: the ``randint`` family, or a quantised kind whose
        ``q`` is an ``int`` (``quniform: [0, 64, 16]``)."""
        if self._info.integer:
            return True
        return self._info.quantized and _is_int(self.args[-1])

    @property
    def is_log(self) -> bool:
        """Whether the parameter is searched on a log scale."""
        return self._info.log

    @property
    def is_quantized(self) -> bool:
        """Rounded to multiples of ``step``."""
        return self._info.quantized

    @property
    def bounds(self) -> tuple[Any, Any] | None:
        """``(low, high)`` of a range (both reachable for integer ranges); else ``None``."""
        return (self.args[0], self.args[1]) if self.is_range else None

    @property
    def step(self) -> Any:
        """``q`` of a quantised kind, 1 for ``randint``/``lograndint``, else ``None``."""
        if self.is_quantized:
            return self.args[-1]
        return 1 if self._info.integer else None

    @property
    def values(self) -> list[Any] | None:
        """The finite list of values for ``choice``/``grid``/``weighted_choice``; else ``None``."""
        if self.kind == "weighted_choice":
            return [v for v, _ in self.args]
        return list(self.args) if self.is_choice else None

    def with_bounds(self, low: Any, high: Any) -> Domain:
        """The same range (kind and ``q``) over ``[low, high]``."""
        if not self.is_range:
            raise ValueError(f"{self.describe()} has no bounds to change")
        return Domain(self.kind, (low, high, *self.args[2:]))

    def from_unit(self, u: float) -> Any:
        """The value at unit coordinate ``u`` in [0, 1): ranges linearly (log-scaled ones
        in log space, integers in one equal-width bin each, upper bound included),
        distributions through their inverse CDF, value lists in one bin per value
        (probability-wide for ``weighted_choice``)."""
        from tune_jobs.spec.sampling import from_unit

        return from_unit(self.kind, self.args, u)

    def to_unit(self, value: Any) -> float:
        """The unit coordinate of ``value``: the middle of its bin for integers and
        value lists, so ``from_unit(to_unit(v)) == v``. Raises ``ValueError`` for a
        value the domain cannot produce."""
        from tune_jobs.spec.sampling import to_unit

        return to_unit(self.kind, self.args, value)

    def to_tune(self) -> Any:
        """The equivalent Ray Tune domain (or ``grid_search`` marker)."""
        from ray import tune

        from tune_jobs.spec import sampling as dists

        a = self.args
        factories = {
            "uniform": lambda: tune.uniform(a[0], a[1]),
            "quniform": lambda: tune.quniform(a[0], a[1], a[2]),
            "loguniform": lambda: tune.loguniform(a[0], a[1]),
            "qloguniform": lambda: tune.qloguniform(a[0], a[1], a[2]),
            "randint": lambda: tune.randint(a[0], a[1] + 1),
            # Tune's qrandint includes its upper bound, except for q == 1.
            "qrandint": lambda: (
                tune.randint(a[0], a[1] + 1) if a[2] == 1 else tune.qrandint(a[0], a[1], a[2])
            ),
            "lograndint": lambda: tune.lograndint(a[0], a[1] + 1),
            "normal": lambda: tune.randn(a[0], a[1]),
            "choice": lambda: tune.choice(list(a)),
            "grid": lambda: tune.grid_search(list(a)),
        }
        # Tune has no domain for the other kinds, nor for a quantised float range whose
        # bounds are not multiples of q (or whose q is an int): our sampler draws those.
        off_grid = self.is_range and self.is_quantized and not self._info.integer
        if self.kind not in factories or (off_grid and not _float_on_grid(a)):
            return dists.tune_domain(self.kind, a)
        return factories[self.kind]()

    def to_hyperopt(self, label: str) -> Any:
        """A native hyperopt expression for TPE, sampling under ``label``.

        Values come back as plain ``int``/``float`` inside the declared support;
        integer ranges include their upper bound. ``beta``/``qbeta`` are TPE over the
        quantile (value = inverse CDF). Raises ``ValueError`` for ``grid``, which a
        sampler cannot enumerate.
        """
        from tune_jobs.spec.sampling import hyperopt_expr

        return hyperopt_expr(self.kind, self.args, label)

    def describe(self) -> str:
        """Compact text for ``validate`` output, e.g. ``loguniform[0.0001, 0.01]``."""
        if self.kind == "weighted_choice":
            body = ", ".join(f"{show(v)}: {p:g}" for v, p in self.args)
            return f"weighted_choice{{{body}}}"
        return f"{self.kind}{list(self.args)}"


def _float_on_grid(args: tuple[Any, ...]) -> bool:
    """A float ``q`` with both bounds multiples of it: Tune's own quantized domain fits.

    Otherwise (an integer ``q``: integer values, as W&B; or bounds between multiples)
    ``tune_jobs.spec.sampling`` samples it.
    """
    q = args[2]
    if isinstance(q, int):
        return False
    return all(math.isclose(b / q, round(b / q)) for b in args[:2])


def _weighted_pairs(args: Any, path: str, source: str) -> tuple[list[Any], ...]:
    """``{values, probabilities}`` or ``[[value, p], ...]`` as ``([value, p], ...)``."""
    form = DOMAIN_KINDS["weighted_choice"]
    if isinstance(args, dict):
        if set(args) != {"values", "probabilities"}:
            raise SpecError(source, path, f"expected {form}; got keys {sorted(map(str, args))}")
        values, probs = args["values"], args["probabilities"]
        if not isinstance(values, list) or not isinstance(probs, list):
            raise SpecError(source, path, "values and probabilities must be lists")
        if len(values) != len(probs):
            raise SpecError(
                source,
                path,
                f"{len(values)} values but {len(probs)} probabilities; give one per value",
            )
        pairs = [[v, p] for v, p in zip(values, probs, strict=True)]
    elif isinstance(args, list) and all(isinstance(x, list) and len(x) == 2 for x in args):
        pairs = [list(x) for x in args]
    else:
        raise SpecError(source, path, f"expected {form}; got {show(args)}")
    if not pairs:
        raise SpecError(source, path, "needs at least one value; got an empty list")
    for i, (_, p) in enumerate(pairs):
        if isinstance(p, bool) or not isinstance(p, (int, float)) or not _finite(p) or p < 0:
            raise SpecError(
                source,
                join_path(path, f"probabilities.{i}"),
                f"expected a number >= 0; got {show(p)}",
            )
    total = sum(p for _, p in pairs)
    if abs(total - 1.0) > _PROB_TOLERANCE:
        raise SpecError(source, path, f"probabilities must sum to 1 (within 1e-6); got {total:g}")
    return tuple(pairs)


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _finite(v: float) -> bool:
    try:
        return math.isfinite(v)
    except OverflowError:  # an int too large for a float
        return False


def _check_numeric(kind: str, args: list[Any], path: str, source: str) -> None:
    info = KINDS[kind]
    arity = 3 if info.quantized else 2
    if len(args) != arity:
        raise SpecError(
            source, path, f"expected {arity} numbers {DOMAIN_KINDS[kind]}; got {show(args)}"
        )
    for i, v in enumerate(args):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not _finite(v):
            raise SpecError(source, join_path(path, i), f"expected a finite number; got {show(v)}")
    integer = info.integer
    if integer and not all(isinstance(v, int) for v in args):
        raise SpecError(source, path, f"integer range needs integers; got {show(args)}")
    if arity == 3 and args[2] <= 0:
        raise SpecError(source, path, f"q must be > 0; got {show(args[2])}")
    low, high = args[0], args[1]
    if kind in ("beta", "qbeta"):
        if low <= 0 or high <= 0:
            raise SpecError(source, path, f"beta needs a > 0 and b > 0; got {show(args)}")
        return
    if info.shape == "distribution":  # location and scale
        if high <= 0:
            raise SpecError(source, path, f"sd must be > 0; got {show(high)}")
        return
    if (integer and low > high) or (not integer and low >= high):
        op = ">" if integer else ">="
        raise SpecError(source, path, f"low {op} high; got {show(args)}")
    if info.log and low <= 0:
        raise SpecError(source, path, f"log-scaled range needs low > 0; got {show(args)}")
    if info.quantized:
        from tune_jobs.spec.sampling import quantized_bounds

        lo_q, hi_q = quantized_bounds(low, high, args[2])
        if lo_q > hi_q:
            raise SpecError(
                source, path, f"no multiple of q={show(args[2])} lies in [{low}, {high}]"
            )
