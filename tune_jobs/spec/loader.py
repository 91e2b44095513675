"""Read a spec file, apply ``--set`` overrides and ``--smoke``, and validate it."""

from __future__ import annotations

import copy
import dataclasses
import re
from pathlib import Path
from typing import Any

import yaml

from tune_jobs.errors import SpecError
from tune_jobs.nested import deep_merge, grid_expansion
from tune_jobs.spec.convert import build, show
from tune_jobs.spec.schema import SweepSpec, VariantsSpec

__all__ = [
    "SPEC_FORMATS",
    "apply_grids",
    "apply_overrides",
    "apply_smoke",
    "load_spec",
    "parse_yaml",
    "spec_from_mapping",
    "spec_to_dict",
]

#: ``fmt`` values of ``load_spec``: ``auto`` treats a file whose top level has
#: ``method`` as a W&B sweep (docs/wandb.md), anything else as our spec.
SPEC_FORMATS = ("auto", "spec", "wandb")


class _SpecLoader(yaml.SafeLoader):
    """SafeLoader that also reads ``1e-4`` as a float (YAML 1.1 needs ``1.0e-4``)."""


_SpecLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
        |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
        |\.[0-9_]+(?:[eE][-+][0-9]+)?
        |[-+]?\.(?:inf|Inf|INF)
        |\.(?:nan|NaN|NAN))$""",
        re.X,
    ),
    list("-+0123456789."),
)


def parse_yaml(text: str, source: str) -> Any:
    """Parse YAML text; syntax errors become one-line ``SpecError``s with the position."""
    try:
        return yaml.load(text, Loader=_SpecLoader)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "?"
        problem = getattr(err, "problem", None) or str(err)
        raise SpecError(source, "", f"invalid YAML at {where}: {problem}") from None


def load_spec(
    path: str | Path,
    overrides: list[str] | None = None,
    *,
    values: dict[str, Any] | None = None,
    smoke: bool = False,
    name: str | None = None,
    storage: str | None = None,
    fmt: str = "auto",
    grids: list[str] | None = None,
) -> SweepSpec:
    """Load, override and validate a spec file.

    Args:
        path: the YAML file.
        overrides: ``key.path=value`` strings (values parsed as YAML).
        values: overrides as Python values by dotted key, applied after ``overrides``.
        smoke: shrink the sweep with the documented smoke rule (before ``grids`` and
            ``overrides``).
        name: replaces ``name:``.
        storage: replaces ``storage:``.
        fmt: ``auto`` (a top-level ``method`` key means a W&B sweep), ``spec`` or
            ``wandb``; a W&B sweep is translated before smoke, overrides and checks.
        grids: ``param=v1,v2,...`` strings (``--grid``): the space parameter becomes a
            grid of these values (applied after smoke, before ``overrides``).
    """
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError(source, "", "file not found") from None
    except (OSError, UnicodeDecodeError) as err:
        raise SpecError(source, "", f"cannot read file ({err.__class__.__name__})") from None
    return spec_from_mapping(
        parse_yaml(text, source),
        source,
        overrides,
        values=values,
        smoke=smoke,
        name=name,
        storage=storage,
        fmt=fmt,
        grids=grids,
    )


def spec_from_mapping(
    raw: Any,
    source: str,
    overrides: list[str] | None = None,
    *,
    values: dict[str, Any] | None = None,
    smoke: bool = False,
    name: str | None = None,
    storage: str | None = None,
    fmt: str = "auto",
    grids: list[str] | None = None,
) -> SweepSpec:
    """``load_spec`` for a spec already parsed (``raw``; errors name ``source``).

    ``values`` are overrides given as Python values by dotted key (``{"search.num_samples":
    8}``), applied after the ``key=value`` strings of ``overrides``.
    """
    if not isinstance(raw, dict):
        raise SpecError(source, "", f"a spec must be a mapping of keys; got {show(raw)}")
    if fmt not in SPEC_FORMATS:
        raise SpecError(source, "--format", f"got {fmt!r}; allowed: {', '.join(SPEC_FORMATS)}")
    from tune_jobs.spec.wandb import is_wandb_sweep, translate_wandb

    if fmt == "wandb" or (fmt == "auto" and is_wandb_sweep(raw)):
        raw = translate_wandb(raw, source)
    if smoke:
        # --set is applied after the smoke rule, so what the user sets explicitly wins.
        raw = spec_to_dict(apply_smoke(build(SweepSpec, raw, "", source)))
    raw = apply_grids(raw, grids or [], source)
    raw = apply_overrides(raw, overrides or [], source)
    for key, value in (values or {}).items():
        if not isinstance(key, str) or not key or not all(key.split(".")):
            raise SpecError(
                source, str(key), "an override key is a dotted spec key like search.num_samples"
            )
        _assign(raw, key.split("."), copy.deepcopy(value), source, key)
    if name is not None:
        raw["name"] = name
    if storage is not None:
        raw["storage"] = storage
    return build(SweepSpec, raw, "", source)


def apply_overrides(raw: dict[str, Any], overrides: list[str], source: str) -> dict[str, Any]:
    """Apply ``--set key.path=value`` overrides to the raw spec mapping.

    Dotted keys that exist literally (``space: {optimizer.lr: ...}``) are matched
    first, so ``--set space.optimizer.lr.loguniform=[1e-4,1e-2]`` reaches them.
    """
    out = copy.deepcopy(raw)
    for item in overrides:
        key_path, sep, value_text = item.partition("=")
        if not sep or not key_path.strip():
            raise SpecError(source, "--set", f"expected key.path=value; got {item!r}")
        value = parse_yaml(value_text, f"{source} (--set {key_path})") if value_text else None
        _assign(out, key_path.strip().split("."), value, source, key_path)
    return out


def apply_grids(raw: dict[str, Any], grids: list[str], source: str) -> dict[str, Any]:
    """Apply ``--grid param=v1,v2,...``: the space parameter ``param`` becomes
    ``{grid: [v1, v2, ...]}`` whatever its distribution was.

    Values are YAML scalars (``1e-4`` a number, ``adam`` a string, ``null``); ``param``
    must already be a key of ``space`` (a new parameter: ``--set space.P.grid=[...]``).
    """
    out = copy.deepcopy(raw)
    space = out.get("space")
    for item in grids:
        param, sep, values_text = item.partition("=")
        param = param.strip()
        if not sep or not param or not values_text.strip():
            raise SpecError(source, "--grid", f"expected PARAM=V1,V2,...; got {item!r}")
        if not isinstance(space, dict) or param not in space:
            known = ", ".join(str(k) for k in space) if isinstance(space, dict) else ""
            raise SpecError(
                source,
                f"--grid {param}",
                f"not a parameter of the spec's space; parameters: {known or 'none'} "
                f"(to add one: --set space.{param}.grid=[...])",
            )
        values = []
        for item_text in values_text.split(","):
            text = item_text.strip()
            if not text:
                raise SpecError(source, f"--grid {param}", f"empty value in {values_text!r}")
            value = None if text.startswith(("[", "{")) else parse_yaml(text, source)
            if (value is None and text not in ("null", "~")) or isinstance(value, (list, dict)):
                raise SpecError(
                    source,
                    f"--grid {param}",
                    f"values must be plain scalars separated by commas; got {text!r} "
                    f"(lists and mappings: --set space.{param}.grid=[...])",
                )
            values.append(value)
        space[param] = {"grid": values}
    return out


def _assign(node: dict[str, Any], parts: list[str], value: Any, source: str, full: str) -> None:
    while True:
        # Prefer the longest dotted prefix that already exists as a literal key.
        for size in range(len(parts), 0, -1):
            key = ".".join(parts[:size])
            if key in node:
                break
        else:
            key, size = parts[0], 1
        rest = parts[size:]
        if not rest:
            node[key] = value
            return
        child = node.setdefault(key, {})
        if not isinstance(child, dict):
            raise SpecError(source, full, f"--set cannot descend into {show(child)}")
        node, parts = child, rest


def apply_smoke(spec: SweepSpec) -> SweepSpec:
    """Shrink a spec to a run of well under a minute, by a fixed, documented rule.

    - ``config`` is updated with ``smoke.config`` (e.g. a tiny preset);
    - grid parameters keep their first two values, later ones only their first value
      where two would make the grid larger than ``smoke.max_trials``;
    - variants, then samples, fill ``smoke.max_trials`` (each counted once per grid
      point; at least one trial runs);
    - every trial stops at iteration ``smoke.max_iterations`` and after 60 s;
    - at most 2 trials run at once, with no retries beyond one;
    - ``repeats`` keep at most 2 seeds (sharing the trial budget), and later ``stages``
      sample at most the trial budget with the same stop rule.
    """
    from tune_jobs.spec.domains import Domain

    s = spec
    # Repeats shrink to at most 2 seeds; the trial budget is shared among them.
    repeats = dataclasses.replace(s.repeats, n=min(s.repeats.n, 2))
    budget = max(1, s.smoke.max_trials // repeats.n)
    stage_budget = budget  # each later stage gets the whole budget again
    grid_points = 1
    space: dict[str, Domain] = {}
    for key, domain in s.space.items():
        if domain.kind == "grid":
            keep = 2 if grid_points * 2 <= budget and len(domain.args) > 1 else 1
            domain = Domain(domain.kind, domain.args[:keep])
            grid_points *= keep
        space[key] = domain
    grid_sizes = {k: len(d.args) for k, d in space.items() if d.kind == "grid"}
    variants = s.variants
    if variants is not None:
        # The longest prefix of variants whose trials (grid expansion included) fit.
        for keep in range(len(variants.expand()), -1, -1):
            kept = _truncate_variants(variants, keep)
            used = sum(grid_expansion(o, grid_sizes) for _, o in kept.expand())
            if used <= budget:
                break
        variants = kept
        budget -= used
    num_samples = max(0, min(s.num_samples, budget // grid_points))
    if (variants is None or not variants.expand()) and num_samples == 0:
        num_samples = 1
    max_iter = min(s.stop.max_iterations or s.smoke.max_iterations, s.smoke.max_iterations)
    max_time = min(s.stop.max_time_s or 60.0, 60.0)
    # Later stages sample at most the same budget and stop as quickly.
    stages = []
    for stage in s.stages:
        samples = min(stage.search.num_samples or stage_budget, stage_budget)
        stage_stop = stage.stop
        if stage_stop is not None:
            stage_stop = dataclasses.replace(
                stage_stop, max_iterations=max_iter, max_time_s=max_time
            )
        stages.append(
            dataclasses.replace(
                stage,
                search=dataclasses.replace(stage.search, num_samples=samples),
                stop=stage_stop,
            )
        )
    return dataclasses.replace(
        s,
        repeats=repeats,
        config=deep_merge(s.config, s.smoke.config),
        space=space,
        variants=variants,
        search=dataclasses.replace(s.search, num_samples=num_samples),
        # Only the length shrinks: targets, divergence and plateau rules stay.
        stop=dataclasses.replace(s.stop, max_iterations=max_iter, max_time_s=max_time),
        max_concurrent=min(s.max_concurrent or 2, 2),
        max_failures=min(s.max_failures, 1) if s.max_failures >= 0 else 1,
        stages=stages,
    )


def _truncate_variants(variants: VariantsSpec, budget: int) -> VariantsSpec:
    """The first ``budget`` variants of ``expand()``, keeping the spec's structure.

    Kept as reference/one_factor/named (not flattened to ``named``) so generated names
    like ``lr=0.01`` stay valid and the smoke spec round-trips through ``spec.yaml``.
    """
    include_reference = variants.include_reference and budget > 0
    left = budget - int(include_reference)
    one_factor: dict[str, list[Any]] = {}
    for param, values in variants.one_factor.items():
        if left <= 0:
            break
        one_factor[param] = list(values[:left])
        left -= len(one_factor[param])
    named = dict(list(variants.named.items())[: max(left, 0)])
    return VariantsSpec(
        reference=dict(variants.reference),
        include_reference=include_reference,
        one_factor=one_factor,
        named=named,
    )


def spec_to_dict(spec: SweepSpec) -> dict[str, Any]:
    """The resolved spec as plain YAML-able data (written to ``RUN_DIR/spec.yaml``)."""
    import dataclasses

    from tune_jobs.spec.domains import Domain

    def plain(value: Any) -> Any:
        if isinstance(value, Domain):
            return {value.kind: list(value.args)}
        if dataclasses.is_dataclass(value):
            return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [plain(v) for v in value]
        return value

    return plain(spec)
