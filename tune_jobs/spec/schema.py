"""The sweep spec: typed dataclasses, one docstring per field, validated on construction.

See ``docs/spec.md`` for the format with examples. Construction goes through
``tune_jobs.spec.convert.build`` so every error names the file and the key path.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

from tune_jobs.errors import FieldError
from tune_jobs.names import TIME_TO_TARGET
from tune_jobs.spec.domains import Domain
from tune_jobs.spec.search_schema import (
    BudgetSpec,
    CostSpec,
    SchedulerSpec,
    SearchSpec,
    StopSpec,
)
from tune_jobs.spec.stages_schema import RepeatsSpec, StageSearchSpec, StageSpec

__all__ = [
    "BudgetSpec",
    "BundleSpec",
    "CommandSpec",
    "RepeatsSpec",
    "ResourcesSpec",
    "SchedulerSpec",
    "SearchSpec",
    "SmokeSpec",
    "StageSearchSpec",
    "StageSpec",
    "StopSpec",
    "SweepSpec",
    "VariantsSpec",
    "parse_memory",
]


_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*\Z")  # \Z: no trailing newline


@dataclass(frozen=True)
class CommandSpec:
    """A trainable that runs a training script as a subprocess, one per trial."""

    command: list[str]
    """The argv (never a shell string). ``${args}`` expands to ``--name=value`` per
    parameter, ``${args_no_hyphens}`` to ``name=value``, ``${args_json}`` to one JSON
    argument; ``${trial_dir}`` and ``${project_dir}`` to those directories."""
    metrics_regex: str | None = None
    """Optional regex with named groups, e.g. ``Step (?P<step>\\d+): val=(?P<val_loss>[\\d.]+)``;
    each matching stdout line is one result. JSON-object lines are always results."""
    env: dict[str, str] = field(default_factory=dict)
    """Extra environment variables for the subprocess."""
    terminate_grace_s: float = 10.0
    """Seconds between SIGTERM and SIGKILL when the trial is stopped."""

    def __post_init__(self) -> None:
        if not self.command:
            raise FieldError("command", "needs at least one argv element; got an empty list")
        if self.metrics_regex is not None:
            try:
                pattern = re.compile(self.metrics_regex)
            except re.error as err:
                raise FieldError("metrics_regex", f"not a valid regex ({err})") from None
            if not pattern.groupindex:
                raise FieldError("metrics_regex", "needs named groups like (?P<val_loss>...)")
        if self.terminate_grace_s < 0:
            raise FieldError("terminate_grace_s", f"must be >= 0; got {self.terminate_grace_s}")


_MEMORY_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGT]i?B)\s*\Z", re.IGNORECASE)
_MEMORY_UNITS = {
    "KIB": 1 << 10,
    "MIB": 1 << 20,
    "GIB": 1 << 30,
    "TIB": 1 << 40,
    "KB": 10**3,
    "MB": 10**6,
    "GB": 10**9,
    "TB": 10**12,
}
_MIN_MEMORY = 1 << 20


def parse_memory(text: str) -> int:
    """Bytes of a memory amount like ``4GiB``, ``512MiB`` or ``1.5GB`` (``FieldError``
    on ``memory`` otherwise; at least 1 MiB)."""
    match = _MEMORY_RE.match(text)
    if match is None:
        raise FieldError(
            "memory",
            f"expected an amount with a unit, e.g. 4GiB or 512MiB (KiB, MiB, GiB, TiB, KB, "
            f"MB, GB, TB); got {text!r}",
        )
    amount = int(float(match.group(1)) * _MEMORY_UNITS[match.group(2).upper()])
    if amount < _MIN_MEMORY:
        raise FieldError("memory", f"must be at least 1MiB; got {text!r}")
    return amount


def _check_amounts(cpu: float, gpu: float, custom: dict[str, float]) -> None:
    """Shared checks of one bundle's amounts (``FieldError`` names the key)."""
    if cpu < 0:
        raise FieldError("cpu", f"must be >= 0; got {cpu}")
    if gpu < 0:
        raise FieldError("gpu", f"must be >= 0; got {gpu}")
    if gpu > 1 and gpu != int(gpu):
        raise FieldError("gpu", f"above 1 must be a whole number; got {gpu}")
    for name, amount in custom.items():
        if name.upper() in ("CPU", "GPU"):
            raise FieldError(f"custom.{name}", "use the cpu: / gpu: keys for CPUs and GPUs")
        if amount < 0:
            raise FieldError(f"custom.{name}", f"must be >= 0; got {amount}")


