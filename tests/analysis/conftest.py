"""Fixtures for the analysis tests: real smoke runs (slow) and synthetic RUN_DIRs (fast).

``smoke_run_dir`` and ``lr_sweep_run_dir`` run a tiny sweep once per test session
through the real console script (``tune-jobs run ... --smoke``); tests using them are
``slow``. Both are RUN_DIR paths as ``str`` (what the CLI takes). ``synthetic_run_dir``
writes a RUN_DIR in the sink's exact layout with ``analysis.synthetic.synthesize_run``
(no Ray).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from analysis.synthetic import synthesize_run
from tests.conftest import cli_env

REPO = Path(__file__).resolve().parents[2]


def run_smoke(spec: str, storage: Path, *overrides: str) -> str:
    """Run ``spec`` with ``--smoke`` into ``storage`` via the CLI; return its RUN_DIR."""
    args = [sys.executable, "-m", "tune_jobs", "run", spec, "--smoke", "--storage", str(storage)]
    for override in overrides:
        args += ["--set", override]
    done = subprocess.run(
        args, cwd=REPO, capture_output=True, text=True, timeout=600, check=False, env=cli_env()
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    runs = [p for p in storage.iterdir() if p.is_dir()]
    assert len(runs) == 1, runs
    return str(runs[0])


@pytest.fixture(scope="session")
def smoke_run_dir(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The demo sweep (mlp, two variants, 3 results each) run with ``--smoke``."""
    return run_smoke("tune_jobs/specs/demo.yaml", tmp_path_factory.mktemp("smoke") / "results")


@pytest.fixture(scope="session")
def lr_sweep_run_dir(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The lm learning-rate sweep's CPU form run with ``--smoke`` (two learning rates;
    ``lm_lr_sweep.yaml`` itself asks for a GPU per trial)."""
    storage = tmp_path_factory.mktemp("lr_sweep") / "results"
    return run_smoke("tune_jobs/specs/lm_lr_sweep_cpu.yaml", storage)


@pytest.fixture
def synthetic_run_dir(tmp_path: Path) -> Path:
    """20 trials x 30 results in the real layout (some diverge; see synthesize_run)."""
    run_dir = tmp_path / "synthetic"
    synthesize_run(str(run_dir), n_trials=20, n_results=30, seed=1)
    return run_dir
