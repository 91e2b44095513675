"""Turn a validated ``SweepSpec`` into the pieces a Tune run needs, without starting Ray.

``RunPlan`` is what ``tune-jobs validate`` prints and what the runner builds the
``Tuner`` from: the nested param space, the variant points, the trial count and the
per-trial resources.
"""

from __future__ import annotations

import copy
import json
import math
from dataclasses import dataclass, field
from typing import Any

from tune_jobs.errors import SpecError
from tune_jobs.nested import get_dotted, grid_expansion, has_path, set_dotted
from tune_jobs.plan.strategy_checks import describe_strategy, resolve_strategy
from tune_jobs.plan.trainable_checks import check_trainable_keys
from tune_jobs.search import conditional, owns_space
from tune_jobs.spec.schema import SweepSpec
from tune_jobs.trial.meta import TRIAL_META_KEY

__all__ = ["RunPlan", "make_plan"]


@dataclass
class RunPlan:
    """The resolved shape of a sweep."""

    spec: SweepSpec
    source: str
    param_space: dict[str, Any]
    """Nested config with Tune domains where values are searched."""
    points: list[dict[str, Any]]
    """One nested override dict per variant (``points_to_evaluate``)."""
    variant_names: list[str]
    grid_size: int
    """Configurations per sample from grid dimensions (1 without a grid)."""
    variant_trials: int
    """Trials from variants: a variant is expanded over grid keys it does not set."""
    space_points: list[dict[str, Any]] = field(default_factory=list)
    """Per variant, its values at ``space`` keys only (for searchers owning the space)."""
    design: list[dict[str, Any]] = field(default_factory=list)
    """``lhs``/``factorial``: every configuration the design proposes, variants first."""
    max_t: float | None = None
    """The scheduler's resolved ``max_t`` (``asha``/``hyperband``)."""
    checkpoints_to_keep: int | None = None
    """Checkpoints Tune keeps per trial: the spec's ``checkpoints_to_keep``, except under
    PBT/PB2, which keep every one (a donor's checkpoint must outlive the exploit that
    copies it, and Tune's retention could delete it first)."""

    @property
    def owns_space(self) -> bool:
        """Whether the searcher takes the space itself (``hyperopt``, designs)."""
        return owns_space(self.spec.search.algorithm)

    @property
    def constant_space(self) -> dict[str, Any]:
        """``param_space`` without the searched keys (for searchers owning the space)."""
        out = copy.deepcopy(self.spec.config)
        out[TRIAL_META_KEY] = {"variant": None, "extra": "{}"}
        return out

    @property
    def variant_metas(self) -> list[dict[str, Any]]:
        """Per variant point, its ``__trial_meta__`` value."""
        return [p[TRIAL_META_KEY] for p in self.points]

    @property
    def num_configs(self) -> int:
        """How many configurations the sweep (stage 1 of a staged sweep) runs."""
        if self.design:
            return len(self.design)
        return self.variant_trials + self.spec.num_samples * self.grid_size

    @property
    def num_trials(self) -> int:
        """How many trials the sweep (stage 1 of a staged sweep) runs: configs x repeats."""
        return self.num_configs * self.spec.repeats.n

    @property
    def tune_num_samples(self) -> int:
        """``TuneConfig.num_samples``: each variant point replaces one sample in Tune.

        With repeats, searchers (``SeedRepeater``) count every repeat as a sample;
        random/grid expand the seed as a grid dimension of each sample.
        """
        if self.design:
            return len(self.design) * self.spec.repeats.n
        if self.owns_space:
            return (len(self.points) + self.spec.num_samples) * self.spec.repeats.n
        return len(self.points) + self.spec.num_samples

    def describe(self) -> list[str]:
        """Human-readable lines for ``tune-jobs validate``."""
        s = self.spec
        ray_resources = s.resources.as_ray()
        memory = ray_resources.pop("memory", None)
        res = ", ".join(f"{k}={v:g}" for k, v in ray_resources.items())
        if memory:
            res += f", memory={memory / 2**20:g} MiB"
        if s.resources.bundles:
            extra = " + ".join(
                "{" + ", ".join(f"{k}={v:g}" for k, v in b.as_ray().items()) + "}"
                for b in s.resources.bundles
            )
            res += f"; bundles {extra} ({s.resources.strategy})"
        trainable = (
            s.trainable if isinstance(s.trainable, str) else f"command {s.trainable.command}"
        )
        shape = f"{self.variant_trials} from variants + {s.num_samples} samples x {self.grid_size}"
        if s.repeats.n > 1:
            shape = (
                f"{self.num_configs} configurations ({shape} grid points) x {s.repeats.n} repeats"
            )
        else:
            shape += " grid points"
        lines = [
            f"spec: {self.source}",
            f"name: {s.name}  ->  RUN_DIR = {s.storage.rstrip('/')}/{s.name}",
            f"trainable: {trainable}",
            f"objective: {s.mode} {s.metric}",
            f"trials: {self.num_trials} ({shape})" + (" in stage 1" if s.stages else ""),
            f"search: {s.search.algorithm} (seed {s.search.seed}); scheduler: {s.scheduler.type}",
            f"per-trial resources: {res}; max concurrent: {s.max_concurrent or 'unlimited'}",
            f"stop: max_iterations={s.stop.max_iterations}, max_time_s={s.stop.max_time_s}",
        ]
        if s.space:
            lines.append("space:")
            lines += [f"  {k}: {d.describe()}" for k, d in s.space.items()]
        if self.variant_names:
            lines.append("variants: " + ", ".join(self.variant_names))
        if s.repeats.n > 1:
            base = repeat_base(s)
            lines.append(
                f"repeats: {s.repeats.n} per configuration, {s.repeats.seed_key} = "
                f"{base}..{base + s.repeats.n - 1}; ranked by the median over repeats"
            )
        lines += describe_strategy(self)
        if s.stages:
            from tune_jobs.plan.stages import describe_stages

            lines += describe_stages(s, self.num_configs)
        return lines


