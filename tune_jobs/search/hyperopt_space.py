"""The spec's ``space`` as a native hyperopt search space (nested, conditional choices).

Tune's automatic conversion handles flat spaces only; conditional parameters (a
``choice`` whose options carry their own domains) need hyperopt's own ``hp.choice``
over dicts, built here. Labels are the dotted keys (nested ones ``key/<option>/<sub>``).
"""

from __future__ import annotations

from typing import Any

from tune_jobs.errors import SpecError
from tune_jobs.nested import set_dotted
from tune_jobs.search import conditional
from tune_jobs.spec.domains import Domain

__all__ = ["check_hyperopt_points", "hyperopt_space"]


def hyperopt_space(space: dict[str, Domain], source: str) -> dict[str, Any]:
    """Nested dict of hyperopt expressions; errors name ``space.<key>``."""
    out: dict[str, Any] = {}
    for key, domain in space.items():
        path = f"space.{key}"
        if domain.kind == "grid":
            raise SpecError(
                source,
                path,
                "grid values are enumerated by algorithm grid or random; use choice with hyperopt",
            )
        try:
            if conditional.is_conditional(domain):
                expr = conditional.to_hyperopt(domain, key, path, source)
            else:
                expr = domain.to_hyperopt(key)
        except ValueError as err:
            raise SpecError(source, path, str(err)) from None
        set_dotted(out, key, expr)
    return out


def check_hyperopt_points(
    space: dict[str, Domain], points: list[dict[str, Any]], names: list[str], source: str
) -> None:
    """Guard hyperopt's known traps with variant points (``points_to_evaluate``).

    hyperopt hangs forever when initial points are combined with nested (conditional)
    choices, and needs every point to give every searched key.
    """
    if not points:
        return
    nested = [k for k, d in space.items() if conditional.is_conditional(d)]
    if nested:
        raise SpecError(
            source,
            "variants",
            f"variants cannot be combined with conditional choices ({', '.join(nested)}) "
            "under search.algorithm hyperopt (hyperopt hangs on such initial points); "
            "drop the variants or use algorithm random",
        )
    from tune_jobs.nested import get_dotted, has_path

    for name, point in zip(names, points, strict=True):
        missing = [k for k in space if not has_path(point, k)]
        if missing:
            raise SpecError(
                source,
                f"variants.{name}",
                f"with search.algorithm hyperopt every variant must set every space key; "
                f"missing: {', '.join(missing)} (set them in variants.reference)",
            )
        for key, domain in space.items():
            values = domain.values
            value = get_dotted(point, key)
            if values is not None and value not in values:
                raise SpecError(
                    source,
                    f"variants.{name}.{key}",
                    f"{value!r} is not one of the choice values {values}",
                )
