"""A multi-node Ray cluster on one machine: ``ray start`` per node on loopback, each node
with its own temp dir and ports (tests, benchmarks, trying a cluster without machines).

From Python: ``LocalCluster``; from the shell: ``python -m cluster.local start|status|stop``.
"""

from cluster.local.cluster import LocalCluster, NodeRecord, WorkerSpec

__all__ = ["LocalCluster", "NodeRecord", "WorkerSpec"]
