"""Coarse-to-fine stages, the pure half: the shrink rule and the spec of each stage.

The rule (also ``docs/search.md``, "Stages"): stage ``k`` (k >= 2) takes the ``top_k``
best configurations of stage ``k - 1`` (ranked as ``tune_jobs.results.ranking`` ranks them:
by the spec's metric and mode, time-to-target censored, DIVERGED/ERROR never on top,
median over repeats) and, per parameter still searched in stage ``k - 1``:

- all top-k values equal: the parameter is locked (moved to fixed config);
- numeric range: ``[min, max]`` of the top-k values, widened by ``widen`` x span on
  both sides (in log space for log-scaled kinds), clipped to the stage-1 range,
  integer kinds rounded outwards to integers; the kind (and ``q``) stays;
- ``choice``/``grid``/``weighted_choice``: a ``choice`` of the values the top-k used.

Running the stages one after another is ``tune_jobs.execution.stages``; their progress file
in RUN_DIR is ``tune_jobs.results.stage_progress``.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import math
from dataclasses import dataclass
from typing import Any

import pandas as pd

from tune_jobs.errors import SpecError
from tune_jobs.nested import set_dotted
from tune_jobs.results.ranking import Objective, rank_configs
from tune_jobs.search import conditional
from tune_jobs.spec.domains import Domain
from tune_jobs.spec.kinds import KINDS
from tune_jobs.spec.schema import SearchSpec, SweepSpec

__all__ = [
    "STAGEABLE_KINDS",
    "Refinement",
    "check_stageable",
    "describe_stages",
    "locked_config",
    "nominal_stage_spec",
    "refine_space",
    "stage_spec",
    "top_configs",
]

#: Kinds a staged sweep can refine: bounded ranges and finite value lists.
STAGEABLE_KINDS = tuple(k for k, info in KINDS.items() if info.shape in ("range", "values"))


@dataclass
class Refinement:
    """A derived stage space: what is still searched and what got locked."""

    space: dict[str, Domain]
    locked: dict[str, Any]


def check_stageable(spec: SweepSpec, source: str) -> None:
    """Raise ``SpecError`` for space kinds the shrink rule cannot refine."""
    for key, domain in spec.space.items():
        if not (domain.is_range or domain.is_choice) or conditional.is_conditional(domain):
            kind = "conditional choice" if domain.kind == "choice" else domain.kind
            raise SpecError(
                source,
                f"space.{key}",
                f"stages refine bounded ranges and finite choices; got {kind}; allowed: "
                + ", ".join(STAGEABLE_KINDS),
            )


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") and callable(value.item) else value


def _same(option: Any, cell: Any) -> bool:
    """Whether a Parquet cell holds the choice value ``option`` (JSON text for mixed kinds)."""
    cell = _plain(cell)
    if isinstance(option, bool) or isinstance(cell, bool):
        return option is cell or (isinstance(cell, str) and cell == json.dumps(option))
    if option == cell:
        return True
    return isinstance(cell, str) and cell == json.dumps(option, sort_keys=True, default=str)


def _shrink_range(domain: Domain, original: Domain, values: list[float], widen: float) -> Domain:
    lo, hi = min(values), max(values)
    log = domain.is_log
    fwd = math.log if log else float
    back = math.exp if log else float
    span = fwd(hi) - fwd(lo)
    new_lo = min(lo, back(fwd(lo) - widen * span))
    new_hi = max(hi, back(fwd(hi) + widen * span))
    first_lo, first_hi = original.bounds or (new_lo, new_hi)
    new_lo, new_hi = max(new_lo, first_lo), min(new_hi, first_hi)
    if domain.is_integer:
        new_lo, new_hi = math.floor(new_lo + 1e-9), math.ceil(new_hi - 1e-9)
        new_lo, new_hi = max(new_lo, first_lo), min(new_hi, first_hi)
    else:
        new_lo, new_hi = float(new_lo), float(new_hi)
    return domain.with_bounds(new_lo, new_hi)


def refine_space(
    space: dict[str, Domain],
    original: dict[str, Domain],
    top: list[dict[str, Any]],
    widen: float,
) -> Refinement:
    """Apply the shrink rule to ``space`` given the top configurations' values.

    Args:
        space: the previous stage's searched parameters (dotted keys).
        original: stage 1's space (the ranges results are clipped to).
        top: per top configuration, its values by dotted key (e.g. from the
            ``config/<key>`` columns of ``trials.parquet``).
        widen: fraction of each range's span added on both sides.
    """
    out = Refinement({}, {})
    for key, domain in space.items():
        cells = [t[key] for t in top if key in t and not _missing(t[key])]
        if not cells:  # not recorded (e.g. a mapping value): keep searching it as is
            out.space[key] = domain
            continue
        if domain.is_choice:
            used = [v for v in domain.values or [] if any(_same(v, c) for c in cells)]
            if len(used) == 1:
                out.locked[key] = used[0]
            else:
                out.space[key] = Domain("choice", tuple(used or domain.values or []))
            continue
        numbers = [_plain(c) for c in cells]
        if domain.is_integer:
            numbers = [round(float(v)) for v in numbers]
        else:
            numbers = [float(v) for v in numbers]
        if all(v == numbers[0] for v in numbers):
            out.locked[key] = numbers[0]
        else:
            out.space[key] = _shrink_range(domain, original.get(key, domain), numbers, widen)
    return out


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def top_configs(
    trials: pd.DataFrame, spec: SweepSpec, stage: int, top_k: int, keys: list[str]
) -> list[dict[str, Any]]:
    """The values at ``keys`` of stage ``stage``'s ``top_k`` best configurations."""
    if "stage" in trials.columns:
        trials = trials[trials["stage"].fillna(1).astype(int) == stage]
    ranked = rank_configs(trials, Objective.from_spec(spec))
    ranked = ranked[ranked["top"]].head(top_k)
    by_id = trials.set_index("trial_id")
    out = []
    for trial_ids in ranked["trial_ids"]:
        row = by_id.loc[trial_ids[0]]
        out.append({k: row[f"config/{k}"] for k in keys if f"config/{k}" in row.index})
    return out


