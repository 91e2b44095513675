"""How the user's code becomes importable without shadowing ours.

Researchers run sweeps from their own repository, which often has top-level packages
named like ours (``trainables/``, ``analysis/``). Python looks in the working directory
first (``python -m``, ``PYTHONPATH``), and an editable install finds our packages only
after ``sys.path``: left alone, a repo's ``trainables/__init__.py`` would be imported
in place of the service's, and every trial of a built-in trainable would fail.

The rule, in the driver and in every trial worker:

- our top-level packages (``OUR_PACKAGES``) always resolve to the directory this
  installation ships them from, through a finder placed first on ``sys.meta_path``
  (``protect_our_packages``; workers run it as Ray's worker setup hook);
- the working directory is searched after everything else (``user_path``), so the
  repo's own modules (``train.py``, ``mylib``, a ``models`` package) import by name;
- a ``file.py:func`` trainable is loaded by its path under a name of its own.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import os
import sys
from pathlib import Path
from types import ModuleType

__all__ = [
    "OUR_PACKAGES",
    "PROTECT_HOOK",
    "add_cwd_last",
    "collides_with_ours",
    "our_root",
    "protect_our_packages",
    "user_path",
]

#: The top-level packages this project ships; a user's package of the same name never
#: replaces them.
OUR_PACKAGES = ("tune_jobs", "trainables", "analysis", "cluster")
#: ``protect_our_packages`` by import path, for Ray's ``worker_process_setup_hook``.
PROTECT_HOOK = f"{__name__}.protect_our_packages"


def our_root() -> str:
    """The directory our packages are imported from (site-packages, or the source tree
    of an editable install)."""
    return str(Path(__file__).resolve().parents[2])


class _OurPackagesFirst(importlib.abc.MetaPathFinder):
    """Resolves ``OUR_PACKAGES`` (and so all their submodules) in ``our_root`` only."""

    def __init__(self, root: str) -> None:
        self.root = root

    def find_spec(
        self, fullname: str, path: object = None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in OUR_PACKAGES:
            return None  # submodules follow their package's __path__
        return importlib.machinery.PathFinder.find_spec(fullname, [self.root])


def protect_our_packages() -> None:
    """Put the finder for our packages first on ``sys.meta_path`` (once per process)."""
    if not any(isinstance(f, _OurPackagesFirst) for f in sys.meta_path):
        sys.meta_path.insert(0, _OurPackagesFirst(our_root()))


def collides_with_ours(module: str) -> bool:
    """Whether importing ``module`` would have to look inside one of our packages."""
    return module.split(".", 1)[0] in OUR_PACKAGES


def user_path(cwd: str | None = None, existing: str | None = None) -> str:
    """``PYTHONPATH`` for trial workers: what the driver had, then the working directory
    (searched last, so it never hides an installed package)."""
    cwd = cwd or os.getcwd()
    parts = [p for p in (existing or "").split(os.pathsep) if p and p != cwd]
    return os.pathsep.join([*parts, cwd])


def add_cwd_last() -> str:
    """Make the working directory importable in this process, after everything else."""
    cwd = os.getcwd()
    if cwd not in sys.path and "" not in sys.path:
        sys.path.append(cwd)
    return cwd
