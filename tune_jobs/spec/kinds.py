"""The distribution kinds a ``space:`` entry can name, and what each one is.

This table is the one place that says which kinds are finite value lists, bounded
ranges or unbounded distributions, which are integer, log-scaled or quantised.
``Domain`` (``tune_jobs.spec.domains``) answers from it, and every other module asks
the domain (``domain.is_range``, ``domain.is_log``, ...) instead of listing kind names.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["DOMAIN_KINDS", "KINDS", "Kind"]

Shape = Literal["values", "range", "distribution"]


@dataclass(frozen=True)
class Kind:
    """What a distribution kind is."""

    form: str
    """Its argument list as a user writes it (shown in errors)."""
    shape: Shape
    """``values``: a finite list (choice, grid, weighted_choice); ``range``: bounded by
    ``[low, high]``; ``distribution``: a shaped distribution given by its parameters."""
    integer: bool = False
    """Always integer values (the ``randint`` family; a quantised kind is integer when its
    ``q`` is an ``int``, which only the domain can tell)."""
    log: bool = False
    """Searched on a log scale."""
    quantized: bool = False
    """Rounded to multiples of a last argument ``q``."""


KINDS: dict[str, Kind] = {
    "uniform": Kind("[low, high]", "range"),
    "quniform": Kind("[low, high, q]", "range", quantized=True),
    "loguniform": Kind("[low, high]", "range", log=True),
    "qloguniform": Kind("[low, high, q]", "range", log=True, quantized=True),
    "randint": Kind("[low, high] (both included)", "range", integer=True),
    "qrandint": Kind("[low, high, q] (both included)", "range", integer=True, quantized=True),
    "lograndint": Kind("[low, high] (both included)", "range", integer=True, log=True),
    "normal": Kind("[mean, sd]", "distribution"),
    "qnormal": Kind("[mean, sd, q]", "distribution", quantized=True),
    "lognormal": Kind("[mean, sd] (of log(value))", "distribution", log=True),
    "qlognormal": Kind("[mean, sd, q]", "distribution", log=True, quantized=True),
    "beta": Kind("[a, b]", "distribution"),
    "qbeta": Kind("[a, b, q]", "distribution", quantized=True),
    "inv_loguniform": Kind("[low, high] (1/value log-uniform)", "range", log=True),
    "choice": Kind("[value, ...]", "values"),
    "weighted_choice": Kind(
        "{values: [...], probabilities: [...]} or [[value, probability], ...]", "values"
    ),
    "grid": Kind("[value, ...]", "values"),
}

#: Allowed distribution names and the shape of their argument list (spec order).
DOMAIN_KINDS: dict[str, str] = {name: kind.form for name, kind in KINDS.items()}
