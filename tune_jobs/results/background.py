"""A single background thread that runs sink writes off Tune's controller thread."""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable

__all__ = ["BackgroundWorker"]

logger = logging.getLogger(__name__)


class BackgroundWorker:
    """Runs submitted jobs in order on one daemon thread.

    ``drain()`` blocks until every job submitted before it has run and re-raises the
    first error a job hit, so a failing write is reported, never swallowed.
    """

    def __init__(self, name: str) -> None:
        self._jobs: queue.Queue[Callable[[], None] | None] = queue.Queue()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._thread.start()

    def submit(self, job: Callable[[], None]) -> None:
        """Queue ``job``; returns at once."""
        self._jobs.put(job)

    def drain(self) -> None:
        """Wait for all queued jobs; raise the first error any of them raised."""
        done = threading.Event()
        self._jobs.put(done.set)
        while not done.wait(timeout=1.0):
            if not self._thread.is_alive():
                break
        if self._error is not None:
            error, self._error = self._error, None
            raise RuntimeError(f"results writer failed: {error}") from error

    def close(self) -> None:
        """Drain, then stop the thread."""
        try:
            self.drain()
        finally:
            self._jobs.put(None)
            self._thread.join(timeout=30)

    def _loop(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            try:
                job()
            except BaseException as err:  # kept and re-raised by drain()
                logger.error("results writer job failed: %s", err)
                if self._error is None:
                    self._error = err
