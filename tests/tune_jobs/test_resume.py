"""A driver killed mid-sweep loses nothing: ``tune-jobs resume`` completes the run."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import psutil
import pytest

from analysis import load_metrics, load_trials
from tests.conftest import resume_cli, write_spec
from tests.fixtures.user_trainables import value_at

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def _rows(metrics_dir: Path) -> int:
    try:
        return len(pd.read_parquet(metrics_dir))
    except (OSError, ValueError, KeyError):
        return 0


# SIGKILL is covered by test_driver_kills.py (three kills) and test_resume_race.py; the
# same test with SIGKILL cost CI 40 s for nothing more.
@pytest.mark.parametrize("sig", [signal.SIGINT], ids=["ctrl-c"])
def test_driver_stopped_then_resume_completes_exactly_once(
    tmp_path: Path, sig: signal.Signals
) -> None:
    n = 16
    spec = write_spec(
        tmp_path,
        {
            "name": "killed",
            "trainable": "tests/fixtures/user_trainables.py:counter",
            "metric": "score",
            "config": {"n": n, "sleep_s": 0.4, "ckpt_every": 2},
            "space": {"x": {"grid": [0.0, 1.0]}},
            "search": {"algorithm": "grid"},
            "storage": str(tmp_path / "results"),
        },
    )
    run_dir = tmp_path / "results" / "killed"
    driver = subprocess.Popen(
        [sys.executable, "-m", "tune_jobs", "run", str(spec)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    children: list[psutil.Process] = []
    try:
        deadline = time.time() + 180
        while time.time() < deadline and _rows(run_dir / "metrics") < 8:
            assert driver.poll() is None, "the sweep ended before it could be killed"
            time.sleep(0.5)
        assert _rows(run_dir / "metrics") >= 8
        children = psutil.Process(driver.pid).children(recursive=True)
        driver.send_signal(sig)
        stdout, _ = driver.communicate(timeout=120)
    finally:
        # The embedded Ray outlives a SIGKILLed driver: stop exactly its processes.
        for child in children:
            with contextlib.suppress(psutil.NoSuchProcess):
                child.kill()
    before = load_metrics(str(run_dir), clean=False)
    assert before["training_iteration"].max() < n  # stopped mid-run
    if sig == signal.SIGINT:
        # Ctrl-C: trials stopped, state saved, and the user is told how to resume.
        assert driver.returncode == 130
        assert f"tune-jobs resume {run_dir}" in stdout
        assert set(load_trials(str(run_dir))["status"]) == {"INTERRUPTED"}

    resumed = resume_cli(run_dir)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "sweep finished: 2 TERMINATED" in resumed.stdout

    trials = load_trials(str(run_dir)).set_index("trial_id")
    assert set(trials["status"]) == {"TERMINATED"}
    clean = load_metrics(str(run_dir))
    for tid, row in trials.iterrows():
        got = clean[clean["trial_id"] == tid].sort_values("training_iteration")
        assert got["training_iteration"].tolist() == list(range(1, n + 1))
        assert got["score"].tolist() == pytest.approx(
            [value_at(row["config/x"], i) for i in range(1, n + 1)]
        )
    raw = load_metrics(str(run_dir), clean=False)
    # Rows written before the kill are still there, and the resumed attempt is newer.
    assert len(raw) >= len(before)
    assert raw.groupby("trial_id")["attempt"].max().min() >= 1
    assert not raw.duplicated(["trial_id", "attempt", "training_iteration"]).any()


def _snapshot_checkpoints(run_dir: Path) -> dict[str, list[Path]]:
    """Per trial, the checkpoints the newest experiment snapshot records, oldest first
    (the last one is what ``Tuner.restore`` restores from)."""
    import logging

    from ray.tune import ExperimentAnalysis

    # Tune's own loggers are off in tune-jobs runs: no per-trial metrics files to fetch.
    logging.getLogger("ray.tune.analysis.experiment_analysis").setLevel(logging.ERROR)
    analysis = ExperimentAnalysis(str(run_dir))
    out: dict[str, list[Path]] = {}
    for trial in analysis.trials:
        manager = trial.run_metadata.checkpoint_manager
        results = sorted(
            manager.best_checkpoint_results, key=lambda r: r.metrics["training_iteration"]
        )
        assert results[-1].checkpoint.path == manager.latest_checkpoint_result.checkpoint.path
        out[trial.trial_id] = [Path(r.checkpoint.path) for r in results]
    return out


def test_resume_repairs_trials_whose_snapshot_checkpoint_was_deleted(tmp_path: Path) -> None:
    """The snapshot names checkpoints that are gone (as when ``checkpoints_to_keep``
    pruned them after the snapshot and then the driver was killed): resume still
    completes every trial, each iteration exactly once in the clean view.

    Trial A loses the checkpoint the snapshot restores from (an older recorded one is
    left: resumed from it); trial B loses every checkpoint (restarted from scratch).
    """
    n = 40
    spec = write_spec(
        tmp_path,
        {
            "name": "pruned",
            "trainable": "tests/fixtures/user_trainables.py:counter",
            "metric": "score",
            "config": {"n": n, "sleep_s": 0.25, "ckpt_every": 2},
            "space": {"x": {"grid": [0.0, 1.0]}},
            "search": {"algorithm": "grid"},
            # Tune prunes nothing here: the test deletes exactly what it means to.
            "checkpoints_to_keep": None,
            "storage": str(tmp_path / "results"),
        },
    )
    run_dir = tmp_path / "results" / "pruned"
    driver = subprocess.Popen(
        [sys.executable, "-m", "tune_jobs", "run", str(spec)],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "TUNE_GLOBAL_CHECKPOINT_S": "1"},  # a snapshot every second
    )
    children: list[psutil.Process] = []
    try:
        deadline = time.time() + 240
        recorded: dict[str, list[Path]] = {}
        # Wait until the snapshot records two checkpoints of each trial.
        while time.time() < deadline:
            assert driver.poll() is None, "the sweep ended before it could be killed"
            if _rows(run_dir / "metrics") >= 8:
                with contextlib.suppress(Exception):
                    recorded = _snapshot_checkpoints(run_dir)
                if len(recorded) == 2 and all(len(c) >= 2 for c in recorded.values()):
                    break
            time.sleep(0.5)
        children = psutil.Process(driver.pid).children(recursive=True)
        driver.kill()
        driver.wait(timeout=60)
    finally:
        for child in children:
            with contextlib.suppress(psutil.NoSuchProcess):
                child.kill()
    recorded = _snapshot_checkpoints(run_dir)
    assert len(recorded) == 2 and all(len(c) >= 2 for c in recorded.values()), recorded
    (a, a_ckpts), (b, b_ckpts) = sorted(recorded.items())
    shutil.rmtree(a_ckpts[-1])  # what the snapshot restores A from
    for ckpt in (run_dir / b).glob("checkpoint_*"):  # every checkpoint of B
        shutil.rmtree(ckpt)
    assert a_ckpts[0].is_dir() and not a_ckpts[-1].exists()
    assert load_metrics(str(run_dir), clean=False)["training_iteration"].max() < n

    resumed = resume_cli(run_dir)
    assert resumed.returncode == 0, resumed.stdout[-3000:] + resumed.stderr[-3000:]
    assert "sweep finished: 2 TERMINATED" in resumed.stdout
    assert f"trial {a}: its checkpoint {a_ckpts[-1]} is gone; resuming from" in resumed.stderr
    assert f"trial {b}: its checkpoint {b_ckpts[-1]} is gone and no older" in resumed.stderr

    trials = load_trials(str(run_dir)).set_index("trial_id")
    assert set(trials["status"]) == {"TERMINATED"}
    clean = load_metrics(str(run_dir))
    assert not clean.duplicated(["trial_id", "training_iteration"]).any()
    for tid, row in trials.iterrows():
        got = clean[clean["trial_id"] == tid].sort_values("training_iteration")
        assert got["training_iteration"].tolist() == list(range(1, n + 1)), tid
        assert got["score"].tolist() == pytest.approx(
            [value_at(row["config/x"], i) for i in range(1, n + 1)]
        )
    raw = load_metrics(str(run_dir), clean=False)
    assert not raw.duplicated(["trial_id", "attempt", "training_iteration"]).any()
    # B restarted from iteration 1 under a newer attempt.
    restarted = raw[(raw["trial_id"] == b) & (raw["training_iteration"] == 1)]
    assert restarted["attempt"].nunique() == 2


def test_repair_points_at_the_newest_existing_checkpoint_or_restarts(tmp_path: Path) -> None:
    """``repair_missing_checkpoints`` on real Tune trials (no Ray needed); also pins the
    private Tune bookkeeping it relies on (``run_metadata.checkpoint_manager``)."""
    from ray.train import Checkpoint
    from ray.train._internal.checkpoint_manager import _CheckpointManager
    from ray.train._internal.session import _TrainingResult
    from ray.tune.experiment import Trial

    from tune_jobs.execution.setup import repair_missing_checkpoints

    def trial_with(name: str, iterations: list[int]) -> Trial:
        trial = Trial("__fake", stub=True, trial_id=name)
        manager = trial.run_metadata.checkpoint_manager
        assert isinstance(manager, _CheckpointManager)
        for it in iterations:
            path = tmp_path / name / f"checkpoint_{it:06d}"
            path.mkdir(parents=True)
            result = _TrainingResult(Checkpoint(str(path)), {"training_iteration": it})
            manager.register_checkpoint(result)
        return trial

    intact, older, none_left = (
        trial_with("a", [2, 4]),
        trial_with("b", [2, 4]),
        trial_with("c", [2]),
    )
    shutil.rmtree(tmp_path / "b" / "checkpoint_000004")
    shutil.rmtree(tmp_path / "c" / "checkpoint_000002")
    done = trial_with("d", [2])
    done.set_status(Trial.TERMINATED)
    shutil.rmtree(tmp_path / "d" / "checkpoint_000002")

    for trial in (intact, older, none_left, done):
        trial.get_json_state()  # as at a snapshot: Tune caches the JSON state
    lines = repair_missing_checkpoints([intact, older, none_left, done])
    assert len(lines) == 2
    assert "trial b:" in lines[0] and "resuming from" in lines[0]
    assert "trial c:" in lines[1] and "restarting it from the beginning" in lines[1]
    assert intact.checkpoint.path.endswith("a/checkpoint_000004")
    assert older.checkpoint.path.endswith("b/checkpoint_000002")
    assert older.latest_checkpoint_result.metrics["training_iteration"] == 2
    assert none_left.checkpoint is None and none_left.trial_id == "c"  # restarts, same id
    assert done.checkpoint is not None  # finished trials are left alone
    # The repaired state is what the next experiment snapshot records (cache refreshed).
    snapshot = Trial("__fake", stub=True)
    snapshot.restore_run_metadata(older.get_json_state()[1])
    assert snapshot.checkpoint.path.endswith("b/checkpoint_000002")
