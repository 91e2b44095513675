"""An offline stand-in for ``wandb`` inside tune-jobs command trials (never contacts a server).

What a sweep's training script needs works: ``wandb.init`` (returns a run, also as a
context manager), ``wandb.config`` (attribute and item access, the trial's parameters
from ``TUNE_JOBS_WANDB_CONFIG``; sweep parameters win over ``init(config=...)``),
``wandb.log`` (one flushed JSON line per committed step on stdout, which the command
trainable reports to Tune), ``wandb.summary``, ``wandb.run``, ``wandb.finish``.
``login``, ``watch``, ``unwatch``, ``define_metric``, ``save`` and ``alert`` are no-ops.
Media (``Image``, ``Histogram``, ``Table``, ...) can be built but are not logged: each
key is skipped with one warning on stderr. ``Api``, ``Artifact``, ``sweep``, ``agent``,
``use_artifact`` and ``log_artifact`` raise ``NotImplementedError``. Anything else is an
``AttributeError`` naming this shim. Documented in docs/wandb.md.
"""

from __future__ import annotations

import atexit
import json
import os
import sys
from collections.abc import Iterator, MutableMapping
from typing import Any

__all__ = [
    "Audio",
    "Config",
    "Histogram",
    "Html",
    "Image",
    "Object3D",
    "Run",
    "Summary",
    "Table",
    "Video",
    "alert",
    "config",
    "define_metric",
    "finish",
    "init",
    "log",
    "login",
    "run",
    "save",
    "summary",
    "unwatch",
    "watch",
]

__version__ = "0.0.0+tune-jobs-shim"
SHIM = True
"""Marker: ``getattr(wandb, "SHIM", False)`` tells a script it runs under tune-jobs."""

_CONFIG_ENV = "TUNE_JOBS_WANDB_CONFIG"


class Config(MutableMapping):
    """``wandb.config``: a mapping with attribute access (``config.lr``, ``config["lr"]``)."""

    def __init__(self, data: dict[str, Any] | None = None) -> None:
        object.__setattr__(self, "_data", dict(data or {}))
        object.__setattr__(self, "_locked", set(self._data))

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __setitem__(self, key: str, value: Any) -> None:
        if key not in self._locked:  # sweep parameters win, as in W&B
            self._data[key] = value

    def __delitem__(self, key: str) -> None:
        del self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __getattr__(self, key: str) -> Any:
        try:
            return self._data[key]
        except KeyError:
            raise AttributeError(f"wandb.config has no key {key!r}") from None

    def __setattr__(self, key: str, value: Any) -> None:
        self[key] = value

    def update(self, other: Any = None, allow_val_change: bool = False, **kwargs: Any) -> None:
        """Add values (dict, argparse.Namespace or keywords); sweep parameters are kept."""
        for key, value in {**_as_dict(other), **kwargs}.items():
            self[key] = value

    def setdefaults(self, d: dict[str, Any]) -> None:
        """Set keys that are not set yet."""
        for key, value in d.items():
            self._data.setdefault(key, value)

    def as_dict(self) -> dict[str, Any]:
        """A plain dict copy."""
        return dict(self._data)

    def __repr__(self) -> str:
        return f"Config({self._data!r})"


class Summary(dict):
    """``wandb.summary``: accepted and written to ``wandb-summary.json`` by ``finish``."""

    def update(self, other: Any = None, **kwargs: Any) -> None:  # type: ignore[override]
        """Like ``dict.update``; ``None`` is accepted."""
        super().update(_as_dict(other), **kwargs)


