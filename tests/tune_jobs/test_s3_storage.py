"""Results on S3-compatible storage: a real moto S3 server on loopback, started by the test.

Credentials come only from the environment; planted values must never land in the
bucket or in local staging files. The server fixture (``s3_server``) lives in
tests/fixtures/s3.py, shared with the cluster tests.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.fixtures.s3 import KEY_ID, SECRET, assert_no_secret_in_bucket
from tests.fixtures.s3 import bucket_keys as _keys
from tests.fixtures.s3 import storage_uri as _storage
from tune_jobs.errors import UserError
from tune_jobs.results.storage import join_storage, split_storage

REPO = Path(__file__).resolve().parents[2]


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tune_jobs", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, **(env or {})},
    )


def test_join_storage_keeps_the_query() -> None:
    uri = "s3://b/runs?endpoint_override=127.0.0.1:9&scheme=http"
    assert join_storage(uri, "demo") == "s3://b/runs/demo?endpoint_override=127.0.0.1:9&scheme=http"
    assert join_storage("s3://b?scheme=http", "x", "y") == "s3://b/x/y?scheme=http"
    assert join_storage("/tmp/a", "b") == "/tmp/a/b"


@pytest.mark.parametrize("param", ["secret_key", "access_key", "session_token"])
def test_credentials_in_the_uri_are_refused(param: str) -> None:
    with pytest.raises(UserError, match=f"carries credentials \\({param}\\)"):
        split_storage(f"s3://b/runs?endpoint_override=127.0.0.1:9&{param}=x")


def test_credentials_in_the_uri_exit_2_before_anything_runs(tmp_path: Path) -> None:
    result = _cli(
        "run",
        "tune_jobs/specs/demo.yaml",
        "--smoke",
        "--storage",
        "s3://b/runs?endpoint_override=127.0.0.1:9&scheme=http&secret_key=hunter2",
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "environment" in lines[0]
    assert "hunter2" not in result.stderr


@pytest.mark.slow
def test_unreachable_storage_is_one_line_exit_2(s3_server: str) -> None:
    dead = _storage("127.0.0.1:1", "runs")  # port 1: nothing listens
    result = _cli("run", "tune_jobs/specs/demo.yaml", "--smoke", "--storage", dead)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "storage is not reachable" in lines[0], result.stderr[-2000:]
    assert "Trial" not in result.stdout  # nothing launched


@pytest.mark.slow
def test_sweep_with_results_in_s3(s3_server: str, request: pytest.FixtureRequest) -> None:
    from analysis.load import load_metrics, load_trials

    # Short: Ray puts its session dir (AF_UNIX sockets, <= 107 bytes) under TMPDIR too.
    staging = Path(tempfile.mkdtemp(prefix="tjs3-", dir="/tmp"))
    request.addfinalizer(lambda: shutil.rmtree(staging, ignore_errors=True))
    env = {"TMPDIR": str(staging)}
    storage = _storage(s3_server, "runs")
    run = _cli(
        "run",
        "tune_jobs/specs/demo.yaml",
        "--smoke",
        "--storage",
        storage,
        "--set",
        "config.max_steps=40",
        "--set",
        "config.report_every=10",
        env=env,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert "sweep finished: 2 TERMINATED" in run.stdout
    run_uri = join_storage(storage, "demo")
    assert run_uri in run.stdout

    keys = _keys(s3_server, "runs/demo/")
    names = {k.removeprefix("runs/demo/") for k in keys}
    assert {"spec.yaml", "tuner.pkl", "trials.parquet"} <= names
    assert any(n.startswith("experiment_state-") for n in names)
    assert len([n for n in names if re.search(r"/checkpoint_\d+/checkpoint\.pt$", n)]) >= 2
    assert len([n for n in names if re.match(r"tensorboard/[^/]+/events\.out\.tfevents", n)]) == 2

    trials = load_trials(run_uri)
    assert sorted(trials["status"]) == ["TERMINATED", "TERMINATED"]
    metrics = load_metrics(run_uri, clean=False)
    assert len(metrics) == 6  # 2 trials x 3 results, each exactly once
    assert not metrics.duplicated(["trial_id", "training_iteration"]).any()

    status = _cli("status", run_uri)
    assert status.returncode == 0, status.stderr
    assert "trials: 2 (2 TERMINATED)" in status.stdout
    assert "6 rows written" in status.stdout

    resumed = _cli("resume", run_uri, env=env)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "sweep finished: 2 TERMINATED" in resumed.stdout
    assert len(load_metrics(run_uri, clean=False)) == 6  # nothing re-run or re-written

    # The TensorBoard staging directory is cleaned up; no local file of ours holds the
    # credentials. Ray's own session dir (TMPDIR/ray) is left out: Ray Tune copies
    # AWS_* variables into each trial's runtime_env and Ray's runtime_env_agent.log
    # prints them (docs/storage.md: use a profile or an instance role on clusters).
    assert not list(staging.glob("tune-jobs-tb-*"))
    for path in staging.rglob("*"):
        if path.is_file() and "ray" not in path.relative_to(staging).parts[:1]:
            data = path.read_bytes()
            assert SECRET.encode() not in data and KEY_ID.encode() not in data, path
    assert_no_secret_in_bucket(s3_server, "runs/")
