"""Build typed dataclasses from parsed YAML, with one-line errors that name the key.

A small, strict converter: unknown keys are errors (never dropped), types are checked
against the dataclass annotations, ``int`` is accepted where ``float`` is expected,
and ``FieldError``/``ValueError`` raised in ``__post_init__`` are reported against the
key path. Classes may define ``from_spec(value, path, source)`` to parse themselves.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

from tune_jobs.errors import FieldError, SpecError

__all__ = ["build", "describe_type", "join_path", "show"]


def join_path(path: str, key: object) -> str:
    """Append ``key`` to a dotted key path."""
    return f"{path}.{key}" if path else str(key)


def show(value: Any, limit: int = 60) -> str:
    """A short, one-line rendering of a user value for error messages."""
    text = repr(value) if isinstance(value, str) else _plain(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _plain(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "a mapping {" + ", ".join(str(k) for k in list(value)[:5]) + "}"
    if isinstance(value, list):
        return "a list " + repr(value)
    return repr(value)


def describe_type(hint: Any) -> str:
    """Human name of a type annotation, for 'allowed:' parts of messages."""
    origin = get_origin(hint)
    if hint is Any:
        return "any value"
    if origin is Literal:
        return " | ".join(show(a) for a in get_args(hint))
    if origin in (Union, types.UnionType):
        return " or ".join(describe_type(a) for a in get_args(hint))
    if hint is type(None):
        return "null"
    if origin in (list, typing.List):  # noqa: UP006
        return f"a list of {describe_type(get_args(hint)[0])}"
    if origin in (dict, typing.Dict):  # noqa: UP006
        return "a mapping"
    if dataclasses.is_dataclass(hint):
        return "a mapping"
    return {bool: "true/false", int: "an integer", float: "a number", str: "a string"}.get(
        hint, getattr(hint, "__name__", str(hint))
    )


def build(cls: type, data: Any, path: str, source: str) -> Any:
    """Build dataclass ``cls`` from ``data`` or raise a ``SpecError`` naming ``path``."""
    if hasattr(cls, "from_spec"):
        return cls.from_spec(data, path, source)
    if not isinstance(data, dict):
        raise SpecError(source, path, f"expected a mapping; got {show(data)}")
    hints = get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    for key in data:
        if key not in fields:
            allowed = ", ".join(sorted(fields))
            raise SpecError(
                source, join_path(path, key), f"unknown key; allowed keys here: {allowed}"
            )
    kwargs: dict[str, Any] = {}
    for name, field in fields.items():
        if name in data:
            kwargs[name] = convert(hints[name], data[name], join_path(path, name), source)
        elif field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
            raise SpecError(source, join_path(path, name), "required key is missing")
    try:
        return cls(**kwargs)
    except FieldError as err:
        raise SpecError(source, join_path(path, err.field), str(err)) from None
    except ValueError as err:
        raise SpecError(source, path, str(err)) from None


def convert(hint: Any, value: Any, path: str, source: str) -> Any:
    """Check and convert one value against a type annotation."""
    origin = get_origin(hint)
    if hint is Any:
        return value
    if origin in (Union, types.UnionType):
        return _convert_union(hint, value, path, source)
    if origin is Literal:
        if value in get_args(hint) and not isinstance(value, bool):
            return value
        raise SpecError(source, path, f"got {show(value)}; allowed: {describe_type(hint)}")
    if origin in (list, typing.List):  # noqa: UP006
        if not isinstance(value, list):
            raise SpecError(source, path, f"expected a list; got {show(value)}")
        (item,) = get_args(hint)
        return [convert(item, v, join_path(path, i), source) for i, v in enumerate(value)]
    if origin in (dict, typing.Dict):  # noqa: UP006
        if not isinstance(value, dict):
            raise SpecError(source, path, f"expected a mapping; got {show(value)}")
        _key_type, item = get_args(hint)
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise SpecError(source, join_path(path, k), f"keys must be strings; got {show(k)}")
            out[k] = convert(item, v, join_path(path, k), source)
        return out
    if dataclasses.is_dataclass(hint):
        return build(hint, value, path, source)
    return _convert_scalar(hint, value, path, source)


def _convert_union(hint: Any, value: Any, path: str, source: str) -> Any:
    arms = get_args(hint)
    if value is None:
        if type(None) in arms:
            return None
        raise SpecError(source, path, f"got null; allowed: {describe_type(hint)}")
    real_arms = [a for a in arms if a is not type(None)]
    if len(real_arms) == 1:
        return convert(real_arms[0], value, path, source)
    # Dispatch on the shape of the value: a mapping goes to the mapping-like arm.
    for arm in real_arms:
        if isinstance(value, dict) == _is_mapping_type(arm):
            try:
                return convert(arm, value, path, source)
            except SpecError:
                if isinstance(value, dict):
                    raise
    raise SpecError(source, path, f"got {show(value)}; allowed: {describe_type(hint)}")


def _is_mapping_type(hint: Any) -> bool:
    return dataclasses.is_dataclass(hint) or get_origin(hint) in (dict, typing.Dict)  # noqa: UP006


def _convert_scalar(hint: Any, value: Any, path: str, source: str) -> Any:
    ok = {
        bool: isinstance(value, bool),
        int: isinstance(value, int) and not isinstance(value, bool),
        float: isinstance(value, (int, float)) and not isinstance(value, bool),
        str: isinstance(value, str),
    }.get(hint)
    if ok is None:
        raise TypeError(f"unsupported annotation {hint!r} at {path}")
    if not ok:
        raise SpecError(source, path, f"expected {describe_type(hint)}; got {show(value)}")
    if hint is float:
        if not math.isfinite(value):
            raise SpecError(source, path, f"expected a finite number; got {show(value)}")
        return float(value)
    return value