def stage_spec(
    base: SweepSpec,
    index: int,
    space: dict[str, Domain],
    config: dict[str, Any],
    prev_configs: int,
) -> SweepSpec:
    """The ``SweepSpec`` stage ``index`` (>= 2) runs, over ``space`` with fixed ``config``.

    ``prev_configs`` (the previous stage's number of configurations) is the default
    ``lhs`` sample count.
    """
    stage = base.stages[index - 2]
    s = stage.search
    if s.num_samples is not None:
        num_samples = s.num_samples
    else:
        num_samples = 1 if s.algorithm == "factorial" else max(1, prev_configs)
    seed = s.seed
    if seed is None and base.search.seed is not None:
        seed = base.search.seed + index - 1
    kwargs: dict[str, Any] = {"num_samples": num_samples, "seed": seed}
    if s.algorithm == "factorial":
        kwargs["resolution"] = s.resolution
    return dataclasses.replace(
        base,
        config=copy.deepcopy(config),
        space=dict(space),
        variants=None,
        search=SearchSpec(algorithm=s.algorithm, **kwargs),
        stop=copy.deepcopy(stage.stop) if stage.stop is not None else base.stop,
        scheduler=copy.deepcopy(stage.scheduler) if stage.scheduler is not None else base.scheduler,
        stages=[],
    )


def locked_config(config: dict[str, Any], locked: dict[str, Any]) -> dict[str, Any]:
    """``config`` with the locked values set (dotted keys reach nested config)."""
    out = copy.deepcopy(config)
    for key, value in locked.items():
        set_dotted(out, key, value)
    return out


def nominal_stage_spec(base: SweepSpec, index: int, prev_configs: int) -> SweepSpec:
    """Stage ``index`` over the full stage-1 space: what ``validate`` can check."""
    space = {
        k: Domain("choice", tuple(d.values or [])) if d.is_choice else d
        for k, d in base.space.items()
    }
    if base.stages[index - 2].search.algorithm == "factorial":
        # Choices with more values are checked at run time, once the top-k narrowed them.
        space = {k: d for k, d in space.items() if d.kind != "choice" or len(d.args) == 2}
    return stage_spec(base, index, space, base.config, prev_configs)


def describe_stages(spec: SweepSpec, stage1_configs: int) -> list[str]:
    """``validate`` lines: the stage list, and the derivation rule for stages >= 2."""
    n = spec.repeats.n
    lines = [f"stages: {1 + len(spec.stages)} (each starts when the previous one finished)"]
    lines.append(f"  stage 1 ({spec.stage_name(1)}): the spec as written")
    prev = stage1_configs
    for index, stage in enumerate(spec.stages, start=2):
        s = stage.search
        if s.algorithm == "lhs":
            samples = s.num_samples or max(1, prev)
            size = f"{samples} configurations"
            trials = f" = {samples * n} trials" if n > 1 else ""
            what = f"lhs, {size}" + (f" x {n} repeats{trials}" if n > 1 else "")
            prev = samples
        else:
            reps = s.num_samples or 1
            what = f"factorial resolution {s.resolution} x {reps} replicate(s)"
            if n > 1:
                what += f" x {n} repeats"
        overrides = [k for k in ("stop", "scheduler") if getattr(stage, k) is not None]
        extra = f"; own {', '.join(overrides)}" if overrides else ""
        lines.append(
            f"  stage {index} ({spec.stage_name(index)}): top {stage.top_k} configurations "
            f"of stage {index - 1} by {spec.mode} {spec.metric} -> {what}; "
            f"widen {stage.widen:g}{extra}"
        )
    lines.append(
        "  derivation (ranges known at run time): parameters on which the top-k agree are "
        "locked; numeric ranges shrink to the top-k's [min, max] widened by widen x span "
        "(log space for log-scaled kinds, integers stay integer), clipped to the stage-1 "
        "range; choices keep the values the top-k used (docs/search.md, Stages)"
    )
    return lines
