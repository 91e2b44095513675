"""Enforce ``resources.memory`` on the process that runs a trial.

Ray treats ``memory`` as a logical resource: it reserves it when scheduling, but its own
memory monitor acts only when a whole node is nearly out of memory, and then kills
whichever worker it picks. So a trial that allocates far beyond its share would push the
whole node towards that point. Here, around each trial, the trial's worker process gets a
soft ``RLIMIT_DATA`` of its current data size plus the trial's ``memory``:

- ``RLIMIT_DATA`` (Linux >= 4.7) counts private writable mappings, which is where
  ``malloc``/``mmap`` put numpy arrays, torch CPU tensors and Python objects, but not
  file mappings (``np.memmap`` token files) nor reserved, inaccessible address space.
  ``RLIMIT_AS`` would count every virtual mapping, and torch, CUDA and Ray's workers map
  gigabytes they never touch, so it would fail trials that use little memory.
- An allocation beyond the limit fails inside the trial (``MemoryError`` from numpy or
  Python, ``RuntimeError: ... can't allocate memory`` from torch); the trial fails with
  ``TrialOutOfMemoryError`` ("out of memory: the trial exceeded its memory limit of N MiB
  (resources.memory)"), recorded as ERROR; the sweep goes on (or retries the trial if
  ``max_failures`` allows).
- The limit is removed when the trial function returns or raises, and recomputed for
  every trial, so a reused actor (``reuse_actors``) never carries one trial's limit into
  the next.

Child processes (command trainables) inherit the soft limit as it stands when they
start. GPU memory is not limited. On other systems (macOS, Windows, Linux < 4.7) the
request is only Ray's reservation and a warning says so once per process.
"""

from __future__ import annotations

import logging
import platform
import re
import resource
import threading
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

__all__ = [
    "OUT_OF_MEMORY",
    "TrialOutOfMemoryError",
    "call_with_memory_limit",
    "data_size",
    "is_allocation_failure",
    "memory_limit",
    "requested_memory",
    "run_with_memory_limit",
]

logger = logging.getLogger(__name__)

#: Start of the message a trial that ran out of its memory fails with.
OUT_OF_MEMORY = "out of memory: the trial exceeded its memory limit of"

# Host allocation failures that are not MemoryError: torch's CPU allocator raises
# RuntimeError ("DefaultCPUAllocator: can't allocate memory"). CUDA out-of-memory
# errors say "CUDA out of memory" and are left alone: GPU memory is not this limit.
_ALLOC_FAILED = re.compile(r"can't allocate memory|cannot allocate memory|not enough memory", re.I)

_lock = threading.Lock()
_original: tuple[int, int] | None = None  # the process's RLIMIT_DATA before any trial
_generation = 0  # which trial's limit is in force; an older trial's cleanup leaves it be
_warned = False


class TrialOutOfMemoryError(MemoryError):
    """A trial allocated beyond its ``resources.memory``."""


def requested_memory() -> int | None:
    """The running Tune trial's ``memory`` request in bytes (``None`` outside a trial or
    when the trial asked for none)."""
    try:
        from ray import tune

        with warnings.catch_warnings():  # outside a trial Ray warns and returns None
            warnings.simplefilter("ignore")
            bundles = tune.get_context().get_trial_resources().bundles
    except Exception:  # not inside a Tune trial
        return None
    amount = bundles[0].get("memory") if bundles else None
    return int(amount) if amount else None


def data_size() -> int | None:
    """This process's size as ``RLIMIT_DATA`` counts it (``VmData``), or ``None`` where
    that is not known (not Linux)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmData:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def _supported() -> bool:
    if platform.system() != "Linux":
        return False
    match = re.match(r"(\d+)\.(\d+)", platform.release())
    return match is not None and (int(match[1]), int(match[2])) >= (4, 7)


@contextmanager
def memory_limit(budget: int | None) -> Iterator[int | None]:
    """Limit this process to its current data size plus ``budget`` bytes while inside.

    Yields the soft limit set (``None`` if none: no budget, or not supported here). On
    leaving, the limit the process had before any trial is restored, unless a later
    trial in the same process has set its own meanwhile.
    """
    global _original, _generation, _warned
    if budget is None:
        yield None
        return
    used = data_size()
    if used is None or not _supported():
        if not _warned:
            _warned = True
            logger.warning(
                "resources.memory is reserved in Ray's scheduling but not enforced on %s %s "
                "(needs Linux >= 4.7)",
                platform.system(),
                platform.release(),
            )
        yield None
        return
    with _lock:
        if _original is None:
            _original = resource.getrlimit(resource.RLIMIT_DATA)
        soft, hard = _original
        limit = used + budget
        for ceiling in (soft, hard):  # a stricter limit set outside tune-jobs stays
            if ceiling != resource.RLIM_INFINITY:
                limit = min(limit, ceiling)
        resource.setrlimit(resource.RLIMIT_DATA, (limit, hard))
        _generation += 1
        mine = _generation
    try:
        yield limit
    finally:
        with _lock:
            if _generation == mine:
                resource.setrlimit(resource.RLIMIT_DATA, (soft, hard))


def is_allocation_failure(err: BaseException) -> bool:
    """Whether ``err`` is a failed memory allocation (Python, numpy or torch)."""
    if isinstance(err, MemoryError):
        return True
    return isinstance(err, RuntimeError) and bool(_ALLOC_FAILED.search(str(err)))


def run_with_memory_limit(fn: Callable[[dict[str, Any]], Any], config: dict[str, Any]) -> Any:
    """``fn(config)`` under the running trial's ``resources.memory`` limit (if any)."""
    return call_with_memory_limit(fn, config, requested_memory())


def call_with_memory_limit(
    fn: Callable[[dict[str, Any]], Any], config: dict[str, Any], budget: int | None
) -> Any:
    """``fn(config)`` with at most ``budget`` more bytes of data (``None``: no limit).

    A failed allocation while the limit holds becomes ``TrialOutOfMemoryError`` with a
    message naming the limit; other errors pass through unchanged.
    """
    if budget is None:
        return fn(config)
    with memory_limit(budget) as limit:
        try:
            return fn(config)
        except Exception as err:
            if limit is None or not is_allocation_failure(err):
                raise
            failure = err
    # Outside the limit again: building and pickling the error needs memory.
    raise TrialOutOfMemoryError(
        f"{OUT_OF_MEMORY} {budget / 2**20:g} MiB (resources.memory); "
        f"{type(failure).__name__}: {_first_line(failure)}"
    ) from failure


def _first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return text[0][:200] if text else "allocation failed"
