"""W&B sweep ``parameters:`` -> tune-jobs ``config`` (constants) and ``space`` (domains).

Distribution names, keys and defaults follow W&B's sweep schema
(``wandb/sweeps`` ``config/schema.json``): ``q`` defaults to 1.0, ``mu``/``sigma`` to
0/1, ``a``/``b`` to 1; without ``distribution`` it is inferred (``value`` -> constant,
``values`` -> categorical, ``values`` + ``probabilities`` -> weighted, integer
``min``/``max`` -> int_uniform, other ``min``/``max`` -> uniform). Nested
``parameters:`` become dotted keys (``optimizer.lr``).
"""

from __future__ import annotations

import itertools
import math
from typing import Any

from tune_jobs.errors import SpecError
from tune_jobs.spec.convert import join_path, show

__all__ = ["DISTRIBUTIONS", "GRID_LIMIT", "grid_points", "translate_parameters"]

#: W&B distribution -> (required keys, optional keys with defaults).
DISTRIBUTIONS: dict[str, tuple[tuple[str, ...], dict[str, Any]]] = {
    "constant": (("value",), {}),
    "categorical": (("values",), {}),
    "categorical_w_probabilities": (("values", "probabilities"), {}),
    "int_uniform": (("min", "max"), {}),
    "uniform": (("min", "max"), {}),
    "q_uniform": (("min", "max"), {"q": 1.0}),
    "log_uniform": (("min", "max"), {}),
    "log_uniform_values": (("min", "max"), {}),
    "q_log_uniform": (("min", "max"), {"q": 1.0}),
    "q_log_uniform_values": (("min", "max"), {"q": 1.0}),
    "inv_log_uniform": (("min", "max"), {}),
    "inv_log_uniform_values": (("min", "max"), {}),
    "normal": ((), {"mu": 0.0, "sigma": 1.0}),
    "q_normal": ((), {"mu": 0.0, "sigma": 1.0, "q": 1.0}),
    "log_normal": ((), {"mu": 0.0, "sigma": 1.0}),
    "q_log_normal": ((), {"mu": 0.0, "sigma": 1.0, "q": 1.0}),
    "beta": ((), {"a": 1.0, "b": 1.0}),
    "q_beta": ((), {"a": 1.0, "b": 1.0, "q": 1.0}),
}

#: A grid sweep enumerates int_uniform / q_uniform ranges up to this many values.
GRID_LIMIT = 10_000

_ALIASES = {"categorical_w": "categorical_w_probabilities"}


def translate_parameters(
    params: Any, method: str, source: str, path: str = "parameters", prefix: str = ""
) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(config, space)`` for a W&B ``parameters`` mapping; dotted keys for nesting."""
    if not isinstance(params, dict) or not params:
        raise SpecError(
            source, path, f"expected a non-empty mapping of parameters; got {show(params)}"
        )
    config: dict[str, Any] = {}
    space: dict[str, Any] = {}
    for name, spec in params.items():
        ppath = join_path(path, name)
        if not isinstance(name, str) or not name or "." in name:
            raise SpecError(
                source,
                ppath,
                "parameter names must be non-empty and without dots "
                "(nest with parameters: {outer: {parameters: {inner: ...}}})",
            )
        key = f"{prefix}{name}"
        if not isinstance(spec, dict):
            raise SpecError(
                source, ppath, f"expected a mapping like {{values: [...]}}; got {show(spec)}"
            )
        if "parameters" in spec:
            if set(spec) != {"parameters"}:
                extra = sorted(set(spec) - {"parameters"})
                raise SpecError(
                    source,
                    join_path(ppath, extra[0]),
                    "a nested parameter may only have parameters:",
                )
            sub_config, sub_space = translate_parameters(
                spec["parameters"], method, source, join_path(ppath, "parameters"), f"{key}."
            )
            config.update(sub_config)
            space.update(sub_space)
            continue
        dist, values = _fill(spec, ppath, source)
        if dist == "constant":
            config[key] = values["value"]
        else:
            space[key] = _domain(dist, values, method, ppath, source)
    return config, space


def _fill(spec: dict[str, Any], path: str, source: str) -> tuple[str, dict[str, Any]]:
    """The distribution name and its keys with W&B's defaults filled in."""
    allowed = ", ".join(DISTRIBUTIONS)
    dist = spec.get("distribution")
    if dist is None:
        dist = _infer(spec, path, source)
    if isinstance(dist, str):
        dist = _ALIASES.get(dist, dist)
    if not isinstance(dist, str) or dist not in DISTRIBUTIONS:
        raise SpecError(
            source,
            join_path(path, "distribution"),
            f"unknown distribution {show(dist)}; allowed: {allowed}",
        )
    required, optional = DISTRIBUTIONS[dist]
    known = {"distribution", *required, *optional}
    for key in spec:
        if key not in known:
            raise SpecError(
                source,
                join_path(path, key),
                f"not a key of distribution {dist}; allowed keys here: {', '.join(sorted(known))}",
            )
    for key in required:
        if key not in spec:
            raise SpecError(source, join_path(path, key), f"required by distribution {dist}")
    values = {**optional, **{k: v for k, v in spec.items() if k != "distribution"}}
    for key, value in values.items():
        if key in ("value", "values", "probabilities"):
            continue
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or not math.isfinite(value)
        ):
            raise SpecError(
                source, join_path(path, key), f"expected a finite number; got {show(value)}"
            )
    if dist == "int_uniform" and not all(isinstance(values[k], int) for k in ("min", "max")):
        raise SpecError(source, path, "int_uniform needs integer min and max")
    for key in ("values", "probabilities"):
        if key in values and (not isinstance(values[key], list) or not values[key]):
            raise SpecError(
                source, join_path(path, key), f"expected a non-empty list; got {show(values[key])}"
            )
    return dist, values


