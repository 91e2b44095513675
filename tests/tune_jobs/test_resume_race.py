"""Resuming a stopped sweep: every iteration 1..N lands once, whatever the stop hit.

1. ``stop.max_iterations`` across a restore. Tune's experiment snapshot keeps a trial's
   last result and its latest checkpoint apart: a trial that reported past its checkpoint
   (checkpoints every few reports, or a snapshot taken between a result and the save of
   its checkpoint, as in tests/cluster) is restored from that checkpoint and reports those
   iterations again. The stopper comes back with the same snapshot (``TuneController``
   pickles ``_stopper``), so a stopper that counts results, as Ray's
   ``MaximumIterationStopper`` does, counted them twice and stopped the trial early
   (tests/cluster saw a trial end at 79 of 80).
2. Checkpoint bookkeeping (``tune_jobs.execution.setup.repair_missing_checkpoints``): a driver
   killed after pruning a checkpoint the snapshot still keeps made Ray's next pruning
   fail, and the trial's checkpoint index fell behind the directories it writes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from analysis import load_metrics, load_trials
from tests.conftest import resume_cli, write_spec
from tests.fixtures.user_trainables import value_at
from tests.tune_jobs.test_driver_kills import _run_until_killed

MAX_ITER = 10
CKPT_EVERY = 3
HANG_AT = 6  # the first attempt stops before iteration 6: 4 and 5 are not checkpointed


def _spec(tmp_path: Path) -> dict[str, Any]:
    return {
        "name": "race",
        "trainable": "tests/fixtures/user_trainables.py:counter",
        "metric": "score",
        "mode": "max",
        "config": {
            "n": 100,  # only the stopper ends a trial
            "ckpt_every": CKPT_EVERY,
            "hang_at": HANG_AT,
            "marker_dir": str(tmp_path / "markers"),
        },
        "space": {"x": {"grid": [0.0]}},
        "search": {"algorithm": "grid"},
        "stop": {"max_iterations": MAX_ITER},
        "storage": str(tmp_path / "results"),
    }


def _result(iteration: int) -> dict[str, Any]:
    return {"training_iteration": iteration, "time_total_s": 0.1 * iteration, "score": 1.0}


def test_max_iterations_stops_at_the_iteration_across_a_restore(tmp_path: Path) -> None:
    from ray import cloudpickle

    from tune_jobs.execution.assemble import build_strategy
    from tune_jobs.plan.run_plan import make_plan
    from tune_jobs.spec import load_spec

    path = write_spec(tmp_path, _spec(tmp_path))
    stopper = build_strategy(make_plan(load_spec(path, []), str(path))).stopper
    assert [stopper("t", _result(i)) for i in range(1, HANG_AT)] == [False] * (HANG_AT - 1)
    # The snapshot pickles the stopper; the trial comes back from its checkpoint (3).
    restored = cloudpickle.loads(cloudpickle.dumps(stopper))
    decisions = {i: restored("t", _result(i)) for i in range(CKPT_EVERY + 1, MAX_ITER + 1)}
    assert decisions == {i: i == MAX_ITER for i in decisions}


def test_repair_drops_pruned_checkpoints_and_skips_written_dirs(tmp_path: Path) -> None:
    """The killed driver pruned an older kept checkpoint after the snapshot, and its actor
    wrote one checkpoint the snapshot never saw. Without the repair Ray's next pruning
    fails (and ``Trial.on_checkpoint`` then skips the index update); with it the trial's
    next checkpoint goes to a new directory and the index stays in step."""
    from ray import cloudpickle
    from ray.train import Checkpoint, CheckpointConfig
    from ray.train._internal.session import _TrainingResult
    from ray.train._internal.storage import StorageContext
    from ray.tune.experiment import Trial

    from tune_jobs.execution.setup import repair_missing_checkpoints

    def snapshot_trial(name: str) -> tuple[Trial, Path]:
        storage = StorageContext(str(tmp_path), "exp", trial_dir_name=name)
        trial = Trial(
            "__fake",
            stub=True,
            trial_id=name,
            storage=storage,
            checkpoint_config=CheckpointConfig(num_to_keep=2),
        )
        trial_dir = Path(trial.storage.trial_fs_path)
        for index in range(3):  # iterations 1..3 checkpointed as Tune does
            (trial_dir / f"checkpoint_{index:06d}").mkdir(parents=True)
            checkpoint = Checkpoint(str(trial_dir / f"checkpoint_{index:06d}"))
            trial.on_checkpoint(_TrainingResult(checkpoint, {"training_iteration": index + 1}))
        # After the snapshot the killed driver registered iteration 4 (checkpoint_000003),
        # which pruned checkpoint_000001 (iteration 2) that the snapshot still keeps.
        (trial_dir / "checkpoint_000003").mkdir()
        (trial_dir / "checkpoint_000001").rmdir()
        trial.get_json_state()  # as at a snapshot: Tune caches the JSON state
        return trial, trial_dir

    def next_checkpoint(trial: Trial, trial_dir: Path, iteration: int) -> None:
        index = trial.storage.current_checkpoint_index + 1  # where the actor writes next
        (trial_dir / f"checkpoint_{index:06d}").mkdir(exist_ok=True)
        checkpoint = Checkpoint(str(trial_dir / f"checkpoint_{index:06d}"))
        trial.on_checkpoint(_TrainingResult(checkpoint, {"training_iteration": iteration}))

    broken, broken_dir = snapshot_trial("unrepaired")
    assert broken.storage.current_checkpoint_index == 2
    with pytest.raises(FileNotFoundError):  # Ray prunes the gone checkpoint_000001
        next_checkpoint(broken, broken_dir, 4)
    assert broken.storage.current_checkpoint_index == 2  # index fell behind

    trial, trial_dir = snapshot_trial("repaired")
    assert repair_missing_checkpoints([trial]) == []  # the latest is there: no message
    manager = trial.run_metadata.checkpoint_manager
    assert [r.metrics["training_iteration"] for r in manager.best_checkpoint_results] == [3]
    assert trial.checkpoint.path.endswith("repaired/checkpoint_000002")
    assert trial.storage.current_checkpoint_index == 4  # past checkpoint_000003, plus one
    # The next snapshot records the repaired index (Tune's cached JSON state refreshed).
    field = json.loads(trial.get_json_state()[0])["storage"]  # cloudpickled, hex
    recorded = cloudpickle.loads(bytes.fromhex(field["value"]))
    assert recorded.current_checkpoint_index == 4
    for iteration in (4, 5):  # the resumed trial re-reports 4, then 5
        next_checkpoint(trial, trial_dir, iteration)
    assert trial.checkpoint.path.endswith("repaired/checkpoint_000006")
    assert trial.storage.current_checkpoint_index == 6
    assert sorted(p.name for p in trial_dir.iterdir()) == [
        "checkpoint_000003",  # never registered: left alone
        "checkpoint_000005",
        "checkpoint_000006",
    ]


def _snapshot_iteration(run_dir: Path) -> int | None:
    """The trial's last reported iteration in the newest experiment snapshot on storage."""
    snapshots = sorted(run_dir.glob("experiment_state-*.json"))
    if not snapshots:
        return None
    try:
        state = json.loads(snapshots[-1].read_text())
        (_, metadata), *_ = state["trial_data"]
        return json.loads(metadata)["last_result"].get("training_iteration")
    except (ValueError, KeyError, TypeError, OSError):
        return None  # not written yet, or being replaced


