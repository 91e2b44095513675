"""Nested config mappings addressed by dotted keys (``optimizer.lr``): the one place that
walks them."""

from __future__ import annotations

import copy
import math
from typing import Any

__all__ = [
    "MISSING",
    "deep_merge",
    "get_dotted",
    "grid_expansion",
    "has_path",
    "set_dotted",
    "without_dotted",
]

#: What ``get_dotted`` returns for a path that is not there (``None`` can be a value).
MISSING: Any = object()


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
    return get_dotted(tree, dotted) is not MISSING


def get_dotted(tree: Any, dotted: str, default: Any = MISSING) -> Any:
    """The value at ``a.b.c`` of a nested dict, else ``default``."""
    node = tree
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return default
        node = node[part]
    return node


def without_dotted(tree: dict[str, Any], dotted: str) -> dict[str, Any]:
    """A deep copy of ``tree`` without ``a.b.c`` (unchanged when it is not there)."""
    out = copy.deepcopy(tree)
    *parents, leaf = dotted.split(".")
    node: Any = out
    for part in parents:
        node = node.get(part) if isinstance(node, dict) else None
    if isinstance(node, dict):
        node.pop(leaf, None)
    return out


def grid_expansion(overrides: dict[str, Any], grid_sizes: dict[str, int]) -> int:
    """Trials one variant becomes: it runs once per value of each grid key it leaves open.

    ``overrides`` may use dotted or nested keys; ``grid_sizes`` maps dotted grid keys to
    their number of values.
    """
    nested: dict[str, Any] = {}
    for key, value in overrides.items():
        set_dotted(nested, key, value)
    return math.prod(n for key, n in grid_sizes.items() if not has_path(nested, key))
