"""RUN_DIR access through pyarrow's filesystem layer: local paths and URIs alike.

Storage URIs are pyarrow's (``s3://bucket/prefix?endpoint_override=host:port&scheme=http``,
``gs://...``, ``file:///...``); see docs/storage.md. Credentials come only from the
environment (``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``, a profile, an instance role):
a URI that carries them is refused, because the URI is written into ``spec.yaml``.

Writes are atomic for readers: on a local disk every write goes through the
all-or-nothing filesystem of ``tune_jobs.results.atomic_fs`` (a hidden temporary file
renamed into place on close), the same one Tune writes its state through; object stores
(S3, GCS) publish an object only when its upload completes, so there the final name is
written directly.
"""

from __future__ import annotations

import io
import posixpath
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit, urlunsplit

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from tune_jobs.errors import UserError

__all__ = [
    "CREDENTIAL_PARAMS",
    "RunStorage",
    "absolute_storage",
    "check_storage_uri",
    "join_storage",
    "split_storage",
    "storage_failure",
]

#: URI query parameters that would put a secret into spec.yaml and Tune's state files.
CREDENTIAL_PARAMS = frozenset(
    {"access_key", "secret_key", "session_token", "role_arn", "credential_access_key"}
)


def check_storage_uri(storage: str) -> None:
    """Refuse a storage URI that carries credentials (they belong in the environment)."""
    if "://" not in storage:
        return
    secret = sorted(k for k, _ in parse_qsl(urlsplit(storage).query) if k in CREDENTIAL_PARAMS)
    if secret:
        raise UserError(
            f"storage URI carries credentials ({', '.join(secret)}): take them out and set "
            "them in the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY), see "
            "docs/storage.md"
        )


def storage_failure(err: BaseException, storage: str, run_dir: str) -> UserError | None:
    """The one-line ``UserError`` for a storage that failed mid-run, or ``None``.

    ``err`` is what ended the sweep; it is a storage failure when an ``OSError`` (what
    pyarrow's filesystems raise: unreachable endpoint, refused write, full disk) is in
    its cause/context chain. Ray's own ``ConnectionError``s are not storage failures.
    """
    seen: set[int] = set()
    current: BaseException | None = err
    while current is not None and id(current) not in seen:
        if isinstance(current, OSError) and not isinstance(current, ConnectionError):
            detail = " ".join(str(current).split())
            detail = detail if len(detail) <= 300 else detail[:297] + "..."
            return UserError(
                f"{storage}: storage failed during the sweep ({detail}); results written "
                f"before the failure are intact; once the storage is back, continue with: "
                f"tune-jobs resume {run_dir}"
            )
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def absolute_storage(storage: str) -> str:
    """Make a local storage path absolute so a resumed run writes to the same place."""
    if "://" in storage:
        return storage
    return split_storage(storage)[1]


def split_storage(storage: str) -> tuple[pafs.FileSystem, str]:
    """``(filesystem, path)`` for a local directory or a pyarrow-filesystem URI.

    Raises ``UserError`` (one line) for a URI pyarrow cannot open or one that carries
    credentials.
    """
    if "://" in storage:
        check_storage_uri(storage)
        try:
            fs, path = pafs.FileSystem.from_uri(storage)
        except (ValueError, OSError, ImportError) as err:
            shown = urlunsplit(urlsplit(storage)._replace(query=""))
            raise UserError(f"{shown}: not a usable storage URI ({err})") from None
        return fs, path.rstrip("/")
    return pafs.LocalFileSystem(), str(Path(storage).expanduser().resolve())


def join_storage(storage: str, *parts: str) -> str:
    """``storage`` with ``parts`` appended to its path; a URI keeps its query string.

    ``join_storage("s3://b/runs?scheme=http", "demo")`` is ``"s3://b/runs/demo?scheme=http"``,
    the form ``tune-jobs status`` and ``analysis.load`` take.
    """
    if "://" not in storage:
        return posixpath.join(storage, *parts)
    url = urlsplit(storage)
    path = posixpath.join(url.path.rstrip("/") or "/", *parts)
    return urlunsplit(url._replace(path=path))


@dataclass(frozen=True)
class RunStorage:
    """One run directory (RUN_DIR) on some filesystem."""

    fs: pafs.FileSystem
    root: str
    """RUN_DIR's path on ``fs``."""

    @classmethod
    def for_run(cls, storage: str, name: str) -> RunStorage:
        """RUN_DIR = ``<storage>/<name>``."""
        fs, base = split_storage(storage)
        return cls(fs, posixpath.join(base, name))

    @classmethod
    def open(cls, run_dir: str) -> RunStorage:
        """An existing RUN_DIR given as a path or URI."""
        fs, path = split_storage(run_dir)
        return cls(fs, path)

    @property
    def is_local(self) -> bool:
        """Whether RUN_DIR is on this machine's disk."""
        return isinstance(self.fs, pafs.LocalFileSystem)

    @property
    def tune_filesystem(self) -> pafs.FileSystem:
        """The filesystem Tune writes this run's state and checkpoints through: on the
        local disk one whose writes are all or nothing (``tune_jobs.results.atomic_fs``)."""
        if not self.is_local:
            return self.fs
        from tune_jobs.results.atomic_fs import atomic_local_filesystem

        return atomic_local_filesystem()

    def path(self, *parts: str) -> str:
        """Path of a file inside RUN_DIR."""
        return posixpath.join(self.root, *parts)

    def makedirs(self, *parts: str) -> None:
        """Create a directory inside RUN_DIR (and its parents)."""
        self.fs.create_dir(self.path(*parts), recursive=True)

    def exists(self, *parts: str) -> bool:
        """Whether a file or directory exists inside RUN_DIR."""
        return self.fs.get_file_info(self.path(*parts)).type != pafs.FileType.NotFound

    def write_bytes(self, data: bytes, *parts: str) -> None:
        """Write a file so that readers see the old or the new content, never a part."""
        with self.tune_filesystem.open_output_stream(self.path(*parts)) as out:
            out.write(data)

    def write_parquet(self, table: pa.Table, *parts: str) -> None:
        """Write ``table`` as one Parquet file, atomically."""
        buffer = io.BytesIO()
        pq.write_table(table, buffer, compression="zstd")
        self.write_bytes(buffer.getvalue(), *parts)

    def read_bytes(self, *parts: str) -> bytes:
        """Read a whole file inside RUN_DIR."""
        with self.fs.open_input_stream(self.path(*parts)) as f:
            return f.readall()
