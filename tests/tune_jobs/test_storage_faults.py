"""Storage faults: unwritable at start, and failing mid-run then coming back.

"Comes back" is modelled with moto's ``ThreadedMotoServer`` in this test process: its
buckets live in this process's memory (moto's backends), not in the server thread, so
stopping the server makes the endpoint refuse every connection (what an S3 outage looks
like to the driver: pyarrow retries, then fails) and starting a new server on the same
port serves the very same objects again: the storage is back with what it held.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import REPO, write_spec
from tune_jobs.results.storage import join_storage

BUCKET = "flaky-results"


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


def test_unwritable_local_storage_is_one_line_exit_2_before_any_trial(tmp_path: Path) -> None:
    """A regular file where a directory must go: refused even to root (chmod is not)."""
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    storage = blocker / "results"
    result = _cli("run", "tune_jobs/specs/demo.yaml", "--smoke", "--storage", str(storage))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr[-2000:]
    assert lines[0].startswith(f"tune-jobs: error: {storage}: storage is not writable")
    assert "Trial" not in result.stdout  # nothing launched
    assert blocker.read_text() == "not a directory"


class FlakyS3:
    """A moto S3 endpoint on a fixed loopback port that can go down and come back."""

    def __init__(self) -> None:
        from moto.server import ThreadedMotoServer

        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.endpoint = f"{host}:{port}"
        self._port = port

    def down(self) -> None:
        """Stop serving: connections to the endpoint are refused."""
        self._server.stop()

    def up(self) -> None:
        """Serve again on the same port, with the objects held before."""
        from moto.server import ThreadedMotoServer

        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=self._port, verbose=False)
        self._server.start()

    def client(self):
        import boto3

        return boto3.client("s3", endpoint_url=f"http://{self.endpoint}", region_name="us-east-1")

    def keys(self, prefix: str) -> list[str]:
        paginator = self.client().get_paginator("list_objects_v2")
        pages = paginator.paginate(Bucket=BUCKET, Prefix=prefix)
        return [obj["Key"] for page in pages for obj in page.get("Contents", [])]


@pytest.fixture
def flaky_s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[FlakyS3]:
    pytest.importorskip("moto.server")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAFLAKYSTORAGE0001")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "flaky-storage-secret")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    s3 = FlakyS3()
    s3.client().create_bucket(Bucket=BUCKET)
    try:
        yield s3
    finally:
        s3.down()


@pytest.mark.slow
def test_storage_failing_mid_run_then_back_resumes_every_result_once(
    flaky_s3: FlakyS3, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    import pyarrow.parquet as pq

    from analysis.load import load_metrics, load_trials

    # Short: Ray puts its session dir (AF_UNIX sockets, <= 107 bytes) under TMPDIR too.
    staging = Path(tempfile.mkdtemp(prefix="tjsf-", dir="/tmp"))
    request.addfinalizer(lambda: shutil.rmtree(staging, ignore_errors=True))
    env = {"TMPDIR": str(staging)}
    n = 12
    storage = f"s3://{BUCKET}/runs?endpoint_override={flaky_s3.endpoint}&scheme=http"
    spec = write_spec(
        tmp_path,
        {
            "name": "outage",
            "trainable": "tests/fixtures/user_trainables.py:counter",
            "metric": "score",
            "config": {"n": n, "sleep_s": 0.5, "ckpt_every": 2},
            "space": {"x": {"grid": [0.0, 1.0]}},
            "search": {"algorithm": "grid"},
            "storage": storage,
        },
    )
    run_uri = join_storage(storage, "outage")
    driver = subprocess.Popen(
        [sys.executable, "-m", "tune_jobs", "run", str(spec)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **env},
    )
    request.addfinalizer(lambda: driver.poll() is None and driver.send_signal(signal.SIGKILL))
    deadline = time.time() + 240
    while time.time() < deadline and _rows(run_uri) < 2:
        assert driver.poll() is None, driver.communicate()[1][-3000:]
        time.sleep(0.5)
    flaky_s3.down()
    stdout, stderr = driver.communicate(timeout=240)

    # One clear line naming the storage and the way on (Ray's workers may still log after
    # it); the driver did not die of an uncaught exception (exit 1 with a traceback from
    # the top). Tune itself may log the failed snapshot with its stack: that is Ray's log.
    assert driver.returncode == 2, stderr[-3000:]
    assert 'Traceback (most recent call last):\n  File "<frozen runpy>"' not in stderr
    assert "sweep finished" not in stdout
    errors = [line for line in stderr.splitlines() if line.startswith("tune-jobs: error:")]
    assert len(errors) == 1, stderr[-3000:]
    assert errors[0].startswith(f"tune-jobs: error: {storage}: storage failed during the sweep")
    assert errors[0].endswith(f"continue with: tune-jobs resume {run_uri}")

    # Back: what was written before the outage is intact (every Parquet file readable).
    flaky_s3.up()
    keys = flaky_s3.keys("runs/outage/")
    parts = [k for k in keys if k.startswith("runs/outage/metrics/") and k.endswith(".parquet")]
    assert parts and "runs/outage/trials.parquet" in keys
    client = flaky_s3.client()
    for key in [*parts, "runs/outage/trials.parquet"]:
        body = client.get_object(Bucket=BUCKET, Key=key)["Body"].read()
        pq.read_table(pa_buffer(body))  # raises on a torn or partial file
    written = load_metrics(run_uri, clean=False)
    assert len(written) >= 2 and written["training_iteration"].max() < n

    resumed = _cli("resume", run_uri, env=env)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "sweep finished: 2 TERMINATED" in resumed.stdout
    assert set(load_trials(run_uri)["status"]) == {"TERMINATED"}
    clean = load_metrics(run_uri)
    for _, got in clean.groupby("trial_id"):
        assert sorted(got["training_iteration"]) == list(range(1, n + 1))
    raw = load_metrics(run_uri, clean=False)
    assert not raw.duplicated(["trial_id", "attempt", "training_iteration"]).any()


def _rows(run_uri: str) -> int:
    from analysis.load import load_metrics

    try:
        return len(load_metrics(run_uri, clean=False))
    except Exception:  # nothing written yet
        return 0


def pa_buffer(body: bytes):
    import pyarrow as pa

    return pa.BufferReader(body)
