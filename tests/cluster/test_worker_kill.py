"""A worker node SIGKILLed in the middle of a sweep, on a real 3-node loopback cluster (slow).

Its own cluster (the shared ``local_cluster`` fixture must not lose a node): a head with
no CPUs (only the driver runs there) and two workers with 2 CPUs each, so the 4 trials
run 2 per worker. Once a trial on worker 1 has checkpointed, the worker's raylet is
SIGKILLed (``LocalCluster.kill_node``). The sweep must still finish: every trial
TERMINATED, the trials of the dead node restarted on the live one from their last
checkpoint (not from iteration 1), and the clean metrics view holding every iteration of
every trial exactly once.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from cluster.local import LocalCluster, WorkerSpec
from cluster.procs import session_processes

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]
N = 14  # iterations per trial
SLEEP_S = 0.4  # per iteration: a trial runs ~6 s, long enough to be caught mid-run


def value_at(x: float, iteration: int) -> float:
    """The score a trial reports at ``iteration``."""
    return round(x * 100 + iteration, 6)


def tracked_counter(config: dict[str, Any]) -> None:
    """Reports ``score = value_at(x, it)`` for it = 1..n with a checkpoint every iteration.

    Each attempt keeps a file ``<log_dir>/x<x>-pid<pid>-from<k>`` (``k``: the checkpoint
    iteration it restored, 0 on a fresh start) holding JSON ``{"t0", "last"}``: when it
    started and the last iteration whose report (and checkpoint) Tune has taken. No
    torch: worker processes start faster without it.
    """
    import tempfile

    from ray import tune

    n, x = int(config["n"]), float(config["x"])
    start = 0
    checkpoint = tune.get_checkpoint()
    if checkpoint is not None:
        with checkpoint.as_directory() as path:
            start = int(json.loads(Path(path, "state.json").read_text())["iteration"])
    log = Path(config["log_dir"], f"x{x}-pid{os.getpid()}-from{start}")
    record = {"t0": time.time(), "last": start}
    log.write_text(json.dumps(record))
    for it in range(start + 1, n + 1):
        time.sleep(float(config["sleep_s"]))
        with tempfile.TemporaryDirectory() as tmp:
            Path(tmp, "state.json").write_text(json.dumps({"iteration": it}))
            tune.report({"score": value_at(x, it)}, checkpoint=tune.Checkpoint.from_directory(tmp))
        record["last"] = it
        log.write_text(json.dumps(record))


@pytest.fixture(scope="module")
def three_nodes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    """Head (0 CPUs) + two workers (2 CPUs each); none of its processes left afterwards."""
    root = tmp_path_factory.mktemp("wk")
    workers = [WorkerSpec(num_cpus=2), WorkerSpec(num_cpus=2)]
    # A long start timeout: on a busy CI machine nodes can take a minute to come up.
    cluster = LocalCluster(root, workers, head_cpus=0, start_timeout_s=180).start()
    sessions = [n.session_id for n in cluster.nodes]
    started = min(n.started_at for n in cluster.nodes) - 5
    yield cluster
    cluster.stop()
    time.sleep(0.5)
    left = session_processes(sessions, started, ("RAY_AUTH_TOKEN_PATH", str(cluster.token_path)))
    assert not left, f"cluster processes left running: {[p.pid for p in left]}"


def _attempts(log_dir: Path) -> list[dict[str, Any]]:
    """Every attempt's log file as ``{x, pid, start, t0, last}``."""
    out = []
    for path in log_dir.iterdir():
        x, pid, start = path.name.split("-")
        try:
            record = json.loads(path.read_text())
        except ValueError:  # caught mid-write
            continue
        out.append({"x": float(x[1:]), "pid": int(pid[3:]), "start": int(start[4:]), **record})
    return out


def _first_failure_at(driver_log: str) -> float:
    """When the driver logged its first trial failure (epoch seconds; NaN if it did not)."""
    from datetime import datetime

    for line in driver_log.splitlines():
        if "Trial task failed" in line:
            stamp = line.split("\t", 1)[0].strip()[-23:]
            return datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S,%f").timestamp()
    return float("nan")


def _pids_under(cluster: LocalCluster, index: int) -> set[int]:
    return {p.pid for p in cluster.node_processes(index)}


