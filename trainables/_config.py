"""Typed trainable configs from Tune's config dict: presets, unknown keys, types."""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar, get_type_hints

__all__ = ["build_config"]

T = TypeVar("T")


def build_config(cls: type[T], config: dict[str, Any], presets: dict[str, dict[str, Any]]) -> T:
    """Build ``cls`` from ``config``: preset values first, then the config's own values.

    Raises ``ValueError`` naming the key for unknown keys, unknown presets and values
    of the wrong type; ``cls.__post_init__`` checks ranges.
    """
    values = dict(config)
    preset = values.get("preset", "default")
    if preset not in presets:
        raise ValueError(
            f"{cls.__name__}: unknown preset {preset!r}; allowed: {', '.join(presets)}"
        )
    merged = {**presets[preset], **values, "preset": preset}
    hints = get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(merged) - names)
    if unknown:
        raise ValueError(
            f"{cls.__name__}: unknown config key(s) {unknown}; allowed: {', '.join(sorted(names))}"
        )
    for key, value in merged.items():
        merged[key] = _coerce(cls.__name__, key, hints[key], value)
    return cls(**merged)


def _coerce(owner: str, key: str, hint: Any, value: Any) -> Any:
    if value is None:
        return value
    if hint in (float, "float") and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    expected = {int: int, float: float, str: str, bool: bool}.get(hint)
    if expected is not None and (
        not isinstance(value, expected) or (expected is int and isinstance(value, bool))
    ):
        raise ValueError(f"{owner}: {key} must be {expected.__name__}; got {value!r}")
    return value