@pytest.mark.slow
def test_killed_past_its_checkpoint_then_resumed_runs_to_max_iterations(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "markers").mkdir()
    spec = write_spec(tmp_path, _spec(tmp_path))
    run_dir = tmp_path / "results" / "race"
    monkeypatch.setenv("TUNE_GLOBAL_CHECKPOINT_S", "0.5")  # snapshots while it waits
    hung = tmp_path / "markers" / "hung-0.0"
    # The trial hangs before iteration HANG_AT: the snapshot settles on iteration
    # HANG_AT - 1 with the checkpoint of iteration CKPT_EVERY; kill it then.
    _run_until_killed(
        ["run", str(spec)],
        lambda: hung.exists() and _snapshot_iteration(run_dir) == HANG_AT - 1,
        "with a result past the checkpoint in the snapshot",
    )
    resumed = resume_cli(run_dir)
    assert resumed.returncode == 0, resumed.stderr[-3000:]

    trials = load_trials(str(run_dir))
    assert trials["status"].tolist() == ["TERMINATED"]
    raw = load_metrics(str(run_dir), clean=False)
    again = raw[raw["attempt"] == 1]["training_iteration"].min()
    assert again == CKPT_EVERY + 1, "the resumed trial restarts after its checkpoint"
    clean = load_metrics(str(run_dir)).sort_values("training_iteration")
    assert clean["training_iteration"].tolist() == list(range(1, MAX_ITER + 1))
    assert clean["score"].tolist() == pytest.approx(
        [value_at(0.0, i) for i in range(1, MAX_ITER + 1)]
    )


def test_plateau_counts_iterations_not_results_across_a_restore() -> None:
    """Iterations 1-3 report 3, 1, 1: not flat. Restored from its iteration-1 checkpoint,
    the trial re-reports 2 and 3; Ray's TrialPlateauStopper would see 3, 1, 1, 1, 1 and
    stop on the window 1, 1, 1, although the last three iterations are still 3, 1, 1."""
    from ray import cloudpickle

    from tune_jobs.stopping.stoppers import PlateauStopper

    stopper = PlateauStopper("loss", std=0.01, num_results=3, grace_period=3)
    values = {1: 3.0, 2: 1.0, 3: 1.0, 4: 1.0}
    assert [stopper("t", {"training_iteration": i, "loss": values[i]}) for i in (1, 2, 3)] == [
        False
    ] * 3
    restored = cloudpickle.loads(cloudpickle.dumps(stopper))  # with the snapshot
    assert not restored("t", {"training_iteration": 2, "loss": 1.0})
    assert not restored("t", {"training_iteration": 3, "loss": 1.0})
    assert restored("t", {"training_iteration": 4, "loss": 1.0})  # 1, 1, 1 at last
    # Results without the metric (evaluated every few steps) are not in the window.
    sparse = PlateauStopper("loss", std=0.01, num_results=2, grace_period=1)
    assert not sparse("u", {"training_iteration": 1, "loss": 2.0})
    assert not sparse("u", {"training_iteration": 2})
    assert sparse("u", {"training_iteration": 3, "loss": 2.0})
