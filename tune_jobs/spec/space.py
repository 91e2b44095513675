"""Search-space domains: the ``space:`` block of a spec, parsed and turned into Tune domains.

Each entry is a one-key mapping naming the distribution, for example
``lr: {loguniform: [1.0e-4, 1.0e-2]}``. Bounds are checked here so a bad range is a
spec error, not a crash inside a Ray worker.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from tune_jobs.errors import SpecError
from tune_jobs.spec.convert import join_path, show

__all__ = ["DOMAIN_KINDS", "Domain"]

#: Allowed distribution names and the shape of their argument list.
DOMAIN_KINDS: dict[str, str] = {
    "uniform": "[low, high]",
    "quniform": "[low, high, q]",
    "loguniform": "[low, high]",
    "qloguniform": "[low, high, q]",
    "randint": "[low, high] (both included)",
    "qrandint": "[low, high, q] (both included)",
    "lograndint": "[low, high] (both included)",
    "normal": "[mean, sd]",
    "choice": "[value, ...]",
    "grid": "[value, ...]",
}


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
        if not isinstance(args, list):
            raise SpecError(
                source, kpath, f"expected a list {DOMAIN_KINDS[kind]}; got {show(args)}"
            )
        if kind in ("choice", "grid"):
            if not args:
                raise SpecError(source, kpath, "needs at least one value; got an empty list")
            return cls(kind, tuple(args))
        _check_numeric(kind, args, kpath, source)
        return cls(kind, tuple(args))

    @property
    def values(self) -> list[Any] | None:
        """The finite list of values for ``choice``/``grid``; ``None`` for ranges."""
        return list(self.args) if self.kind in ("choice", "grid") else None

    @property
    def log_scaled(self) -> bool:
        """Whether the parameter is searched on a log scale."""
        return self.kind in ("loguniform", "qloguniform", "lograndint")

    def to_tune(self) -> Any:
        """The equivalent Ray Tune domain (or ``grid_search`` marker)."""
        from ray import tune

        a = self.args
        factories = {
            "uniform": lambda: tune.uniform(a[0], a[1]),
            "quniform": lambda: tune.quniform(a[0], a[1], a[2]),
            "loguniform": lambda: tune.loguniform(a[0], a[1]),
            "qloguniform": lambda: tune.qloguniform(a[0], a[1], a[2]),
            "randint": lambda: tune.randint(a[0], a[1] + 1),
            # Tune's qrandint includes its upper bound already.
            "qrandint": lambda: tune.qrandint(a[0], a[1], a[2]),
            "lograndint": lambda: tune.lograndint(a[0], a[1] + 1),
            "normal": lambda: tune.randn(a[0], a[1]),
            "choice": lambda: tune.choice(list(a)),
            "grid": lambda: tune.grid_search(list(a)),
        }
        return factories[self.kind]()

    def describe(self) -> str:
        """Compact text for ``validate`` output, e.g. ``loguniform[0.0001, 0.01]``."""
        return f"{self.kind}{list(self.args)}"


def _finite(v: float) -> bool:
    try:
        return math.isfinite(v)
    except OverflowError:  # an int too large for a float
        return False


def _check_numeric(kind: str, args: list[Any], path: str, source: str) -> None:
    arity = 3 if kind.startswith("q") else 2
    if len(args) != arity:
        raise SpecError(
            source, path, f"expected {arity} numbers {DOMAIN_KINDS[kind]}; got {show(args)}"
        )
    for i, v in enumerate(args):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not _finite(v):
            raise SpecError(source, join_path(path, i), f"expected a finite number; got {show(v)}")
    integer = kind in ("randint", "qrandint", "lograndint")
    if integer and not all(isinstance(v, int) for v in args):
        raise SpecError(source, path, f"integer range needs integers; got {show(args)}")
    low, high = args[0], args[1]
    if kind == "normal":
        if high <= 0:
            raise SpecError(source, path, f"sd must be > 0; got {show(high)}")
        return
    if (integer and low > high) or (not integer and low >= high):
        op = ">" if integer else ">="
        raise SpecError(source, path, f"low {op} high; got {show(args)}")
    if (kind.startswith("log") or kind == "qloguniform") and low <= 0:
        raise SpecError(source, path, f"log-scaled range needs low > 0; got {show(args)}")
    if arity == 3 and args[2] <= 0:
        raise SpecError(source, path, f"q must be > 0; got {show(args[2])}")
