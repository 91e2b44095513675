"""A real 2-node loopback cluster (cluster/local/) shared by the tests of a module."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from cluster.local import LocalCluster, WorkerSpec
from cluster.procs import session_processes


@pytest.fixture(scope="session")
def local_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    """Head (1 CPU) + one worker (1 CPU, 2 fake GPUs, a custom resource), token auth on.

    Stopped by PID at the end; the teardown checks that none of its processes is left.
    """
    root: Path = tmp_path_factory.mktemp("cluster")
    cluster = LocalCluster(
        root, [WorkerSpec(num_cpus=1, num_gpus=2, resources={"accel_fake": 1})], head_cpus=1
    ).start()
    sessions = [n.session_id for n in cluster.nodes]
    started = min(n.started_at for n in cluster.nodes) - 5
    yield cluster
    cluster.stop()
    time.sleep(0.5)
    left = session_processes(sessions, started, ("RAY_AUTH_TOKEN_PATH", str(cluster.token_path)))
    assert not left, f"cluster processes left running: {[p.pid for p in left]}"