@dataclass(frozen=True)
class BundleSpec:
    """One extra placement-group bundle, for processes the trial starts itself."""

    cpu: float = 0.0
    """CPUs in this bundle."""
    gpu: float = 0.0
    """GPUs in this bundle (fractions allowed; above 1 must be whole)."""
    custom: dict[str, float] = field(default_factory=dict)
    """Custom Ray resources in this bundle."""

    def __post_init__(self) -> None:
        _check_amounts(self.cpu, self.gpu, self.custom)
        if not self.as_ray():
            raise FieldError("cpu", "an extra bundle needs some cpu, gpu or custom resource")

    def as_ray(self) -> dict[str, float]:
        """The bundle as Ray writes it (``CPU``/``GPU`` keys), zero amounts left out."""
        out = {"CPU": self.cpu, "GPU": self.gpu, **self.custom}
        return {k: float(v) for k, v in out.items() if v}


@dataclass(frozen=True)
class ResourcesSpec:
    """Resources each trial asks Ray for (see docs/resources.md).

    ``cpu``/``gpu``/``custom`` are the trial's own process (placement-group bundle 0);
    ``bundles`` reserves more, all in one placement group placed by ``strategy``.
    """

    cpu: float = 1.0
    """CPUs per trial (fractions allowed)."""
    gpu: float = 0.0
    """GPUs per trial; fractions pack several trials on one GPU (Ray does not check memory);
    above 1 must be whole, and all of them are on one node, visible to the trial."""
    custom: dict[str, float] = field(default_factory=dict)
    """Custom Ray resources per trial, e.g. ``{accelerator_type:A100: 0.01}``."""
    memory: str | None = None
    """Host memory per trial, e.g. ``4GiB`` or ``512MiB``: reserved in Ray's scheduling and
    enforced on the trial's process (beyond it the trial fails with an out-of-memory
    error, the sweep goes on; docs/resources.md)."""
    bundles: list[BundleSpec] = field(default_factory=list)
    """Extra placement-group bundles reserved with the trial, for workers it starts itself
    (Ray tasks/actors, Ray Train): e.g. ``[{gpu: 1}, {gpu: 1}]``."""
    strategy: Literal["PACK", "SPREAD", "STRICT_PACK", "STRICT_SPREAD"] = "PACK"
    """How the trial's bundles are placed on nodes (needs ``bundles``)."""
    check_fit: bool = True
    """At run start, fail with a one-line error if no node present can hold the request
    (set false on an autoscaling cluster whose bigger nodes are not up yet)."""

    def __post_init__(self) -> None:
        _check_amounts(self.cpu, self.gpu, self.custom)
        if "memory" in self.custom:
            raise FieldError("custom.memory", "use the memory: key (e.g. memory: 4GiB)")
        if self.memory is not None:
            parse_memory(self.memory)  # FieldError naming resources.memory
        if self.strategy != "PACK" and not self.bundles:
            raise FieldError(
                "strategy",
                f"{self.strategy} places several bundles; add resources.bundles "
                "(one bundle is always on one node)",
            )

    @property
    def memory_bytes(self) -> int | None:
        """``memory`` in bytes (``None``: no memory request, no limit)."""
        return None if self.memory is None else parse_memory(self.memory)

    def _memory(self) -> dict[str, float]:
        return {} if self.memory is None else {"memory": float(parse_memory(self.memory))}

    def as_ray(self) -> dict[str, float]:
        """The trial's own request (bundle 0) as the dict ``tune.with_resources`` takes
        (``memory`` in bytes, as Ray counts it, only when set)."""
        return {"cpu": self.cpu, "gpu": self.gpu, **self.custom, **self._memory()}

    def as_ray_bundles(self) -> list[dict[str, float]]:
        """Every bundle with Ray's ``CPU``/``GPU``/``memory`` keys: the trial's own first."""
        own = {"CPU": self.cpu, "GPU": self.gpu, **self.custom, **self._memory()}
        return [{k: float(v) for k, v in own.items() if v}] + [b.as_ray() for b in self.bundles]

    @property
    def total_gpu(self) -> float:
        """GPUs one trial holds, all bundles together (for GPU-hour budgets)."""
        return self.gpu + sum(b.gpu for b in self.bundles)

    def request(self) -> Any:
        """What ``tune.with_resources`` gets: the plain dict, or a
        ``PlacementGroupFactory`` when there are extra bundles."""
        if not self.bundles:
            return self.as_ray()
        from ray.tune import PlacementGroupFactory

        return PlacementGroupFactory(self.as_ray_bundles(), strategy=self.strategy)


