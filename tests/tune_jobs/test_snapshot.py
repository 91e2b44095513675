"""Resume never runs a sweep from a cut-short Tune state file, nor lets Tune start over.

``check_snapshot`` is tested on synthetic snapshot files and on the files of real
sweeps (in-process, on the shared local Ray): a cut-short newest copy is set aside and
the previous session's copy restored; with no whole copy left, ``resume`` refuses with
one line. ``refuse_silent_restart`` turns Tune's swallowed restore error into one line.
"""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import pytest

from analysis import load_metrics, load_trials
from tests.conftest import run_spec_in_process
from tune_jobs.errors import UserError
from tune_jobs.results.snapshot import check_snapshot
from tune_jobs.results.storage import RunStorage

N = 4


def _write_session(run_dir: Path, stamp: str, trials: int) -> None:
    state = {"trial_data": [f"trial {i}" for i in range(trials)], "runner_data": {}}
    (run_dir / f"experiment_state-{stamp}.json").write_text(json.dumps(state))
    (run_dir / f"callback-states-{stamp}.pkl").write_bytes(pickle.dumps({1: {"rows": trials}}))
    (run_dir / f"basic-variant-state-{stamp}.json").write_bytes(pickle.dumps({"n": trials}))


def test_a_cut_short_newest_copy_is_set_aside_for_the_previous_one(tmp_path: Path) -> None:
    _write_session(tmp_path, "2026-01-01_10-00-00", 2)
    _write_session(tmp_path, "2026-01-01_11-00-00", 3)
    newest = tmp_path / "callback-states-2026-01-01_11-00-00.pkl"
    newest.write_bytes(newest.read_bytes()[:-3])
    state = tmp_path / "experiment_state-2026-01-01_11-00-00.json"
    state.write_bytes(state.read_bytes()[:10])
    whole = {p.name: p.read_bytes() for p in tmp_path.iterdir()}

    lines = check_snapshot(RunStorage.open(str(tmp_path)), ".", "RUN")

    assert lines == [
        "experiment_state-2026-01-01_11-00-00.json was cut short (the driver was killed "
        "while it was written); resuming from the previous snapshot's "
        "experiment_state-2026-01-01_10-00-00.json",
        "callback-states-2026-01-01_11-00-00.pkl was cut short (the driver was killed "
        "while it was written); resuming from the previous snapshot's "
        "callback-states-2026-01-01_10-00-00.pkl",
    ]
    # Set aside, not deleted: every byte is still there under another name.
    after = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    assert after[newest.name + ".cut-short"] == whole[newest.name]
    assert newest.name not in after and state.name not in after
    assert (
        after["basic-variant-state-2026-01-01_11-00-00.json"]
        == whole["basic-variant-state-2026-01-01_11-00-00.json"]
    )
    assert check_snapshot(RunStorage.open(str(tmp_path)), ".", "RUN") == []


def test_no_whole_copy_left_is_a_one_line_error(tmp_path: Path) -> None:
    _write_session(tmp_path, "2026-01-01_10-00-00", 2)
    (tmp_path / "searcher-state-2026-01-01_10-00-00.pkl").write_bytes(b"")
    with pytest.raises(UserError) as err:
        check_snapshot(RunStorage.open(str(tmp_path)), ".", "RUN")
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith("RUN: Tune's state file searcher-state-2026-01-01_10-00-00.pkl")
    assert "cannot be resumed" in message
    assert (tmp_path / "searcher-state-2026-01-01_10-00-00.pkl.cut-short").exists()


def _sweep(tmp_path: Path) -> Path:
    run_spec_in_process(
        tmp_path,
        {
            "name": "snap",
            "trainable": "tests/fixtures/user_trainables.py:counter",
            "metric": "score",
            "config": {"n": N, "ckpt_every": 2},
            "space": {"x": {"grid": [0.0, 1.0]}},
            "search": {"algorithm": "grid"},
        },
    )
    return tmp_path / "results" / "snap"


def _assert_complete(run_dir: Path) -> None:
    trials = load_trials(str(run_dir))
    assert len(trials) == 2 and set(trials["status"]) == {"TERMINATED"}
    clean = load_metrics(str(run_dir))
    assert (
        sorted(clean.groupby("trial_id")["training_iteration"].apply(list).tolist())
        == [list(range(1, N + 1))] * 2
    )


def test_resume_falls_back_to_the_previous_sessions_callback_states(
    ray_local: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tune_jobs.execution.tuner import resume_sweep

    run_dir = _sweep(tmp_path)
    resume_sweep(str(run_dir))  # a second session writes its own snapshot files
    copies = sorted(run_dir.glob("callback-states-*.pkl"))
    assert len(copies) == 2, copies
    copies[-1].write_bytes(copies[-1].read_bytes()[:5])  # as a killed copy left it
    capsys.readouterr()

    outcome = resume_sweep(str(run_dir))

    err = capsys.readouterr().err
    assert f"{copies[-1].name} was cut short" in err
    assert f"resuming from the previous snapshot's {copies[0].name}" in err
    assert outcome.statuses == {"TERMINATED": 2}
    _assert_complete(run_dir)


def test_resume_refuses_when_tune_cannot_restore_instead_of_starting_over(
    ray_local: None, tmp_path: Path
) -> None:
    """Without the guard Tune logs the error, starts over with a finished searcher,
    runs no trial and the sink rewrites trials.parquet empty (seen after a SIGKILL)."""
    from tune_jobs.execution.tuner import resume_sweep

    run_dir = _sweep(tmp_path)
    (state,) = run_dir.glob("callback-states-*.pkl")
    # Whole (so check_snapshot keeps it) but not a state our callbacks can take.
    state.write_bytes(pickle.dumps({0: 12345, 1: 12345}))
    trials_before = (run_dir / "trials.parquet").read_bytes()

    with pytest.raises(UserError) as err:
        resume_sweep(str(run_dir))

    message = str(err.value)
    assert "\n" not in message
    assert message.startswith(f"{run_dir}: Tune could not restore the sweep's state (")
    assert (run_dir / "trials.parquet").read_bytes() == trials_before
    _assert_complete(run_dir)
