"""Search-algorithm registry: spec name -> factory building a Tune search algorithm.

Factories import Ray lazily so loading a spec never starts or imports Ray's heavy parts.
Unknown names raise ``KeyError`` listing the allowed names.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["SEARCHERS", "SearchRequest", "create_searcher"]


@dataclass(frozen=True)
class SearchRequest:
    """Exactly what a searcher factory needs, nothing more."""

    metric: str
    mode: str
    seed: int | None
    points_to_evaluate: list[dict[str, Any]]
    max_concurrent: int | None


def _basic_variant(request: SearchRequest) -> Any:
    from ray.tune.search.basic_variant import BasicVariantGenerator

    return BasicVariantGenerator(
        points_to_evaluate=request.points_to_evaluate or None,
        max_concurrent=request.max_concurrent or 0,
        random_state=request.seed,
    )


#: name -> factory. ``grid`` and ``random`` both use Tune's variant generator: grid
#: dimensions are enumerated, sampled dimensions drawn at random.
SEARCHERS: dict[str, Callable[[SearchRequest], Any]] = {
    "random": _basic_variant,
    "grid": _basic_variant,
}


def create_searcher(name: str, request: SearchRequest) -> Any:
    """Build the search algorithm registered as ``name``."""
    try:
        factory = SEARCHERS[name]
    except KeyError:
        raise KeyError(
            f"unknown search algorithm {name!r}; allowed: {', '.join(SEARCHERS)}"
        ) from None
    return factory(request)
