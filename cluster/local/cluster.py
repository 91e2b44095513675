"""A multi-node Ray cluster on this machine, for development and tests.

A head and N worker nodes run as separate ``ray start`` processes, each with its own temp
dir and ports (free ports picked at start), workers advertising fake GPUs (``--num-gpus``)
and custom resources. Token authentication is on by default: a token is generated into the
cluster dir and every node gets ``RAY_AUTH_MODE=token`` and ``RAY_AUTH_TOKEN_PATH``.

``stop`` kills only this cluster's processes: every ``ray start`` runs in a new session,
so all its daemons share that session id; those and their descendants (workers, job
drivers) are terminated by PID. It never runs ``ray stop``, which kills every Ray process
on the machine. State lives in ``<dir>/cluster.json``.

Python::

    cluster = LocalCluster("/tmp/c1", workers=[WorkerSpec(num_cpus=1, num_gpus=2)]).start()
    cluster.dashboard_url, cluster.gcs_address, cluster.client_env()
    cluster.status(); cluster.stop()
    cluster.kill_node(1)   # SIGKILL worker 1's raylet: a crashed node, for failure tests

CLI: ``python -m cluster.local start|status|stop --dir D`` (``--help`` for options).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import psutil

from cluster.procs import free_port, kill_tree, session_processes

__all__ = ["LocalCluster", "NodeRecord", "WorkerSpec"]

STATE_FILE = "cluster.json"
TOKEN_FILE = "auth_token"
# Unix socket paths under a temp dir must stay below ~107 bytes: long dirs go to /tmp.
_MAX_TEMP_ROOT = 32
# `ray start` fails with this when the raylet did not register within 30 s (a busy machine).
_STARTUP_TIMEOUT = "timed out during startup"


@dataclass(frozen=True)
class WorkerSpec:
    """One worker node: what it advertises to the Ray scheduler."""

    num_cpus: int = 1
    """CPUs the node offers (logical; the machine's cores are shared)."""
    num_gpus: int = 0
    """Fake GPUs the node offers (``--num-gpus``; no device is needed)."""
    resources: dict[str, float] = field(default_factory=dict)
    """Custom resources, e.g. ``{"accelerator_type:A100": 1}``."""

    def __post_init__(self) -> None:
        if self.num_cpus < 0 or self.num_gpus < 0:
            raise ValueError(f"num_cpus and num_gpus must be >= 0; got {self}")
        for name, amount in self.resources.items():
            if name in ("CPU", "GPU") or amount < 0:
                raise ValueError(f"bad custom resource {name}={amount}")


@dataclass
class NodeRecord:
    """One started node, as recorded in the state file."""

    name: str
    head: bool
    session_id: int
    """PID of its ``ray start`` process: the session id of all the node's daemons."""
    temp_dir: str
    ports: dict[str, int]
    started_at: float


class LocalCluster:
    """A head plus worker nodes started with ``ray start`` on this machine.

    Args:
        root_dir: the cluster dir (state file, token, ``ray start`` logs).
        workers: one ``WorkerSpec`` per worker node.
        head_cpus: CPUs of the head node (0: nothing but drivers runs there).
        token_auth: generate a token and turn Ray's token authentication on.
        object_store_mb: object store size of each node.
        start_timeout_s: how long ``start`` waits for all nodes to be alive.
    """

    def __init__(
        self,
        root_dir: str | os.PathLike[str],
        workers: list[WorkerSpec] | tuple[WorkerSpec, ...] = (WorkerSpec(),),
        *,
        head_cpus: int = 1,
        token_auth: bool = True,
        object_store_mb: int = 100,
        start_timeout_s: float = 90.0,
    ) -> None:
        if head_cpus < 0 or object_store_mb < 80 or start_timeout_s <= 0:
            raise ValueError("need head_cpus >= 0, object_store_mb >= 80, start_timeout_s > 0")
        self.root_dir = Path(root_dir).resolve()
        self.workers = list(workers)
        self.head_cpus = head_cpus
        self.token_auth = token_auth
        self.object_store_mb = object_store_mb
        self.start_timeout_s = start_timeout_s
        self.nodes: list[NodeRecord] = []
        self.temp_root: str | None = None

    # ------------------------------------------------------------------ addresses
    @property
    def head(self) -> NodeRecord:
        """The head node's record (the cluster must be started)."""
        if not self.nodes:
            raise RuntimeError(f"cluster in {self.root_dir} is not started")
        return self.nodes[0]

    @property
    def gcs_address(self) -> str:
        """``host:port`` of the GCS (``ray.init(address=...)``, ``ray start --address``)."""
        return f"127.0.0.1:{self.head.ports['gcs']}"

    @property
    def dashboard_url(self) -> str:
        """The dashboard / jobs API URL (``tune-jobs submit --address``)."""
        return f"http://127.0.0.1:{self.head.ports['dashboard']}"

    @property
    def token_path(self) -> Path | None:
        """The auth token file, or None without token auth."""
        return self.root_dir / TOKEN_FILE if self.token_auth else None

    def token(self) -> str | None:
        """The auth token, or None without token auth."""
        path = self.token_path
        return path.read_text().strip() if path else None

    def client_env(self) -> dict[str, str]:
        """Environment variables that let a Ray client or CLI talk to this cluster."""
        env = {"RAY_ADDRESS": self.gcs_address}
        if self.token_path:
            env.update(RAY_AUTH_MODE="token", RAY_AUTH_TOKEN_PATH=str(self.token_path))
        return env

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> LocalCluster:
        """Start the head and the workers; returns once every node is alive."""
        if (self.root_dir / STATE_FILE).exists():
            raise RuntimeError(f"a cluster is already recorded in {self.root_dir}; stop it")
        self.root_dir.mkdir(parents=True, exist_ok=True)
        if self.token_auth:
            _write_token(self.root_dir / TOKEN_FILE)
        short = len(str(self.root_dir)) <= _MAX_TEMP_ROOT
        self.temp_root = str(self.root_dir / "n") if short else tempfile.mkdtemp(prefix="tjc-")
        try:
            self._start_node("head", head=True, spec=WorkerSpec(num_cpus=self.head_cpus))
            for i, spec in enumerate(self.workers, start=1):
                self._start_node(f"worker{i}", head=False, spec=spec)
            self._wait_alive(1 + len(self.workers))
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self, timeout_s: float = 5.0) -> list[int]:
        """Kill every process of this cluster (by PID); returns the PIDs killed."""
        started = min((n.started_at for n in self.nodes), default=time.time()) - 5
        sessions = [n.session_id for n in self.nodes]
        marker = ("RAY_AUTH_TOKEN_PATH", str(self.token_path)) if self.token_path else None
        killed: list[int] = []
        for _ in range(3):  # again: a raylet may have forked a worker meanwhile
            procs = session_processes(sessions, started, marker)
            if not procs:
                break
            killed += kill_tree(procs, timeout_s)
        if self.temp_root and not self.temp_root.startswith(str(self.root_dir)):
            shutil.rmtree(self.temp_root, ignore_errors=True)
        (self.root_dir / STATE_FILE).unlink(missing_ok=True)
        self.nodes = []
        return killed

    def status(self) -> list[dict[str, Any]]:
        """The cluster's nodes as the GCS sees them: id, alive, resources, is head."""
        return _list_nodes(self.dashboard_url, self.token())

    def node_processes(self, index: int) -> list[psutil.Process]:
        """The live processes of node ``index`` (0: the head, 1..N: the workers): its
        daemons and their descendants (Ray workers running tasks and trial actors)."""
        node = self._node(index)
        return session_processes([node.session_id], node.started_at - 5)

    def raylet_pid(self, index: int) -> int:
        """PID of the raylet of node ``index`` (0: the head, 1..N: the workers)."""
        for proc in self.node_processes(index):
            try:
                if proc.name() == "raylet":
                    return proc.pid
            except psutil.Error:
                continue
        raise RuntimeError(f"node {index} ({self._node(index).name}) has no live raylet")

    def kill_node(self, index: int) -> int:
        """SIGKILL the raylet of worker ``index`` (1..N) as a crashed node would; returns
        its PID.

        Its Ray workers (trial actors) lose their raylet and exit; the GCS marks the node
        dead once its heartbeats stop. The node's other daemons are left to ``stop``,
        which still kills everything of this cluster by PID.
        """
        if index < 1:
            raise ValueError(f"kill_node: index must be a worker (1..{len(self.workers)})")
        pid = self.raylet_pid(index)
        os.kill(pid, signal.SIGKILL)
        return pid

    def _node(self, index: int) -> NodeRecord:
        if not 0 <= index < len(self.nodes):
            raise ValueError(f"node index {index} out of range: 0 (head) to {len(self.nodes) - 1}")
        return self.nodes[index]

    def __enter__(self) -> LocalCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ state file
    def save(self) -> None:
        """Write the state file (``<dir>/cluster.json``)."""
        state = {
            "workers": [asdict(w) for w in self.workers],
            "head_cpus": self.head_cpus,
            "token_auth": self.token_auth,
            "object_store_mb": self.object_store_mb,
            "temp_root": self.temp_root,
            "nodes": [asdict(n) for n in self.nodes],
        }
        (self.root_dir / STATE_FILE).write_text(json.dumps(state, indent=2))

    @classmethod
    def load(cls, root_dir: str | os.PathLike[str]) -> LocalCluster:
        """The cluster recorded in ``root_dir`` (started earlier, maybe by another process)."""
        path = Path(root_dir).resolve() / STATE_FILE
        if not path.exists():
            raise FileNotFoundError(f"no cluster recorded in {path.parent}")
        state = json.loads(path.read_text())
        cluster = cls(
            root_dir,
            [WorkerSpec(**w) for w in state["workers"]],
            head_cpus=state["head_cpus"],
            token_auth=state["token_auth"],
            object_store_mb=state["object_store_mb"],
        )
        cluster.temp_root = state["temp_root"]
        cluster.nodes = [NodeRecord(**n) for n in state["nodes"]]
        return cluster

    # ------------------------------------------------------------------ internals
    def _node_env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
        env["RAY_AUTH_MODE"] = "token" if self.token_auth else "disabled"
        # On a busy machine the dashboard agent and Ray workers can take longer than the
        # raylet waits for them (it then crashes, or reaps the worker): wait longer.
        env["RAY_agent_register_timeout_ms"] = "120000"
        env["RAY_worker_register_timeout_seconds"] = "120"
        # Job entrypoints run `python ...`: the nodes' python is the one running this.
        env["PATH"] = os.pathsep.join((str(Path(sys.executable).parent), env.get("PATH", "")))
        if self.token_path:
            env["RAY_AUTH_TOKEN_PATH"] = str(self.token_path)
        return env

    def _start_node(self, name: str, *, head: bool, spec: WorkerSpec) -> None:
        """``ray start`` one node.

        On a busy machine the raylet can take longer to register with the GCS than the
        30 s ``ray start`` waits (hard-coded in Ray): ``ray start`` then fails, but the
        node's daemons keep starting. That failure is tolerated; ``_wait_alive`` decides.
        """
        try:
            self._start_node_once(name, head=head, spec=spec)
        except RuntimeError as err:
            if _STARTUP_TIMEOUT not in str(err):
                raise
            print(f"cluster.local: {name} is slow to register; waiting", file=sys.stderr)

    def _start_node_once(self, name: str, *, head: bool, spec: WorkerSpec) -> None:
        assert self.temp_root is not None
        temp_dir = os.path.join(self.temp_root, name[0] + name[-1])
        names = ("node_manager", "object_manager", "agent_http", "agent_grpc", "runtime_env_agent")
        ports = {key: free_port() for key in (*names, "metrics")}
        cmd = [_ray_cli(), "start", "--disable-usage-stats", "--node-ip-address", "127.0.0.1"]
        cmd += ["--temp-dir", temp_dir, "--num-cpus", str(spec.num_cpus)]
        cmd += ["--num-gpus", str(spec.num_gpus), "--resources", json.dumps(spec.resources)]
        cmd += ["--object-store-memory", str(self.object_store_mb * 1024 * 1024)]
        cmd += ["--node-manager-port", str(ports["node_manager"])]
        cmd += ["--object-manager-port", str(ports["object_manager"])]
        cmd += ["--dashboard-agent-listen-port", str(ports["agent_http"])]
        cmd += ["--dashboard-agent-grpc-port", str(ports["agent_grpc"])]
        cmd += ["--runtime-env-agent-port", str(ports["runtime_env_agent"])]
        cmd += ["--metrics-export-port", str(ports["metrics"])]
        if head:
            ports.update(gcs=free_port(), dashboard=free_port(), client=free_port())
            cmd += ["--head", "--port", str(ports["gcs"]), "--dashboard-host", "127.0.0.1"]
            cmd += ["--dashboard-port", str(ports["dashboard"])]
            cmd += ["--ray-client-server-port", str(ports["client"])]
        else:
            cmd += ["--address", self.gcs_address]
        log = self.root_dir / f"start-{name}.log"
        started_at = time.time()
        with open(log, "wb") as out:
            proc = subprocess.Popen(
                cmd, env=self._node_env(), stdout=out, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True,
            )  # fmt: skip
            # Record the node before waiting: a failed start is still cleaned up.
            self.nodes.append(NodeRecord(name, head, proc.pid, temp_dir, ports, started_at))
            self.save()
            try:
                code = proc.wait(timeout=self.start_timeout_s)
            except subprocess.TimeoutExpired:
                code = -1
        if code != 0:
            tail = log.read_text(errors="replace")[-1500:]
            raise RuntimeError(f"`ray start` of {name} failed ({code}); log {log}:\n{tail}")

    def _wait_alive(self, expected: int) -> None:
        deadline = time.monotonic() + self.start_timeout_s
        seen: object = None
        while time.monotonic() < deadline:
            try:
                nodes = self.status()
                seen = len([n for n in nodes if n["alive"]])
                if seen == expected:
                    return
            except OSError as err:  # dashboard not up yet
                seen = err
            time.sleep(0.5)
        raise RuntimeError(f"cluster not up after {self.start_timeout_s}s: {seen}")


def _ray_cli() -> str:
    candidate = Path(sys.executable).parent / "ray"
    return str(candidate) if candidate.exists() else shutil.which("ray") or "ray"


def _write_token(path: Path) -> None:
    import secrets

    path.write_text(secrets.token_hex(32))
    path.chmod(0o600)


def _list_nodes(dashboard_url: str, token: str | None) -> list[dict[str, Any]]:
    import requests

    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        resp = requests.get(f"{dashboard_url}/api/v0/nodes", headers=headers, timeout=10)
    except requests.RequestException as err:
        raise ConnectionError(f"dashboard {dashboard_url} unreachable: {err}") from err
    if resp.status_code != 200:
        raise ConnectionError(f"dashboard {dashboard_url} answered {resp.status_code}")
    nodes = []
    for entry in resp.json()["data"]["result"]["result"]:
        nodes.append(
            {
                "node_id": entry["node_id"],
                "alive": entry["state"] == "ALIVE",
                "head": bool(entry["is_head_node"]),
                "resources": entry.get("resources_total", {}),
            }
        )
    return nodes
