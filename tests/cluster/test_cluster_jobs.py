"""On a real 2-node loopback cluster: submit, follow, stop, resume, token auth (slow)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import requests

from cluster.local import LocalCluster

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]
DEMO = "tune_jobs/specs/demo.yaml"


def _env(cluster: LocalCluster, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
    env.update(cluster.client_env(), **extra)
    env.pop("RAY_ADDRESS")
    return env


def _cli(cluster: LocalCluster, *args: str, timeout: float = 150, **env: str):
    cmd = [sys.executable, "-m", "tune_jobs", *args]
    return subprocess.run(
        cmd, cwd=REPO, env=_env(cluster, **env), capture_output=True, text=True, timeout=timeout
    )


def _assert_complete(run_dir: Path, trials: int, iterations: int, once: bool = True) -> None:
    """trials.parquet has every trial TERMINATED; each trial's iterations are all in the
    clean view (``analysis.load_metrics``) exactly once.

    ``once=False`` after a restore: Tune restarts a trial from the checkpoint named in its
    last experiment snapshot, which can lag, so some iterations are reported again; the
    raw rows then repeat an iteration only under a newer ``attempt``.
    """
    from analysis.load import load_metrics

    table = pq.read_table(run_dir / "trials.parquet").to_pandas()
    assert len(table) == trials and set(table["status"]) == {"TERMINATED"}
    raw = pq.read_table(run_dir / "metrics").to_pandas()
    key = (
        ["trial_id", "training_iteration"]
        if once
        else ["trial_id", "attempt", "training_iteration"]
    )
    assert not raw[key].duplicated().any()
    clean = load_metrics(str(run_dir))
    for trial_id in table["trial_id"]:
        seen = clean.loc[clean["trial_id"] == trial_id, "training_iteration"]
        assert sorted(seen) == list(range(1, iterations + 1)), trial_id


def test_status_lists_both_nodes(local_cluster: LocalCluster) -> None:
    nodes = local_cluster.status()
    assert len(nodes) == 2 and all(n["alive"] for n in nodes)
    worker = next(n for n in nodes if not n["head"])
    assert worker["resources"]["GPU"] == 2 and worker["resources"]["accel_fake"] == 1


def test_token_is_required(local_cluster: LocalCluster, tmp_path: Path) -> None:
    url = f"{local_cluster.dashboard_url}/api/jobs/"
    assert requests.get(url, timeout=10).status_code == 401
    good = {"Authorization": f"Bearer {local_cluster.token()}"}
    assert requests.get(url, headers=good, timeout=10).status_code == 200
    # Ray's own client, in a process without any token: refused with 401.
    code = (
        "from ray.job_submission import JobSubmissionClient\n"
        f"JobSubmissionClient({local_cluster.dashboard_url!r}).list_jobs()\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
    env["HOME"] = str(tmp_path)
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert proc.returncode != 0 and "Authentication required" in proc.stderr
    # Our CLI with a wrong token: one line, exit 2.
    wrong = tmp_path / "wrong"
    wrong.write_text("not-the-token")
    out = _cli(local_cluster, "submit", "--stop", "x", "--address", local_cluster.dashboard_url,
               "--token-file", str(wrong))  # fmt: skip
    assert out.returncode == 2 and "refused the token" in out.stderr
    assert out.stderr.strip().count("\n") == 0


def test_submit_smoke_sweep_follow(local_cluster: LocalCluster, tmp_path: Path) -> None:
    storage = tmp_path / "results"
    out = _cli(local_cluster, "submit", DEMO, "--smoke", "--storage", str(storage),
               "--name", "smoke", "--address", local_cluster.dashboard_url, "--follow")  # fmt: skip
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert "submitted job tune-jobs-smoke-" in out.stdout
    # The job's driver joined the test's cluster; it started no Ray of its own.
    gcs_port = local_cluster.gcs_address.rsplit(":", 1)[1]
    assert "tune-jobs: joined the Ray cluster at" in out.stdout + out.stderr
    assert f":{gcs_port}" in out.stdout + out.stderr
    assert "Started a local Ray instance" not in out.stdout + out.stderr
    _assert_complete(storage / "smoke", trials=2, iterations=2)


def test_stopped_job_is_resumed(local_cluster: LocalCluster, tmp_path: Path) -> None:
    storage = tmp_path / "results"
    run_dir = storage / "long"
    url = local_cluster.dashboard_url
    out = _cli(local_cluster, "submit", DEMO, "--smoke", "--storage", str(storage),
               "--name", "long", "--address", url, "--set", "stop.max_iterations=80",
               "--set", "config.max_steps=4000")  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    job_id = out.stdout.split("submitted job ", 1)[1].split()[0]
    deadline = time.monotonic() + 90
    while not list((run_dir / "metrics").glob("part-*-*.parquet")):
        assert time.monotonic() < deadline, "the job wrote no results"
        time.sleep(0.5)
    out = _cli(local_cluster, "submit", "--stop", job_id, "--address", url, "--follow")
    assert out.returncode == 130, out.stdout[-2000:] + out.stderr[-2000:]
    statuses = set(pq.read_table(run_dir / "trials.parquet")["status"].to_pylist())
    assert statuses != {"TERMINATED"}
    out = _cli(local_cluster, "resume", str(run_dir), "--address", local_cluster.gcs_address)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    # Seen about every other run: the last snapshot names a checkpoint that
    # checkpoints_to_keep pruned before the stop; resume repairs those trials.
    print([line for line in out.stderr.splitlines() if " is gone" in line])
    _assert_complete(run_dir, trials=2, iterations=80, once=False)