class _Media:
    """Placeholder for W&B media objects: constructible, never logged."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass


class Image(_Media):
    """Not logged by the shim (skipped with a warning)."""


class Histogram(_Media):
    """Not logged by the shim (skipped with a warning)."""


class Table(_Media):
    """Not logged by the shim (skipped with a warning)."""


class Video(_Media):
    """Not logged by the shim (skipped with a warning)."""


class Audio(_Media):
    """Not logged by the shim (skipped with a warning)."""


class Html(_Media):
    """Not logged by the shim (skipped with a warning)."""


class Object3D(_Media):
    """Not logged by the shim (skipped with a warning)."""


class Run:
    """What ``wandb.init`` returns: config, summary, name, id, log, finish."""

    def __init__(self, project: str | None, name: str | None) -> None:
        self.project = project
        self.id = os.environ.get("TUNE_JOBS_TRIAL_ID") or "offline"
        self.name = name or os.environ.get("TUNE_JOBS_TRIAL_NAME") or self.id
        self.dir = os.getcwd()
        self.config = config
        self.summary = summary
        self._step = 0
        self._pending: dict[str, Any] = {}
        self._finished = False

    @property
    def step(self) -> int:
        """The step the next committed ``log`` gets."""
        return self._step

    def log(
        self, data: dict[str, Any], step: int | None = None, commit: bool | None = None
    ) -> None:
        """Record ``data``; each committed step prints one JSON line on stdout (a Tune result).

        As in W&B: ``commit=False`` adds to the current step; with ``step`` given (and
        ``commit`` not), the step is printed when a later step arrives or at ``finish``.
        """
        if not isinstance(data, dict):
            raise TypeError(f"wandb.log expects a dict; got {type(data).__name__}")
        if step is not None:
            if step < self._step:
                _warn(f"wandb.log: step {step} < current step {self._step}; data ignored")
                return
            if step > self._step:
                self._commit()
                self._step = step
        self._pending.update(data)
        if commit is False or (commit is None and step is not None):
            return
        self._commit()

    def _commit(self) -> None:
        if not self._pending:
            return
        plain = {k: _plain(k, v) for k, v in self._pending.items()}
        row = {k: v for k, v in plain.items() if v is not _SKIP}
        row["_step"] = self._step
        self._pending = {}
        self._step += 1
        summary.update({k: v for k, v in row.items() if not k.startswith("_")})
        sys.stdout.write(json.dumps(row, allow_nan=True) + "\n")
        sys.stdout.flush()

    def finish(self, exit_code: int | None = None, quiet: bool | None = None) -> None:
        """Print any uncommitted step and write ``wandb-summary.json`` in the trial dir."""
        if self._finished:
            return
        self._commit()
        self._finished = True
        try:
            with open(os.path.join(self.dir, "wandb-summary.json"), "w") as f:
                json.dump({k: _plain(k, v) for k, v in summary.items()}, f, default=str)
        except OSError:
            pass

    def define_metric(self, *args: Any, **kwargs: Any) -> None:
        """No-op."""

    def watch(self, *args: Any, **kwargs: Any) -> None:
        """No-op."""

    def save(self, *args: Any, **kwargs: Any) -> None:
        """No-op."""

    def __enter__(self) -> Run:
        return self

    def __exit__(self, *exc: object) -> None:
        self.finish()


_SKIP = object()
_warned: set[str] = set()


def _warn(message: str) -> None:
    if message not in _warned:
        _warned.add(message)
        print(f"wandb (tune-jobs shim): {message}", file=sys.stderr, flush=True)


def _plain(key: str, value: Any) -> Any:
    """A JSON-able value: numbers, strings, bools, None, lists/dicts of those."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value
    if isinstance(value, dict):
        return {str(k): _plain(f"{key}.{k}", v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(key, v) for v in value]
    if isinstance(value, _Media):
        _warn(f"{type(value).__name__} values are not logged (key {key!r} skipped)")
        return _SKIP
    item = getattr(value, "item", None)  # numpy / torch scalars
    if callable(item):
        try:
            return _plain(key, item())
        except (TypeError, ValueError, RuntimeError):
            pass
    try:
        number = float(value)
    except (TypeError, ValueError):
        _warn(f"{type(value).__name__} values are not logged (key {key!r} skipped)")
        return _SKIP
    return number


def _as_dict(obj: Any) -> dict[str, Any]:
    if obj is None:
        return {}
    if isinstance(obj, dict):
        return dict(obj)
    if isinstance(obj, MutableMapping):
        return dict(obj.items())
    if hasattr(obj, "__dict__"):  # argparse.Namespace and the like
        return {k: v for k, v in vars(obj).items() if not k.startswith("_")}
    raise TypeError(f"cannot use {type(obj).__name__} as a config")


def _sweep_params() -> dict[str, Any]:
    text = os.environ.get(_CONFIG_ENV)
    if not text:
        return {}
    value = json.loads(text)
    return value if isinstance(value, dict) else {}


config = Config(_sweep_params())
summary = Summary()
run: Run | None = None


def init(
    project: str | None = None,
    config: Any = None,
    name: str | None = None,
    **ignored: Any,
) -> Run:
    """Start (or return) the run; ``config`` values are added where the sweep set none."""
    global run
    globals()["config"].update(config)
    if run is None or run._finished:
        run = Run(project, name)
    return run


def log(data: dict[str, Any], step: int | None = None, commit: bool | None = None) -> None:
    """``run.log`` on the current run (started on first use)."""
    (run or init()).log(data, step=step, commit=commit)


def finish(exit_code: int | None = None, quiet: bool | None = None) -> None:
    """Finish the current run, if any."""
    if run is not None:
        run.finish(exit_code)


def login(*args: Any, **kwargs: Any) -> bool:
    """No-op (offline)."""
    return True


def watch(*args: Any, **kwargs: Any) -> None:
    """No-op."""


def unwatch(*args: Any, **kwargs: Any) -> None:
    """No-op."""


def define_metric(*args: Any, **kwargs: Any) -> None:
    """No-op."""


def save(*args: Any, **kwargs: Any) -> None:
    """No-op (files stay in the trial directory)."""


def alert(*args: Any, **kwargs: Any) -> None:
    """No-op."""


_UNSUPPORTED = ("Api", "Artifact", "sweep", "agent", "use_artifact", "log_artifact", "controller")


def __getattr__(name: str) -> Any:
    if name in _UNSUPPORTED:

        def unsupported(*args: Any, **kwargs: Any) -> Any:
            raise NotImplementedError(
                f"wandb.{name} is not available under tune-jobs (offline shim); "
                "see docs/wandb.md for what the shim covers"
            )

        return unsupported
    raise AttributeError(
        f"wandb.{name} is not provided by the tune-jobs offline shim; it covers init, config, "
        "log, summary, run, finish (see docs/wandb.md)"
    )


@atexit.register
def _flush_at_exit() -> None:
    if run is not None:
        run.finish()
