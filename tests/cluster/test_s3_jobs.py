"""A sweep submitted as a job to the 2-node loopback cluster, results on a moto S3 server.

The endpoint travels in the storage URI; the credentials only in the environment: the
test process holds them (``s3_server``), ``tune-jobs submit`` forwards them into the
job's runtime env, and Tune hands them on to the trial actors.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from cluster.local import LocalCluster
from tests.fixtures.s3 import KEY_ID, SECRET, assert_no_secret_in_bucket, bucket_keys, storage_uri
from tune_jobs.execution.jobs import STORAGE_ENV_VARS, SubmitRequest, storage_env
from tune_jobs.results.storage import join_storage

REPO = Path(__file__).resolve().parents[2]
DEMO = "tune_jobs/specs/demo.yaml"


def test_storage_credentials_are_forwarded_only_for_uri_storage() -> None:
    environ = {"AWS_ACCESS_KEY_ID": "k", "AWS_SECRET_ACCESS_KEY": "s", "HOME": "/h", "X": "1"}
    assert storage_env("s3://b/p?scheme=http", environ) == {
        "AWS_ACCESS_KEY_ID": "k",
        "AWS_SECRET_ACCESS_KEY": "s",
    }
    assert storage_env("/shared/results", environ) == {}
    assert set(STORAGE_ENV_VARS) >= {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"}
    on_s3 = SubmitRequest(spec=DEMO, storage="s3://b/p", working_dir=str(REPO), environ=environ)
    assert on_s3.runtime_env()["env_vars"] == {
        "AWS_ACCESS_KEY_ID": "k",
        "AWS_SECRET_ACCESS_KEY": "s",
    }
    shared = SubmitRequest(spec=DEMO, storage="/shared/r", working_dir=str(REPO), environ=environ)
    assert "env_vars" not in shared.runtime_env()
    resume = SubmitRequest(spec="", resume_run_dir="s3://b/p/demo", environ=environ)
    assert resume.runtime_env()["env_vars"]["AWS_SECRET_ACCESS_KEY"] == "s"
    # No --storage: the spec's own storage decides (demo.yaml: a local path).
    assert "env_vars" not in SubmitRequest(spec=DEMO, environ=environ).runtime_env()


def _cli(cluster: LocalCluster, *args: str, timeout: float = 240) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
    env.update(cluster.client_env())
    env.pop("RAY_ADDRESS")
    cmd = [sys.executable, "-m", "tune_jobs", *args]
    return subprocess.run(
        cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


@pytest.mark.slow
def test_submitted_smoke_sweep_writes_results_to_s3(
    local_cluster: LocalCluster, s3_server: str
) -> None:
    from analysis.load import load_metrics, load_run

    storage = storage_uri(s3_server, "jobs")
    assert KEY_ID not in storage and SECRET not in storage
    url = local_cluster.dashboard_url
    out = _cli(local_cluster, "submit", DEMO, "--smoke", "--storage", storage,
               "--name", "s3smoke", "--address", url, "--follow")  # fmt: skip
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert "forwarding AWS_ACCESS_KEY_ID" in out.stderr and SECRET not in out.stderr
    assert "tune-jobs: joined the Ray cluster at" in out.stdout + out.stderr

    run_uri = join_storage(storage, "s3smoke")
    run = load_run(run_uri)
    assert len(run.trials) == 2 and set(run.trials["status"]) == {"TERMINATED"}
    iterations = 2  # demo.yaml --smoke: two reports per trial
    for trial_id in run.trials["trial_id"]:
        seen = run.metrics.loc[run.metrics["trial_id"] == trial_id, "training_iteration"]
        assert sorted(seen) == list(range(1, iterations + 1)), trial_id
    raw = load_metrics(run_uri, clean=False)
    assert len(raw) == 2 * iterations  # nothing written twice
    names = {k.removeprefix("jobs/s3smoke/") for k in bucket_keys(s3_server, "jobs/s3smoke/")}
    assert {"spec.yaml", "tuner.pkl", "trials.parquet"} <= names
    assert any("/checkpoint_" in n for n in names)  # uploaded by the trial actors

    status = _cli(local_cluster, "status", run_uri, timeout=120)
    assert status.returncode == 0, status.stderr[-2000:]
    assert "trials: 2 (2 TERMINATED)" in status.stdout
    assert f"{len(raw)} rows written" in status.stdout
    assert_no_secret_in_bucket(s3_server, "jobs/")