def _infer(spec: dict[str, Any], path: str, source: str) -> str:
    if "value" in spec:
        return "constant"
    if "values" in spec:
        return "categorical_w_probabilities" if "probabilities" in spec else "categorical"
    if "min" in spec and "max" in spec:
        ints = all(
            isinstance(spec[k], int) and not isinstance(spec[k], bool) for k in ("min", "max")
        )
        return "int_uniform" if ints else "uniform"
    raise SpecError(
        source,
        path,
        "cannot tell the distribution: give value, values, min and max, or distribution: "
        f"one of {', '.join(DISTRIBUTIONS)}",
    )


def _domain(dist: str, v: dict[str, Any], method: str, path: str, source: str) -> dict[str, Any]:
    """One tune-jobs space entry (``{kind: args}``) for a non-constant W&B parameter."""
    if method == "grid":
        return {"grid": _grid_values(dist, v, path, source)}
    if dist == "categorical":
        return {"choice": list(v["values"])}
    if dist == "categorical_w_probabilities":
        return {"weighted_choice": {"values": v["values"], "probabilities": v["probabilities"]}}
    if dist in ("normal", "q_normal", "log_normal", "q_log_normal"):
        kind = dist.replace("_", "")
        args = [v["mu"], v["sigma"]]
        return {kind: args + ([v["q"]] if dist.startswith("q_") else [])}
    if dist in ("beta", "q_beta"):
        return {dist.replace("_", ""): [v["a"], v["b"]] + ([v["q"]] if dist == "q_beta" else [])}
    low, high = v["min"], v["max"]
    if low >= high:
        raise SpecError(source, path, f"min must be < max; got min {show(low)}, max {show(high)}")
    if dist in ("log_uniform", "q_log_uniform"):  # min/max are natural-log exponents
        low, high = math.exp(low), math.exp(high)
    elif dist == "inv_log_uniform":  # value = exp(-u), u uniform in [min, max]
        low, high = math.exp(-high), math.exp(-low)
    kinds = {
        "int_uniform": "randint",
        "uniform": "uniform",
        "q_uniform": "quniform",
        "log_uniform": "loguniform",
        "log_uniform_values": "loguniform",
        "q_log_uniform": "qloguniform",
        "q_log_uniform_values": "qloguniform",
        "inv_log_uniform": "inv_loguniform",
        "inv_log_uniform_values": "inv_loguniform",
    }
    args = [low, high] + ([v["q"]] if "q" in v else [])
    return {kinds[dist]: args}


def _grid_values(dist: str, v: dict[str, Any], path: str, source: str) -> list[Any]:
    """The values a W&B grid sweep enumerates for one parameter."""
    if dist in ("categorical", "categorical_w_probabilities"):
        return list(v["values"])
    if dist == "int_uniform" and v["max"] - v["min"] < GRID_LIMIT:
        return list(range(v["min"], v["max"] + 1))
    if dist == "q_uniform":
        from tune_jobs.spec.sampling import quantized_bounds

        q = v["q"]
        lo, hi = quantized_bounds(v["min"], v["max"], q)
        count = round((hi - lo) / q) + 1
        if 0 < count <= GRID_LIMIT:
            cast = int if isinstance(q, int) and isinstance(lo, int) else float
            return [cast(round((lo + i * q) / q) * q) for i in range(count)]
    raise SpecError(
        source,
        path,
        f"method grid needs a finite parameter (value, values, int_uniform or q_uniform with at "
        f"most {GRID_LIMIT} values); got distribution {dist}",
    )


def grid_points(space: dict[str, Any], limit: int) -> tuple[int, list[dict[str, Any]]]:
    """The grid size and its first ``limit`` points (file order, last key fastest)."""
    keys = list(space)
    values = [space[k]["grid"] for k in keys]
    size = math.prod(len(vs) for vs in values)
    points = [
        dict(zip(keys, combo, strict=True))
        for combo in itertools.islice(itertools.product(*values), limit)
    ]
    return size, points
