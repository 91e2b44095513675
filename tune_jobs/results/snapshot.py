"""Tune's experiment snapshot in a run directory, checked before ``resume`` restores it.

Tune keeps one copy per driver session of each state file (``experiment_state-<ts>.json``,
``callback-states-<ts>.pkl``, the searcher's ``searcher-state-<ts>.pkl``,
``basic-variant-state-<ts>.json`` or ``search_gen_state-<ts>.json``) and restores the newest
of each. Runs written through ``tune_jobs.results.atomic_fs`` never hold a cut-short file, but runs
written before it (or on storage without it) can: a driver killed while Tune copied a file
left it truncated. Worse, Tune's ``TuneController`` catches any error while restoring,
logs "Failed to restore the run state." and starts the experiment over. With the
searcher already restored as finished, that "over" is a sweep with no trials: ``resume``
used to exit 0 having run nothing, and wrote an empty trial table.

``check_snapshot`` sets aside (renames to ``NAME.cut-short``) each newest state file that
does not parse, so Tune takes the previous session's copy, and refuses with one line
when no whole copy of a file is left. ``refuse_silent_restart`` turns Tune's swallowed
restore error into that one line too, before any trial starts.
"""

from __future__ import annotations

import fnmatch
import io
import json
import logging
import pickletools
from collections.abc import Iterator
from contextlib import contextmanager

import pyarrow.fs as pafs

from tune_jobs.errors import UserError
from tune_jobs.ray_internals import (
    CONTROLLER_LOGGER,
    EXPERIMENT_STATE_FILES,
    RESTORE_FAILED_MESSAGE,
    SNAPSHOT_FOLLOWER_FILES,
)
from tune_jobs.results.storage import RunStorage

__all__ = ["SNAPSHOT_FILES", "check_snapshot", "refuse_silent_restart"]

SNAPSHOT_FILES = (EXPERIMENT_STATE_FILES, *SNAPSHOT_FOLLOWER_FILES)
"""Tune's per-session state files (``CKPT_FILE_TMPL`` of its controller, callbacks and
search algorithms); the newest name of each pattern is the one restored."""

SET_ASIDE_SUFFIX = ".cut-short"


def check_snapshot(run: RunStorage, rel: str, shown: str) -> list[str]:
    """Make the newest copy of each state file in ``RUN_DIR/rel`` one that parses.

    A newest copy that is cut short is renamed to ``NAME.cut-short`` (kept, never
    deleted) so Tune restores the previous session's copy; one line per such file is
    returned. Raises ``UserError`` naming the file when every copy of one is cut short.
    ``shown`` is RUN_DIR as the user gave it.
    """
    inside = () if rel in ("", ".") else (rel,)  # "RUN_DIR/./x" is no key on S3
    directory = run.path(*inside)
    names = [
        info.base_name
        for info in run.fs.get_file_info(pafs.FileSelector(directory))
        if info.type == pafs.FileType.File
    ]
    lines: list[str] = []
    for pattern in SNAPSHOT_FILES:
        copies = sorted(fnmatch.filter(names, pattern), reverse=True)  # newest first
        for index, name in enumerate(copies):
            if _parses(name, run.read_bytes(*inside, name)):
                break
            run.fs.move(run.path(*inside, name), run.path(*inside, name + SET_ASIDE_SUFFIX))
            if index + 1 == len(copies):
                raise UserError(
                    f"{shown}: Tune's state file {name} is cut short (the driver was killed "
                    "while it was written) and no earlier copy exists, so the sweep cannot "
                    f"be resumed; the results written so far are intact (set aside as "
                    f"{name}{SET_ASIDE_SUFFIX})"
                )
            lines.append(
                f"{name} was cut short (the driver was killed while it was written); "
                f"resuming from the previous snapshot's {copies[index + 1]}"
            )
    return lines


def _parses(name: str, data: bytes) -> bool:
    """Whether a state file is whole: JSON for the controller's state, else a pickle
    whose opcodes run to STOP (walked with ``pickletools``: nothing is unpickled)."""
    if name.startswith("experiment_state-"):
        try:
            return isinstance(json.loads(data), dict)
        except ValueError:
            return False
    try:
        for opcode, _, _ in pickletools.genops(io.BytesIO(data)):
            if opcode.name == "STOP":
                return True
    except ValueError:  # genops: truncated data or an unknown opcode
        return False
    return False


class _RestoreFailed(logging.Handler):
    """Raises ``UserError`` from Tune's own log call when its restore failed."""

    def __init__(self, shown: str) -> None:
        super().__init__(level=logging.ERROR)
        self._shown = shown

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage() != RESTORE_FAILED_MESSAGE:
            return
        cause = record.exc_info[1] if record.exc_info else None
        raise UserError(
            f"{self._shown}: Tune could not restore the sweep's state ({cause!r}); "
            "nothing was run and the results written so far are intact"
        )


@contextmanager
def refuse_silent_restart(shown: str) -> Iterator[None]:
    """While a restored ``Tuner`` starts: fail with one line instead of letting Tune
    start the experiment over when it cannot restore the snapshot.

    ``logging.Handler.handle`` does not catch what ``emit`` raises, so the error leaves
    Tune's ``except`` block in place of its "Restarting experiment." (pinned by
    tests/tune_jobs/test_snapshot.py for the installed Ray).
    """
    logger = logging.getLogger(CONTROLLER_LOGGER)
    handler = _RestoreFailed(shown)
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)
