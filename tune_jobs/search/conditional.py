"""Conditional parameters: a ``choice`` whose options are mappings with their own domains.

```yaml
space:
  optimizer:
    choice:
      - {name: adamw, lr: {loguniform: [1.0e-4, 1.0e-2]}}
      - {name: sgd, lr: {loguniform: [1.0e-3, 1.0e-1]}, momentum: {uniform: [0.8, 0.99]}}
```

Each option is a mapping; a value inside it that is itself a one-key mapping naming a
distribution is searched only when that option is chosen. This module finds such
options, validates the nested domains, and builds the Tune and hyperopt forms.
"""

from __future__ import annotations

from typing import Any

from tune_jobs.spec.domains import DOMAIN_KINDS, Domain

__all__ = ["is_conditional", "nested_domains", "to_hyperopt", "to_tune"]


def _is_domain_spec(value: Any) -> bool:
    return isinstance(value, dict) and len(value) == 1 and next(iter(value)) in DOMAIN_KINDS


def is_conditional(domain: Domain) -> bool:
    """True for a ``choice`` with at least one option holding a nested domain."""
    if domain.kind != "choice":
        return False
    return any(
        isinstance(option, dict) and any(_is_domain_spec(v) for v in option.values())
        for option in domain.args
    )


def nested_domains(domain: Domain, path: str, source: str) -> list[dict[str, Domain]]:
    """Per option, its nested domains by key (validated; errors name ``path``)."""
    out: list[dict[str, Domain]] = []
    for i, option in enumerate(domain.args):
        found: dict[str, Domain] = {}
        if isinstance(option, dict):
            for key, value in option.items():
                if _is_domain_spec(value):
                    found[key] = Domain.from_spec(value, f"{path}.choice.{i}.{key}", source)
        out.append(found)
    return out


def to_tune(domain: Domain, path: str, source: str) -> Any:
    """``tune.choice`` over the options, nested domains as Tune domains."""
    from ray import tune

    options = []
    for option, domains in zip(domain.args, nested_domains(domain, path, source), strict=True):
        if isinstance(option, dict):
            option = {k: domains[k].to_tune() if k in domains else v for k, v in option.items()}
        options.append(option)
    return tune.choice(options)


def to_hyperopt(domain: Domain, label: str, path: str, source: str) -> Any:
    """``hp.choice`` over the options, nested domains labelled ``<label>/<i>/<key>``."""
    from hyperopt import hp

    options = []
    for i, (option, domains) in enumerate(
        zip(domain.args, nested_domains(domain, path, source), strict=True)
    ):
        if isinstance(option, dict):
            option = {
                k: domains[k].to_hyperopt(f"{label}/{i}/{k}") if k in domains else v
                for k, v in option.items()
            }
        options.append(option)
    return hp.choice(label, options)