def repeat_base(spec: SweepSpec) -> int:
    """The first seed of each configuration's repeats: ``config[seed_key]``, else 0."""
    node = get_dotted(spec.config, spec.repeats.seed_key)
    return int(node) if isinstance(node, int) and not isinstance(node, bool) else 0


def make_plan(spec: SweepSpec, source: str) -> RunPlan:
    """Resolve ``spec`` into a ``RunPlan``; raises ``SpecError`` on inconsistencies."""
    param_space: dict[str, Any] = copy.deepcopy(spec.config)
    grid_keys: dict[str, int] = {}
    for key, domain in spec.space.items():
        if spec.search.algorithm == "grid":
            if domain.values is None:
                raise SpecError(
                    source,
                    f"space.{key}",
                    "search.algorithm grid needs finite values (grid or choice); "
                    f"got {domain.kind}",
                )
            from ray import tune

            set_dotted(param_space, key, tune.grid_search(domain.values))
            grid_keys[key] = len(domain.values)
        elif conditional.is_conditional(domain):
            set_dotted(param_space, key, conditional.to_tune(domain, f"space.{key}", source))
        else:
            set_dotted(param_space, key, domain.to_tune())
            if domain.kind == "grid":
                grid_keys[key] = len(domain.args)
    param_space[TRIAL_META_KEY] = {"variant": None, "extra": "{}"}
    grid_size = math.prod(grid_keys.values())
    if spec.repeats.n > 1:
        _check_repeats(spec, source)
        if not owns_space(spec.search.algorithm):
            from ray import tune

            # One grid dimension of seeds; the sampler keeps every other value of a
            # sample constant across it (BasicVariantGenerator(constant_grid_search)).
            seeds = [repeat_base(spec) + i for i in range(spec.repeats.n)]
            set_dotted(param_space, spec.repeats.seed_key, tune.grid_search(seeds))

    variants = spec.variants.expand() if spec.variants else []
    points: list[dict[str, Any]] = []
    for name, overrides in variants:
        point: dict[str, Any] = {}
        extra: dict[str, Any] = {}
        for key, value in overrides.items():
            # Tune presets may only set paths the param space has; others travel as JSON.
            set_dotted(point if has_path(param_space, key) else extra, key, value)
        point[TRIAL_META_KEY] = {"variant": name, "extra": json.dumps(extra, sort_keys=True)}
        points.append(point)
    names = [n for n, _ in variants]
    duplicates = {n for n in names if names.count(n) > 1}
    if duplicates:
        raise SpecError(source, "variants", f"duplicate variant names: {sorted(duplicates)}")
    variant_trials = sum(grid_expansion(o, grid_keys) for _, o in variants)
    plan = RunPlan(spec, source, param_space, points, names, grid_size, variant_trials)
    if not spec.scheduler.is_population_based:
        plan.checkpoints_to_keep = spec.checkpoints_to_keep
    resolve_strategy(plan)
    if plan.num_trials == 0:
        raise SpecError(source, "search.num_samples", "the sweep would run no trial")
    if spec.stages:
        _check_stages(plan)
    check_trainable_keys(spec, source)  # else every trial would fail in its worker
    return plan


def _check_repeats(spec: SweepSpec, source: str) -> None:
    key = spec.repeats.seed_key
    if spec.scheduler.is_population_based:
        raise SpecError(
            source,
            "repeats",
            f"{spec.scheduler.type} mutates running trials, so repeats of one configuration "
            "would drift apart; use repeats with fifo, asha, hyperband or median",
        )
    for name, overrides in spec.variants.expand() if spec.variants else []:
        nested: dict[str, Any] = {}
        for k, v in overrides.items():
            set_dotted(nested, k, v)
        if has_path(nested, key):
            raise SpecError(
                source, "variants", f"variant {name!r} sets {key}, which repeats set per run"
            )
    if not owns_space(spec.search.algorithm):
        for k, domain in spec.space.items():
            if conditional.is_conditional(domain):
                raise SpecError(
                    source,
                    f"space.{k}",
                    "repeats with random/grid search cannot keep conditional values equal "
                    "across a configuration's repeats; use search.algorithm hyperopt",
                )


def _check_stages(plan: RunPlan) -> None:
    """Each later stage must be plannable: checked over the full stage-1 space."""
    from tune_jobs.plan.stages import check_stageable, nominal_stage_spec

    check_stageable(plan.spec, plan.source)
    prev = plan.num_configs
    for index in range(2, len(plan.spec.stages) + 2):
        nominal = nominal_stage_spec(plan.spec, index, prev)
        if nominal.space:
            try:
                stage_plan = make_plan(nominal, plan.source)
            except SpecError as err:
                where = f"stages.{index - 2}" + (f" ({err.key_path})" if err.key_path else "")
                raise SpecError(plan.source, where, err.problem) from None
            prev = stage_plan.num_configs
