"""Process helpers for the local cluster: free ports, finding and killing a cluster's PIDs."""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Iterable

import psutil

__all__ = ["free_port", "kill_tree", "session_processes"]


def free_port() -> int:
    """A TCP port free on loopback right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def session_processes(
    session_ids: Iterable[int], not_before: float, marker: tuple[str, str] | None = None
) -> list[psutil.Process]:
    """Processes in the given sessions, those whose environment holds ``marker``, and all
    their descendants.

    Every node's ``ray start`` runs in a new session, so its daemons (GCS, raylet,
    dashboard, agents) keep that session id; workers and job drivers (which may start
    their own sessions) are descendants of the raylet. Processes created before
    ``not_before`` (a reused session id) are ignored. ``marker`` (an environment variable
    and value every process of the cluster inherits, e.g. its token path) also catches
    processes orphaned by a node that died first.
    """
    wanted = set(session_ids)
    if not wanted and marker is None:
        return []
    roots: dict[int, psutil.Process] = {}
    for proc in psutil.process_iter(["create_time"]):
        try:
            if proc.info["create_time"] < not_before:
                continue
            if os.getsid(proc.pid) in wanted or (marker and _has_env(proc, *marker)):
                roots[proc.pid] = proc
        except (ProcessLookupError, PermissionError, psutil.Error):
            continue
    found = dict(roots)
    for proc in roots.values():
        try:
            found.update((c.pid, c) for c in proc.children(recursive=True))
        except psutil.Error:
            continue
    found.pop(os.getpid(), None)
    return list(found.values())


def _has_env(proc: psutil.Process, name: str, value: str) -> bool:
    try:
        return proc.environ().get(name) == value
    except psutil.Error:
        return False


def kill_tree(procs: list[psutil.Process], timeout_s: float) -> list[int]:
    """SIGTERM ``procs``, SIGKILL what is left after ``timeout_s``; returns their PIDs."""
    for proc in procs:
        with contextlib.suppress(psutil.Error):
            proc.terminate()
    _, alive = psutil.wait_procs(procs, timeout=timeout_s)
    for proc in alive:
        with contextlib.suppress(psutil.Error):
            proc.kill()
    psutil.wait_procs(alive, timeout=5)
    return sorted(p.pid for p in procs)
