"""`tune-jobs run --address` joins an existing Ray cluster instead of starting one."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import psutil
import pytest

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def ray_head(tmp_path: Path) -> Iterator[str]:
    """A real head node from `ray start` with its own temp dir; stopped by PID."""
    temp_dir = Path("/tmp") / f"tj-head-{os.getpid()}-{time.monotonic_ns()}"
    port = _free_port()
    env = {**os.environ, "RAY_AUTH_MODE": "disabled"}
    subprocess.run(
        [
            sys.executable,
            "-m",
            "ray.scripts.scripts",
            "start",
            "--head",
            f"--port={port}",
            "--num-cpus=2",
            "--include-dashboard=false",
            f"--temp-dir={temp_dir}",
            "--disable-usage-stats",
        ],
        check=True,
        capture_output=True,
        env=env,
        timeout=120,
    )
    try:
        yield f"127.0.0.1:{port}"
    finally:
        for proc in psutil.process_iter(["cmdline"]):
            with contextlib.suppress(psutil.Error):
                if any(str(temp_dir) in part for part in proc.info["cmdline"] or []):
                    proc.kill()


def test_run_on_existing_cluster(ray_head: str, tmp_path: Path) -> None:
    env = {**os.environ, "RAY_AUTH_MODE": "disabled"}
    env.pop("RAY_ADDRESS", None)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "tune_jobs",
            "run",
            "tune_jobs/specs/demo.yaml",
            "--smoke",
            "--storage",
            str(tmp_path),
            "--address",
            ray_head,
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    log = result.stdout + result.stderr
    assert "Connecting to existing Ray cluster" in log
    assert "Started a local Ray instance" not in log
    trials = pd.read_parquet(tmp_path / "demo" / "trials.parquet")
    assert set(trials["status"]) == {"TERMINATED"}
