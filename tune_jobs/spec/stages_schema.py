"""The ``stages:`` and ``repeats:`` parts of a spec: coarse-to-fine stages, repeated seeds.

``stages:`` lists the stages after the first (stage 1 is the spec as written); each
later stage runs once the previous one has finished, with a space derived from the
previous stage's best configurations (the rule: ``docs/search.md``, "Stages").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from tune_jobs.errors import FieldError, SpecError
from tune_jobs.spec.search_schema import SchedulerSpec, StopSpec

__all__ = ["STAGE_ALGORITHMS", "RepeatsSpec", "StageSearchSpec", "StageSpec"]

#: Space-filling designs a later stage may sample its derived space with.
STAGE_ALGORITHMS = ("lhs", "factorial")

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*\Z")


@dataclass(frozen=True)
class RepeatsSpec:
    """How often each configuration runs, each time with another seed.

    In a spec either a number (``repeats: 3``) or a mapping
    (``repeats: {n: 3, seed_key: train.seed}``).
    """

    n: int = 1
    """Runs per configuration; run ``i`` (0-based) trains with seed ``base + i``, where
    ``base`` is ``config[seed_key]`` (0 when unset)."""
    seed_key: str = "seed"
    """The config key (dotted for nested config) that receives the seed; every
    built-in trainable reads ``seed``."""

    def __post_init__(self) -> None:
        if self.n < 1:
            raise FieldError("n", f"must be >= 1; got {self.n}")
        if not self.seed_key or not all(self.seed_key.split(".")):
            raise FieldError("seed_key", f"must be a (dotted) key; got {self.seed_key!r}")

    @classmethod
    def from_spec(cls, data: Any, path: str, source: str) -> RepeatsSpec:
        """Parse ``repeats: N`` or ``repeats: {n: N, seed_key: KEY}``."""
        from tune_jobs.spec.convert import convert, join_path, show

        if isinstance(data, int) and not isinstance(data, bool):
            data = {"n": data}
        if not isinstance(data, dict):
            raise SpecError(
                source, path, f"expected an integer >= 1 or {{n, seed_key}}; got {show(data)}"
            )
        kwargs: dict[str, Any] = {}
        for key, value in data.items():
            hint = {"n": int, "seed_key": str}.get(key)
            if hint is None:
                raise SpecError(
                    source, join_path(path, key), "unknown key; allowed keys here: n, seed_key"
                )
            kwargs[key] = convert(hint, value, join_path(path, key), source)
        try:
            return cls(**kwargs)
        except FieldError as err:
            raise SpecError(source, join_path(path, err.field), str(err)) from None


@dataclass(frozen=True)
class StageSearchSpec:
    """How a later stage samples its derived space (a space-filling design)."""

    algorithm: str = "lhs"
    """``lhs`` (Latin hypercube of ``num_samples`` points) or ``factorial`` (2-level
    fractional factorial; needs at most 2 values per remaining choice)."""
    num_samples: int | None = None
    """``lhs``: configurations to sample (default: as many configurations as the
    previous stage had); ``factorial``: design replicates (default 1)."""
    seed: int | None = None
    """Design seed (default: the spec's ``search.seed`` + stage index - 1, if set)."""
    resolution: int = 3
    """``factorial``: design resolution (3, 4 or 5)."""

    def __post_init__(self) -> None:
        if self.algorithm not in STAGE_ALGORITHMS:
            raise FieldError(
                "algorithm",
                f"got {self.algorithm!r}; allowed: {', '.join(STAGE_ALGORITHMS)} "
                "(later stages are sampled by a space-filling design)",
            )
        if self.num_samples is not None and self.num_samples < 1:
            raise FieldError("num_samples", f"must be >= 1; got {self.num_samples}")
        if self.resolution not in (3, 4, 5):
            raise FieldError("resolution", f"got {self.resolution}; allowed: 3, 4, 5")
        if self.algorithm == "lhs" and self.resolution != 3:
            raise FieldError("resolution", "does not apply to 'lhs'; lhs takes: num_samples, seed")


@dataclass(frozen=True)
class StageSpec:
    """One stage after the first: refine around the previous stage's best configurations."""

    name: str | None = None
    """Shown by ``validate`` and ``status`` (default ``stage<k>``, k = 2, 3, ...)."""
    top_k: int = 5
    """How many of the previous stage's best configurations define this stage's space."""
    search: StageSearchSpec = field(default_factory=StageSearchSpec)
    """The design sampling the derived space."""
    widen: float = 0.0
    """Widen each shrunk numeric range by this fraction of its span on both sides
    (in log space for log-scaled kinds), clipped to the original range."""
    stop: StopSpec | None = None
    """Replaces the spec's ``stop:`` for this stage (default: the spec's)."""
    scheduler: SchedulerSpec | None = None
    """Replaces the spec's ``scheduler:`` for this stage (default: the spec's)."""

    def __post_init__(self) -> None:
        if self.name is not None and not _NAME_RE.match(self.name):
            raise FieldError("name", f"use letters, digits, _ . - only; got {self.name!r}")
        if self.top_k < 1:
            raise FieldError("top_k", f"must be >= 1; got {self.top_k}")
        if not 0 <= self.widen <= 10:
            raise FieldError("widen", f"must be in [0, 10]; got {self.widen}")
