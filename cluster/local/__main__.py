"""``python -m cluster.local start|status|stop --dir D``: the local cluster from the shell."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from cluster.local.cluster import LocalCluster, WorkerSpec

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m cluster.local",
        description="A head and N worker nodes as separate `ray start` processes on this "
        "machine; stop kills only this cluster's processes (never `ray stop`).",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    start = sub.add_parser("start", help="start the cluster; prints its addresses")
    start.add_argument("--workers", type=int, default=1, help="worker nodes (default 1)")
    start.add_argument("--worker-cpus", type=int, default=1, help="CPUs per worker")
    start.add_argument("--worker-gpus", type=int, default=0, help="fake GPUs per worker")
    start.add_argument(
        "--resources", default="{}", help='custom resources per worker (JSON, e.g. {"a100": 1})'
    )
    start.add_argument("--head-cpus", type=int, default=1, help="CPUs of the head node")
    start.add_argument("--no-auth", action="store_true", help="turn token auth off")
    for name, cmd in (("start", start), ("status", None), ("stop", None)):
        cmd = cmd or sub.add_parser(name, help=f"{name} the cluster recorded in --dir")
        cmd.add_argument("--dir", required=True, help="the cluster dir (state, token, logs)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit code."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "start":
            spec = WorkerSpec(args.worker_cpus, args.worker_gpus, json.loads(args.resources))
            cluster = LocalCluster(
                args.dir, [spec] * args.workers, head_cpus=args.head_cpus,
                token_auth=not args.no_auth,
            ).start()  # fmt: skip
            print(f"dashboard / jobs API: {cluster.dashboard_url}")
            print(f"GCS address:          {cluster.gcs_address}")
            print("client environment:")
            for key, value in cluster.client_env().items():
                print(f"  export {key}={value}")
            return 0
        cluster = LocalCluster.load(args.dir)
        if args.command == "status":
            for node in cluster.status():
                role = "head  " if node["head"] else "worker"
                state = "ALIVE" if node["alive"] else "DEAD "
                print(f"{role} {state} {node['node_id']} {json.dumps(node['resources'])}")
            return 0
        killed = cluster.stop()
        print(f"stopped: {len(killed)} processes killed")
        return 0
    except (OSError, RuntimeError, ValueError) as err:
        print(f"cluster.local: error: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
