"""Helpers for nested config mappings addressed by dotted keys (``optimizer.lr``)."""

from __future__ import annotations

import math
from typing import Any

__all__ = ["deep_merge", "grid_expansion", "has_path", "set_dotted"]


def deep_merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """``base`` updated recursively with ``extra`` (neither is modified)."""
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def set_dotted(target: dict[str, Any], dotted: str, value: Any) -> None:
    """Set ``a.b.c`` in a nested dict, creating intermediate mappings."""
    *parents, leaf = dotted.split(".")
    node = target
    for part in parents:
        child = node.get(part)
        if not isinstance(child, dict):
            child = {}
            node[part] = child
        node = child
    node[leaf] = value


def has_path(tree: dict[str, Any], dotted: str) -> bool:
    """Whether ``a.b.c`` exists in a nested dict."""
    node: Any = tree
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


def grid_expansion(overrides: dict[str, Any], grid_sizes: dict[str, int]) -> int:
    """Trials one variant becomes: it runs once per value of each grid key it leaves open.

    ``overrides`` may use dotted or nested keys; ``grid_sizes`` maps dotted grid keys to
    their number of values.
    """
    nested: dict[str, Any] = {}
    for key, value in overrides.items():
        set_dotted(nested, key, value)
    return math.prod(n for key, n in grid_sizes.items() if not has_path(nested, key))
