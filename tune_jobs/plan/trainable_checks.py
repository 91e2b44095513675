"""Check, before Ray starts, that a built-in trainable has every config key the spec sets.

A key the trainable's config dataclass does not have would fail every trial in its
worker (``trainables._config.build_config`` refuses unknown keys); ``validate`` and
``run`` name it in one line instead, with the keys allowed and a close match if any.
Command trainables and your own ``module:func`` / ``file.py:func`` trainables are not
checked: their keys are theirs to know.
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Iterator

from tune_jobs.errors import SpecError
from tune_jobs.spec.schema import SweepSpec

__all__ = ["check_trainable_keys"]


def _set_keys(spec: SweepSpec) -> Iterator[tuple[str, str]]:
    """(where in the spec, the trainable's top-level key) for every key a trial receives."""
    for key in spec.config:
        yield f"config.{key}", key
    for key in spec.smoke.config:
        yield f"smoke.config.{key}", key
    for key in spec.space:
        yield f"space.{key}", key.split(".", 1)[0]
    for name, overrides in spec.variants.expand() if spec.variants else []:
        for key in overrides:
            yield f"variants ({name}).{key}", key.split(".", 1)[0]
    if spec.repeats.n > 1:
        yield "repeats.seed_key", spec.repeats.seed_key.split(".", 1)[0]


def check_trainable_keys(spec: SweepSpec, source: str) -> None:
    """Raise ``SpecError`` for a key the built-in trainable's config does not have."""
    from trainables import BUILTIN_TRAINABLES, load_config_class

    if not isinstance(spec.trainable, str) or spec.trainable not in BUILTIN_TRAINABLES:
        return
    config_class, presets = load_config_class(spec.trainable)
    if config_class is None:
        return
    allowed = sorted(f.name for f in dataclasses.fields(config_class))
    for where, key in _set_keys(spec):
        if key in allowed:
            continue
        close = difflib.get_close_matches(str(key), allowed, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise SpecError(
            source,
            where,
            f"the {spec.trainable} trainable has no config key {key!r}{hint}; "
            f"allowed: {', '.join(allowed)} (tune-jobs trainables {spec.trainable})",
        )
    preset = spec.config.get("preset")
    if presets and preset is not None and (not isinstance(preset, str) or preset not in presets):
        raise SpecError(
            source,
            "config.preset",
            f"the {spec.trainable} trainable has no preset {preset!r}; "
            f"allowed: {', '.join(presets)}",
        )