@dataclass(frozen=True)
class VariantsSpec:
    """Explicit configurations: a reference, one-factor-at-a-time sweeps, named combinations.

    Every variant starts from ``config`` plus ``reference``; its name is recorded in the
    ``variant`` column of ``trials.parquet``.
    """

    reference: dict[str, Any] = field(default_factory=dict)
    """Values (dotted keys allowed) every variant starts from."""
    include_reference: bool = True
    """Run the reference itself as a variant named ``reference``."""
    one_factor: dict[str, list[Any]] = field(default_factory=dict)
    """Per parameter, values tried one at a time around the reference; each is a
    variant named ``<param>=<value>``."""
    named: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Named combinations, e.g. ``{fast: {lr: 0.04, batch_size: 20480}}``."""

    def __post_init__(self) -> None:
        for param, values in self.one_factor.items():
            if not values:
                raise FieldError(f"one_factor.{param}", "needs at least one value")
        for name in self.named:
            if not _NAME_RE.match(name):
                raise FieldError(f"named.{name}", "variant names use letters, digits, _ . -")

    def expand(self) -> list[tuple[str, dict[str, Any]]]:
        """All variants as ``(name, overrides)`` in spec order, reference first."""
        out: list[tuple[str, dict[str, Any]]] = []
        if self.include_reference:
            out.append(("reference", dict(self.reference)))
        for param, values in self.one_factor.items():
            for value in values:
                out.append((f"{param}={value}", {**self.reference, param: value}))
        for name, overrides in self.named.items():
            out.append((name, {**self.reference, **overrides}))
        return out


@dataclass(frozen=True)
class SmokeSpec:
    """How ``--smoke`` shrinks this spec beyond the generic rule (see docs/spec.md)."""

    config: dict[str, Any] = field(default_factory=dict)
    """Config values that make one trial quick, e.g. ``{preset: tiny, max_steps: 20}``."""
    max_iterations: int = 5
    """Results per trial in a smoke run."""
    max_trials: int = 2
    """At most this many trials (grid values and variants are truncated to fit)."""

    def __post_init__(self) -> None:
        if self.max_iterations < 1:
            raise FieldError("max_iterations", f"must be >= 1; got {self.max_iterations}")
        if self.max_trials < 1:
            raise FieldError("max_trials", f"must be >= 1; got {self.max_trials}")


@dataclass(frozen=True)
class SweepSpec:
    """A whole sweep: what to train, what to search, how to stop, where results go."""

    name: str
    """Experiment name; results go to ``<storage>/<name>`` (RUN_DIR)."""
    trainable: str | CommandSpec
    """A built-in name (``tune-jobs trainables``), ``pkg.module:func``,
    ``path/to/file.py:func``, or ``{command: [...]}``."""
    metric: str
    """The reported metric to optimise."""
    mode: Literal["min", "max"] = "min"
    """Whether lower or higher ``metric`` is better."""
    description: str | None = None
    """Free text shown by ``validate``."""
    config: dict[str, Any] = field(default_factory=dict)
    """Fixed values for every trial; nested mappings allowed."""
    space: dict[str, Domain] = field(default_factory=dict)
    """Searched values; dotted keys (``optimizer.lr``) reach nested config."""
    variants: VariantsSpec | None = None
    """Explicit named configurations run in addition to samples from ``space``."""
    search: SearchSpec = field(default_factory=SearchSpec)
    """How configurations are proposed."""
    scheduler: SchedulerSpec = field(default_factory=SchedulerSpec)
    """How running trials are stopped early."""
    stop: StopSpec = field(default_factory=StopSpec)
    """Per-trial stopping rules."""
    resources: ResourcesSpec = field(default_factory=ResourcesSpec)
    """Per-trial resources."""
    max_concurrent: int | None = None
    """At most this many trials at once (default: as many as resources allow)."""
    max_failures: int = 0
    """Retries of a crashed trial from its last checkpoint (-1: retry forever)."""
    fail_fast: bool = False
    """Stop the whole sweep at the first trial error (needs ``max_failures: 0``); by
    default a failed trial is recorded as ERROR and the sweep goes on."""
    checkpoints_to_keep: int | None = 2
    """Checkpoints kept per trial (null keeps all)."""
    keep_best_checkpoints: bool = False
    """Keep the ``checkpoints_to_keep`` checkpoints with the best ``metric`` instead of the
    newest ones (Ray keeps the newest too, for resume), so ``tune-jobs best --export``
    finds the best-scoring checkpoint of the best trial."""
    reuse_actors: bool = True
    """Reuse Ray actors between trials (much faster for short trials)."""
    cost: CostSpec | None = None
    """Declared cost per iteration for ``validate``'s estimate (or use ``--pilot``)."""
    budget: BudgetSpec | None = None
    """Sweep-level budget (GPU hours, trial hours or wall time); see docs/search.md."""
    repeats: RepeatsSpec = field(default_factory=RepeatsSpec)
    """Runs per configuration, each with another seed (``repeats: 3`` or
    ``{n: 3, seed_key: seed}``); results are grouped by ``config_id``."""
    stages: list[StageSpec] = field(default_factory=list)
    """Later stages of a coarse-to-fine sweep (stage 1 is this spec as written); each
    refines the space around the previous stage's best configurations."""
    storage: str = "./results"
    """Local directory or pyarrow-filesystem URI (``s3://bucket/prefix``)."""
    smoke: SmokeSpec = field(default_factory=SmokeSpec)
    """Extra shrinking for ``--smoke`` runs."""

    def __post_init__(self) -> None:
        if not _NAME_RE.match(self.name):
            raise FieldError("name", f"use letters, digits, _ . - only; got {self.name!r}")
        if not self.metric:
            raise FieldError("metric", "must not be empty")
        if self.max_concurrent is not None and self.max_concurrent < 1:
            raise FieldError("max_concurrent", f"must be >= 1; got {self.max_concurrent}")
        if self.max_failures < -1:
            raise FieldError("max_failures", f"must be >= -1; got {self.max_failures}")
        if self.fail_fast and self.max_failures != 0:
            raise FieldError(
                "fail_fast",
                f"needs max_failures: 0 (a retried trial has not failed yet); "
                f"got max_failures: {self.max_failures}",
            )
        if self.checkpoints_to_keep is not None and self.checkpoints_to_keep < 1:
            raise FieldError(
                "checkpoints_to_keep", f"must be >= 1 or null; got {self.checkpoints_to_keep}"
            )
        if self.keep_best_checkpoints and self.checkpoints_to_keep is None:
            raise FieldError(
                "keep_best_checkpoints",
                "needs checkpoints_to_keep (with null every checkpoint is kept anyway)",
            )
        if not self.storage:
            raise FieldError("storage", "must not be empty")
        for key in self.space:
            if not all(key.split(".")):
                raise FieldError(f"space.{key}", "empty segment in dotted key")
        self._check_repeats_and_stages()
        if self.metric == TIME_TO_TARGET:
            if self.mode != "min":
                raise FieldError("mode", f"{TIME_TO_TARGET} is minimised; got {self.mode!r}")
            if self.stop.target is None or self.stop.target_metric in (None, TIME_TO_TARGET):
                raise FieldError(
                    "stop.target_metric",
                    f"metric {TIME_TO_TARGET} needs stop.target and stop.target_metric "
                    "(the metric that must reach the target, e.g. val_loss)",
                )

    def _check_repeats_and_stages(self) -> None:
        seed_key = self.repeats.seed_key
        if self.repeats.n > 1 and any(
            k == seed_key or k.startswith(seed_key + ".") or seed_key.startswith(k + ".")
            for k in self.space
        ):
            raise FieldError(
                "repeats.seed_key",
                f"{seed_key!r} is searched in space; repeats set it per run "
                "(remove it from space, or pick another seed_key)",
            )
        names = ["stage1"]
        for i, stage in enumerate(self.stages):
            name = stage.name or f"stage{i + 2}"
            if name in names:
                raise FieldError(f"stages.{i}.name", f"duplicate stage name {name!r}")
            names.append(name)
        if self.stages and not self.space:
            raise FieldError("stages", "later stages refine space keys; the space is empty")

    def stage_name(self, index: int) -> str:
        """The name of stage ``index`` (1 is the spec as written)."""
        if index == 1:
            return "stage1"
        return self.stages[index - 2].name or f"stage{index}"

    @property
    def num_samples(self) -> int:
        """Trials sampled from the space, resolved from the default rule."""
        if self.search.num_samples is not None:
            return self.search.num_samples
        return 0 if self.variants else 1
