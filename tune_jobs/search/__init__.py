"""Search-algorithm registry: spec name -> factory building a Tune search algorithm.

Factories import Ray lazily so loading a spec never starts or imports Ray's heavy parts.
Unknown names raise ``KeyError`` listing the allowed names.

| name | what proposes configurations |
|---|---|
| ``random`` | Tune's ``BasicVariantGenerator``: grid values enumerated, the rest sampled |
| ``grid`` | the same, every searched parameter enumerated (finite values only) |
| ``hyperopt`` (``tpe``, ``bayes``) | hyperopt's TPE through Tune's ``HyperOptSearch``, seeded |
| ``lhs`` | a Latin hypercube of ``num_samples`` points (scipy), then done |
| ``factorial`` | a 2-level fractional factorial design (pyDOE3), then done |
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tune_jobs.spec.domains import Domain

__all__ = [
    "ALIASES",
    "SEARCHERS",
    "SearchRequest",
    "canonical_algorithm",
    "create_searcher",
    "owns_space",
]


@dataclass(frozen=True)
class SearchRequest:
    """Exactly what a searcher factory needs, nothing more."""

    metric: str
    mode: str
    seed: int | None
    points_to_evaluate: list[dict[str, Any]]
    """Variant points: with ``__trial_meta__`` for ``random``/``grid``; space keys only
    (nested) for searchers that own the space."""
    max_concurrent: int | None
    space: dict[str, Domain] = field(default_factory=dict)
    """The spec's ``space`` (dotted keys)."""
    num_samples: int = 1
    n_initial_points: int = 20
    resolution: int = 3
    source: str = "<spec>"
    design: list[dict[str, Any]] = field(default_factory=list)
    """Precomputed design points for ``lhs``/``factorial`` (see ``plan.py``)."""
    constant_grid_search: bool = False
    """``random``/``grid``: keep a sample's random values equal across its grid
    combinations (set for ``repeats``, whose seeds are a grid dimension)."""


def _basic_variant(request: SearchRequest) -> Any:
    from ray.tune.search.basic_variant import BasicVariantGenerator

    return BasicVariantGenerator(
        points_to_evaluate=request.points_to_evaluate or None,
        max_concurrent=request.max_concurrent or 0,
        random_state=request.seed,
        constant_grid_search=request.constant_grid_search,
    )


def _hyperopt(request: SearchRequest) -> Any:
    from ray.tune.search.hyperopt import HyperOptSearch

    from tune_jobs.search.hyperopt_space import hyperopt_space

    return HyperOptSearch(
        space=hyperopt_space(request.space, request.source),
        metric=request.metric,
        mode=request.mode,
        points_to_evaluate=request.points_to_evaluate or None,
        n_initial_points=request.n_initial_points,
        random_state_seed=request.seed,
    )


def _design(request: SearchRequest) -> Any:
    from tune_jobs.search.searchers import DesignSearcher

    return DesignSearcher(request.design, request.metric, request.mode)


#: name -> factory.
SEARCHERS: dict[str, Callable[[SearchRequest], Any]] = {
    "random": _basic_variant,
    "grid": _basic_variant,
    "hyperopt": _hyperopt,
    "lhs": _design,
    "factorial": _design,
}

#: Other names accepted in specs (W&B's ``bayes`` is a Gaussian process there; here TPE).
ALIASES: dict[str, str] = {"tpe": "hyperopt", "bayes": "hyperopt"}


def canonical_algorithm(name: str) -> str:
    """The registry name for ``name`` (resolving aliases)."""
    return ALIASES.get(name, name)


def owns_space(name: str) -> bool:
    """Whether the algorithm takes the space itself (Tune's ``param_space`` then holds
    only constants) rather than reading domains from ``param_space``."""
    return canonical_algorithm(name) in ("hyperopt", "lhs", "factorial")


def create_searcher(name: str, request: SearchRequest) -> Any:
    """Build the search algorithm registered as ``name``."""
    try:
        factory = SEARCHERS[canonical_algorithm(name)]
    except KeyError:
        allowed = ", ".join([*SEARCHERS, *ALIASES])
        raise KeyError(f"unknown search algorithm {name!r}; allowed: {allowed}") from None
    return factory(request)
