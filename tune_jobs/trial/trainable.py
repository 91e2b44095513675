"""Resolve the spec's ``trainable:`` into a function Tune can run on any node.

Forms: a built-in name, ``pkg.module:func`` (importable from the current directory,
searched after installed packages: ``tune_jobs.trial.user_code``),
``path/to/file.py:func``, or a ``CommandSpec`` (a training script run per trial).
Project-local code is registered with cloudpickle to travel by value, so workers that
cannot import it (cluster nodes, other working directories) still run it.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tune_jobs.errors import SpecError
from tune_jobs.spec.schema import CommandSpec
from tune_jobs.trial.memory_limit import run_with_memory_limit
from tune_jobs.trial.meta import effective_config
from tune_jobs.trial.user_code import add_cwd_last, collides_with_ours

__all__ = ["PYTHON_FUNCTION", "function_ref", "resolve_trainable", "wrap_trainable"]

TrainFn = Callable[[dict[str, Any]], Any]

#: ``trainable:`` recorded for a function passed to ``tune_jobs.run`` that cannot be
#: imported by name (defined in a notebook or script, or inside another function):
#: ``<python function NAME>``. Resuming such a run needs the function again.
PYTHON_FUNCTION = "<python function {}>"


def function_ref(fn: Callable[..., Any]) -> str:
    """What ``spec.yaml`` records for a Python function trainable: ``module:qualname``
    when the function can be imported by that name, else ``PYTHON_FUNCTION``."""
    module = getattr(fn, "__module__", None)
    qualname = getattr(fn, "__qualname__", getattr(fn, "__name__", "trainable"))
    if module and module != "__main__" and "<" not in qualname and "." not in qualname:
        imported = sys.modules.get(module)
        if imported is not None and getattr(imported, qualname, None) is fn:
            return f"{module}:{qualname}"
    return PYTHON_FUNCTION.format(getattr(fn, "__name__", qualname))


def resolve_trainable(ref: str | CommandSpec, source: str) -> TrainFn:
    """Return the per-trial function for ``ref``; errors name ``source`` and ``trainable``."""
    if isinstance(ref, str) and ref.startswith(PYTHON_FUNCTION.split("{", 1)[0]):
        name = ref[len(PYTHON_FUNCTION.split("{", 1)[0]) : -1]
        raise SpecError(
            source,
            "trainable",
            f"the trainable is a Python function ({name}) passed to tune_jobs.run, which "
            f"cannot be imported by name; pass it again: tune_jobs.resume(run_dir, "
            f"trainable={name})",
        )
    if isinstance(ref, CommandSpec):
        from trainables.command import make_command_trainable

        fn = make_command_trainable(ref.command, ref.metrics_regex, ref.env, ref.terminate_grace_s)
    elif ":" not in ref:
        from trainables import BUILTIN_TRAINABLES, load_builtin

        if ref not in BUILTIN_TRAINABLES:
            allowed = ", ".join(sorted(BUILTIN_TRAINABLES))
            raise SpecError(
                source,
                "trainable",
                f"unknown trainable {ref!r}; allowed: {allowed}, 'module:func', "
                "'file.py:func' or {command: [...]}",
            )
        fn = load_builtin(ref)
    else:
        fn = _load_user_function(ref, source)
    return wrap_trainable(fn)


def wrap_trainable(fn: TrainFn) -> TrainFn:
    """The per-trial function Tune runs for the user's ``fn``: our trial bookkeeping
    stripped from the config, under the trial's memory limit."""

    def trial(config: dict[str, Any]) -> Any:
        # Under the trial's resources.memory limit, set and lifted per trial.
        return run_with_memory_limit(fn, effective_config(config)[0])

    # Only the name: Tune names trials after it. (functools.wraps would also copy
    # __module__/__qualname__ and make the pickler ship the unwrapped function.)
    trial.__name__ = getattr(fn, "__name__", "trainable")
    return trial


def _load_user_function(ref: str, source: str) -> TrainFn:
    target, _, func_name = ref.rpartition(":")
    if not target or not func_name:
        raise SpecError(
            source, "trainable", f"expected 'module:func' or 'file.py:func'; got {ref!r}"
        )
    if target.endswith(".py"):
        module = _load_file(Path(target), source)
    else:
        module = _import_module(target, source)
    fn = getattr(module, func_name, None)
    if not callable(fn):
        raise SpecError(source, "trainable", f"{target} has no function {func_name!r}")
    # A module loaded from a file path can never be imported by name on a worker, and
    # project modules may be missing there: both travel by value.
    if target.endswith(".py") or _is_project_local(module):
        # Ray pickles with its vendored cloudpickle, which keeps its own registry.
        from ray import cloudpickle

        cloudpickle.register_pickle_by_value(module)
    return fn


def _load_file(path: Path, source: str) -> Any:
    resolved = path if path.is_absolute() else Path.cwd() / path
    if not resolved.is_file():
        raise SpecError(
            source, "trainable", f"file {str(path)!r} not found (relative to {Path.cwd()})"
        )
    module_name = "tune_jobs_user_" + resolved.stem.replace("-", "_")
    spec = importlib.util.spec_from_file_location(module_name, resolved)
    assert spec is not None and spec.loader is not None  # a .py file always has a loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as err:
        del sys.modules[module_name]
        raise SpecError(
            source, "trainable", f"importing {str(path)!r} failed: {type(err).__name__}: {err}"
        ) from None
    return module


def _import_module(name: str, source: str) -> Any:
    cwd = add_cwd_last()
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as err:
        if collides_with_ours(name) and err.name and name.startswith(err.name):
            package = name.split(".", 1)[0]
            raise SpecError(
                source,
                "trainable",
                f"module {name!r} not found: {package!r} is the name of a tune-jobs package, "
                "so a package of yours by that name is not imported; refer to the file "
                "('path/to/file.py:func') or rename your package",
            ) from None
        if err.name and name.startswith(err.name):
            raise SpecError(
                source, "trainable", f"module {name!r} not found (from {cwd} or installed packages)"
            ) from None
        raise SpecError(source, "trainable", f"importing {name!r} failed: {err}") from None
    except Exception as err:
        raise SpecError(
            source, "trainable", f"importing {name!r} failed: {type(err).__name__}: {err}"
        ) from None


def _is_project_local(module: Any) -> bool:
    """True for modules loaded from the working tree rather than an installed package."""
    path = getattr(module, "__file__", None)
    if path is None:
        return False
    resolved = Path(path).resolve()
    return "site-packages" not in resolved.parts and Path.cwd().resolve() in resolved.parents
