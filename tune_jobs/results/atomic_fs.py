"""A local filesystem for Ray Tune on which every file write is all or nothing.

Tune copies its state to ``storage_path`` with ``pyarrow.fs.copy_files``, which opens
each destination file (truncating it) and streams the new bytes in: ``tuner.pkl``,
``experiment_state-*.json``, ``callback-states-*.pkl``, the searcher's state and every
checkpoint file. A driver or worker killed during such a copy leaves the file cut short
(seen: a 0-byte ``callback-states`` after a SIGKILL; Tune's restore then fails, logs it and
silently starts the experiment over with no trials). S3 does not have the problem (an
object appears only once its upload completes); the local disk and NFS do.

``atomic_local_filesystem()`` gives Tune a ``pyarrow.fs.PyFileSystem`` over the local disk
whose output streams write to a hidden ``.NAME.partial-<uuid>`` file next to the target
and ``rename(2)`` it into place on close: a reader sees the old file or the new one,
never a part. Writes are not fsync'ed: this protects against killed processes, not
against a machine losing power. A process killed mid-write leaves the hidden partial
file behind; nothing lists it (its name matches none of Tune's patterns and does not end
in ``.json``/``.pkl``).

Checkpoints on this filesystem are not ``pyarrow.fs.LocalFileSystem`` ones, so
``Checkpoint.as_directory()`` copies a checkpoint to a temporary directory before a
trial restores from it instead of reading it in place (one local copy per restore).
"""

from __future__ import annotations

import contextlib
import fnmatch
import io
import os
import threading
import uuid
from collections.abc import Callable
from typing import Any

import pyarrow.fs as pafs

from tune_jobs.ray_internals import EXPERIMENT_STATE_FILES, SNAPSHOT_FOLLOWER_FILES

__all__ = ["AtomicLocalHandler", "atomic_local_filesystem", "is_partial_file"]

_PARTIAL_MARK = ".partial-"


def atomic_local_filesystem() -> pafs.PyFileSystem:
    """The local disk for Tune's ``storage_filesystem``, with all-or-nothing file writes."""
    return pafs.PyFileSystem(AtomicLocalHandler())


def is_partial_file(name: str) -> bool:
    """Whether ``name`` is a write in progress (or one a killed process left behind)."""
    return name.startswith(".") and _PARTIAL_MARK in name


class _AtomicFile(io.FileIO):
    """Writes ``target`` through a hidden temporary file renamed onto it on ``close``."""

    def __init__(self, target: str, publish: Callable[[str, str], None] = os.replace) -> None:
        directory, name = os.path.split(target)
        self._target = target
        self._publish = publish
        self._temporary = os.path.join(directory, f".{name}{_PARTIAL_MARK}{uuid.uuid4().hex}")
        self._failed = False
        super().__init__(self._temporary, "wb")

    def write(self, data: Any) -> int:
        try:
            return super().write(data)
        except BaseException:
            self._failed = True  # never publish a file whose write failed
            raise

    def __del__(self) -> None:
        # Garbage-collected without close(): an abandoned write, never published.
        if not self.closed:
            self._failed = True
        super().__del__()

    def close(self) -> None:
        if self.closed:
            return
        try:
            super().close()
        except BaseException:
            self._failed = True
            raise
        finally:
            if self._failed:
                _remove_quietly(self._temporary)
            else:
                self._publish(self._temporary, self._target)


def _remove_quietly(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.remove(path)


class _SnapshotOrder:
    """Publishes one experiment snapshot so the experiment state comes first.

    Each experiment sync (``create_dir`` of the experiment directory starts one) copies
    ``experiment_state-*.json`` and the searcher's and callbacks' state files, in no
    fixed order. Restoring a newer searcher with an older trial list leaves it waiting
    for trials that do not exist (a concurrency limit full of them: the sweep hangs);
    the other way round it can suggest one configuration again. So a follower file
    closed before this sync's experiment state is held, and renamed right after it.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._held: dict[str, list[tuple[str, str]]] = {}
        self._state_published: set[str] = set()

    def sync_started(self, directory: str) -> None:
        with self._lock:
            self._state_published.discard(directory)

    def publish(self, temporary: str, target: str) -> None:
        directory, name = os.path.split(target)
        with self._lock:
            if directory not in self._state_published and _matches(name, SNAPSHOT_FOLLOWER_FILES):
                self._held.setdefault(directory, []).append((temporary, target))
                return
            os.replace(temporary, target)
            if fnmatch.fnmatchcase(name, EXPERIMENT_STATE_FILES):
                self._state_published.add(directory)
                for held, final in self._held.pop(directory, []):
                    os.replace(held, final)


def _matches(name: str, patterns: tuple[str, ...]) -> bool:
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns)


class AtomicLocalHandler(pafs.FileSystemHandler):
    """``pyarrow.fs.LocalFileSystem`` with all-or-nothing ``open_output_stream`` and
    ``copy_file``; every other call goes to the local filesystem unchanged."""

    def __init__(self) -> None:
        self._local = pafs.LocalFileSystem()
        self._order = _SnapshotOrder()

    def __getstate__(self) -> dict[str, Any]:
        return {}  # a copy (a trial worker's) starts with nothing held

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__()

    def __eq__(self, other: object) -> bool:
        return isinstance(other, AtomicLocalHandler)

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)

    def __hash__(self) -> int:
        return hash(AtomicLocalHandler)

    def get_type_name(self) -> str:
        return "local-atomic"

    def normalize_path(self, path: str) -> str:
        return self._local.normalize_path(path)

    def get_file_info(self, paths: list[str]) -> list[pafs.FileInfo]:
        return self._local.get_file_info(paths)

    def get_file_info_selector(self, selector: pafs.FileSelector) -> list[pafs.FileInfo]:
        return self._local.get_file_info(selector)

    def create_dir(self, path: str, recursive: bool) -> None:
        self._local.create_dir(path, recursive=recursive)
        self._order.sync_started(self._local.normalize_path(path).rstrip("/"))

    def delete_dir(self, path: str) -> None:
        self._local.delete_dir(path)

    def delete_dir_contents(self, path: str, missing_dir_ok: bool = False) -> None:
        self._local.delete_dir_contents(path, missing_dir_ok=missing_dir_ok)

    def delete_root_dir_contents(self) -> None:
        raise OSError("refusing to delete the contents of the filesystem root")

    def delete_file(self, path: str) -> None:
        self._local.delete_file(path)

    def move(self, src: str, dest: str) -> None:
        self._local.move(src, dest)

    def copy_file(self, src: str, dest: str) -> None:
        with (
            self._local.open_input_stream(src) as source,
            _AtomicFile(dest, self._order.publish) as out,
        ):
            while chunk := source.read(1 << 20):
                out.write(chunk)

    def open_input_stream(self, path: str) -> Any:
        return self._local.open_input_stream(path)

    def open_input_file(self, path: str) -> Any:
        return self._local.open_input_file(path)

    def open_output_stream(self, path: str, metadata: dict[str, str] | None) -> Any:
        import pyarrow as pa

        return pa.PythonFile(_AtomicFile(path, self._order.publish), mode="w")

    def open_append_stream(self, path: str, metadata: dict[str, str] | None) -> Any:
        return self._local.open_append_stream(path)