def test_worker_killed_mid_sweep_restores_trials_from_checkpoints(
    three_nodes: LocalCluster, tmp_path: Path
) -> None:
    from analysis import load_metrics, load_trials

    log_dir = tmp_path / "attempts"
    log_dir.mkdir()
    spec = {
        "name": "wkill",
        "trainable": f"{Path(__file__).relative_to(REPO)}:tracked_counter",
        "metric": "score",
        "mode": "max",
        "config": {"n": N, "sleep_s": SLEEP_S, "log_dir": str(log_dir)},
        "space": {"x": {"grid": [0.0, 1.0, 2.0, 3.0]}},
        "search": {"algorithm": "grid"},
        "resources": {"cpu": 1},
        "max_failures": 3,
        "storage": str(tmp_path / "results"),
    }
    spec_path = tmp_path / "wkill.yaml"
    spec_path.write_text(yaml.safe_dump(spec, sort_keys=False))
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
    env.update(three_nodes.client_env())
    env.pop("RAY_ADDRESS")
    cmd = [sys.executable, "-m", "tune_jobs", "run", str(spec_path)]
    cmd += ["--address", three_nodes.gcs_address]
    out_path = tmp_path / "driver.log"
    with open(out_path, "wb") as out:
        driver = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        # Wait until a trial on worker 1 has checkpointed twice.
        deadline = time.monotonic() + 180
        while True:
            on_w1 = _pids_under(three_nodes, 1)
            victims = [a for a in _attempts(log_dir) if a["pid"] in on_w1 and a["last"] >= 2]
            if victims:
                break
            assert driver.poll() is None, out_path.read_text()[-3000:]
            assert time.monotonic() < deadline, "no trial checkpointed on worker 1"
            time.sleep(0.2)
        on_w1 = _pids_under(three_nodes, 1)
        raylet = three_nodes.kill_node(1)
        killed_at = time.time()
        code = driver.wait(timeout=300)
    finally:
        if driver.poll() is None:
            driver.kill()
            driver.wait()
    log = out_path.read_text(errors="replace")
    assert code == 0, log[-4000:]
    assert raylet in on_w1

    trials = load_trials(str(tmp_path / "results" / "wkill")).set_index("config/x")
    assert len(trials) == 4 and set(trials["status"]) == {"TERMINATED"}, trials["status"]

    attempts = _attempts(log_dir)
    # Attempts cut short on worker 1 (one that had already finished needs no restart).
    dead = [a for a in attempts if a["pid"] in on_w1 and a["last"] < N]
    assert dead, attempts
    restarts = []
    for old in dead:
        x = old["x"]
        later = [a for a in attempts if a["x"] == x and a["t0"] > old["t0"]]
        assert later, f"trial x={x} of the dead node never restarted: {attempts}"
        new = min(later, key=lambda a: a["t0"])
        # Restored from its last checkpoint (the one Tune had taken when the node died,
        # or the next one if its result was in flight), not from iteration 1.
        assert new["start"] >= max(old["last"], 1), (old, new)
        assert new["start"] <= old["last"] + 1, (old, new)
        assert new["pid"] not in on_w1 and new["last"] == N
        assert trials.loc[x, "num_failures"] >= 1
        restarts.append(round(new["t0"] - killed_at, 1))
    for x in set(trials.index) - {a["x"] for a in dead}:
        starts = sorted((a["t0"], a["start"]) for a in attempts if a["x"] == x)
        if trials.loc[x, "num_failures"] == 0:  # ran on the live worker: once, undisturbed
            assert [s for _, s in starts] == [0], (x, starts)
        else:  # placed on worker 1 but killed before its function ran: starts afresh
            assert [s for _, s in starts] == [0] and starts[0][0] > killed_at, (x, starts)
    noticed = _first_failure_at(log)
    print(
        f"\nworker 1's raylet (pid {raylet}) killed; Tune saw the first trial fail "
        f"{noticed - killed_at:.1f} s later; trials restored {restarts} s after the kill"
    )

    raw = load_metrics(str(tmp_path / "results" / "wkill"), clean=False)
    assert not raw.duplicated(["trial_id", "attempt", "training_iteration"]).any()
    by_x = dict(zip(trials["trial_id"], trials.index, strict=True))
    for old in dead:  # the restored attempt's rows start right after its checkpoint
        rows = raw[raw["trial_id"] == trials.loc[old["x"], "trial_id"]]
        newest = rows[rows["attempt"] == rows["attempt"].max()]
        assert rows["attempt"].max() >= 1 and newest["training_iteration"].min() > 1
    clean = load_metrics(str(tmp_path / "results" / "wkill"))
    assert len(clean) == 4 * N
    assert not clean.duplicated(["trial_id", "training_iteration"]).any()
    for tid, group in clean.groupby("trial_id"):
        assert list(group["training_iteration"]) == list(range(1, N + 1)), tid
        x = by_x[tid]
        assert group["score"].tolist() == pytest.approx([value_at(x, i) for i in range(1, N + 1)])
