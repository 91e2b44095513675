"""Shared fixtures: one local Ray for the in-process integration tests."""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

# Shared fixtures defined in modules of their own (``s3_server``: a moto S3 server).
pytest_plugins = ["tests.fixtures.s3"]

_cli_cluster: list = []  # the shared Ray of ``cli_env`` once started (a LocalCluster)


def cli_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """Environment for a ``tune-jobs`` subprocess that joins one real single-node Ray
    (``cluster/local/``: 2 CPUs, token auth) shared by the whole test session.

    A CLI run that starts its own embedded Ray spends about 5 s on it; one that joins
    a running Ray does not (measured: 15 s vs 10 s for a 2-trial sweep). The cluster is
    started on first use and stopped at the end of the session (``_stop_cli_cluster``).
    Drivers a test kills on purpose start their own Ray instead, so the kill takes
    their Ray with them as a machine crash would.
    """
    if not _cli_cluster:
        import tempfile

        from cluster.local import LocalCluster

        root = tempfile.mkdtemp(prefix="tjcli-", dir="/tmp")  # short: AF_UNIX paths
        _cli_cluster.append(LocalCluster(root, [], head_cpus=2, object_store_mb=200).start())
    return {**os.environ, **_cli_cluster[0].client_env(), **(extra or {})}


@pytest.fixture(scope="session", autouse=True)
def _stop_cli_cluster() -> Iterator[None]:
    yield
    if _cli_cluster:
        cluster = _cli_cluster.pop()
        cluster.stop()
        shutil.rmtree(cluster.root_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def ray_local() -> Iterator[None]:
    """A local Ray with 2 CPUs and 2 fake GPUs, shared by in-process sweep tests."""
    import ray

    os.chdir(REPO)
    ray.init(
        num_cpus=2,
        num_gpus=2,  # fake: tests the scheduling and CUDA_VISIBLE_DEVICES plumbing
        include_dashboard=False,
        runtime_env={"env_vars": {"PYTHONPATH": str(REPO)}},
        log_to_driver=False,
    )
    yield
    ray.shutdown()


def write_spec(directory: Path, spec: dict) -> Path:
    """Write ``spec`` as YAML into ``directory`` and return its path."""
    import yaml

    path = directory / f"{spec['name']}.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def run_spec_in_process(directory: Path, spec: dict, overrides: list[str] | None = None):
    """Validate and run ``spec`` on the already-started local Ray; returns the outcome."""
    from tune_jobs.execution.tuner import absolute_storage, run_sweep
    from tune_jobs.plan.run_plan import make_plan
    from tune_jobs.spec import load_spec

    spec = {"storage": str(directory / "results"), **spec}
    path = write_spec(directory, spec)
    loaded = load_spec(path, overrides or [])
    loaded = dataclasses.replace(loaded, storage=absolute_storage(loaded.storage))
    return run_sweep(make_plan(loaded, str(path)))


@pytest.fixture
def ray_started(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Records any attempt to start or join Ray during the test (empty list: none)."""
    import ray

    import tune_jobs.execution.tuner

    calls: list[str] = []
    monkeypatch.setattr(ray, "init", lambda *a, **k: calls.append("ray.init"))
    monkeypatch.setattr(
        tune_jobs.execution.tuner, "init_ray", lambda *a, **k: calls.append("init_ray")
    )
    return calls


def resume_cli(run_dir: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    """``tune-jobs resume RUN_DIR`` as a new driver process (output captured)."""
    return subprocess.run(
        [sys.executable, "-m", "tune_jobs", "resume", str(run_dir)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env=cli_env(),
    )
