"""Describe a trainable's config dataclass: each field's type, default and docstring.

Attribute docstrings (a string right after a field) are read from the source with
``ast``, so the documentation printed by ``tune-jobs trainables NAME`` is the code's.
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
import textwrap
from dataclasses import dataclass
from typing import Any

__all__ = ["FieldDoc", "describe_config"]


@dataclass(frozen=True)
class FieldDoc:
    """One config key."""

    name: str
    type: str
    default: Any
    doc: str


def describe_config(cls: type) -> list[FieldDoc]:
    """The fields of dataclass ``cls`` in order, with their docstrings."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
    body = tree.body[0].body  # type: ignore[attr-defined]
    docs: dict[str, str] = {}
    for node, following in zip(body, [*body[1:], None], strict=True):
        if (
            isinstance(node, ast.AnnAssign)
            and isinstance(node.target, ast.Name)
            and isinstance(following, ast.Expr)
            and isinstance(following.value, ast.Constant)
            and isinstance(following.value.value, str)
        ):
            docs[node.target.id] = " ".join(following.value.value.split())
    out = []
    for field in dataclasses.fields(cls):
        default = field.default
        if field.default_factory is not dataclasses.MISSING:
            default = field.default_factory()
        type_name = field.type if isinstance(field.type, str) else field.type.__name__
        out.append(FieldDoc(field.name, type_name, default, docs.get(field.name, "")))
    return out
