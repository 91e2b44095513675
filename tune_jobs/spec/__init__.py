"""The sweep spec: schema, YAML loading, overrides and the smoke rule."""

from tune_jobs.spec.domains import DOMAIN_KINDS, Domain
from tune_jobs.spec.loader import apply_overrides, apply_smoke, load_spec, spec_to_dict
from tune_jobs.spec.schema import (
    CommandSpec,
    ResourcesSpec,
    SchedulerSpec,
    SearchSpec,
    SmokeSpec,
    StopSpec,
    SweepSpec,
    VariantsSpec,
)

__all__ = [
    "DOMAIN_KINDS",
    "CommandSpec",
    "Domain",
    "ResourcesSpec",
    "SchedulerSpec",
    "SearchSpec",
    "SmokeSpec",
    "StopSpec",
    "SweepSpec",
    "VariantsSpec",
    "apply_overrides",
    "apply_smoke",
    "load_spec",
    "spec_to_dict",
]
