"""``tune_jobs.results.atomic_fs``: a killed writer never leaves a cut-short file behind."""

from __future__ import annotations

import gc
import pickle
import signal
import subprocess
import sys
from pathlib import Path

import pyarrow.fs as pafs

from tune_jobs.results.atomic_fs import atomic_local_filesystem, is_partial_file
from tune_jobs.results.storage import RunStorage

REPO = Path(__file__).resolve().parents[2]


def test_a_write_in_progress_leaves_the_old_file_until_it_closes(tmp_path: Path) -> None:
    target = tmp_path / "state.pkl"
    target.write_bytes(b"old state")
    fs = atomic_local_filesystem()
    stream = fs.open_output_stream(str(target))
    stream.write(b"new state, first half")
    assert target.read_bytes() == b"old state"
    (partial,) = [p for p in tmp_path.iterdir() if p != target]
    assert is_partial_file(partial.name) and not partial.name.endswith((".json", ".pkl"))
    stream.close()
    assert target.read_bytes() == b"new state, first half"
    assert [p.name for p in tmp_path.iterdir()] == ["state.pkl"]


def test_a_writer_killed_mid_write_leaves_the_old_file_whole(tmp_path: Path) -> None:
    target = tmp_path / "callback-states-x.pkl"
    target.write_bytes(pickle.dumps({"old": 1}))
    script = (
        "import os, signal, sys\n"
        "from tune_jobs.results.atomic_fs import atomic_local_filesystem\n"
        "out = atomic_local_filesystem().open_output_stream(sys.argv[1])\n"
        "out.write(b'x' * (1 << 20))\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    done = subprocess.run([sys.executable, "-c", script, str(target)], cwd=REPO, check=False)
    assert done.returncode == -signal.SIGKILL
    assert pickle.loads(target.read_bytes()) == {"old": 1}
    leftovers = [p.name for p in tmp_path.iterdir() if p != target]
    assert len(leftovers) == 1 and is_partial_file(leftovers[0])


def test_an_abandoned_write_is_never_published(tmp_path: Path) -> None:
    target = tmp_path / "f.bin"
    target.write_bytes(b"old")
    stream = atomic_local_filesystem().open_output_stream(str(target))
    stream.write(b"abandoned: garbage-collected without close()")
    del stream
    gc.collect()
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["f.bin"]


def test_copy_files_and_listing_behave_like_the_local_filesystem(tmp_path: Path) -> None:
    source = tmp_path / "checkpoint_000003"
    (source / "sub").mkdir(parents=True)
    (source / "model.pt").write_bytes(bytes(range(256)) * 9000)  # > one 1 MiB chunk
    (source / "sub" / "meta.json").write_text("{}")
    fs = atomic_local_filesystem()
    dest = tmp_path / "storage" / "checkpoint_000003"
    pafs.copy_files(str(source), str(dest), destination_filesystem=fs)
    fs.copy_file(str(source / "model.pt"), str(tmp_path / "copy.pt"))
    for copy in (dest / "model.pt", tmp_path / "copy.pt"):
        assert copy.read_bytes() == (source / "model.pt").read_bytes()
    listed = fs.get_file_info(pafs.FileSelector(str(dest), recursive=True))
    assert sorted(Path(i.path).relative_to(dest).as_posix() for i in listed) == [
        "model.pt",
        "sub",
        "sub/meta.json",
    ]
    fs.delete_dir(str(dest))
    assert not dest.exists()
    # Tune pickles its storage filesystem to every trial worker.
    assert pickle.loads(pickle.dumps(fs)) == fs


def test_tune_writes_local_runs_through_it_and_uri_runs_unchanged(tmp_path: Path) -> None:
    local = RunStorage.open(str(tmp_path / "run"))
    assert local.tune_filesystem.type_name == "py::local-atomic"
    s3 = RunStorage.open("s3://bucket/run?region=us-east-1")
    assert s3.tune_filesystem is s3.fs


def _write(fs: pafs.FileSystem, path: Path, data: bytes) -> None:
    with fs.open_output_stream(str(path)) as out:
        out.write(data)


def test_a_snapshot_publishes_the_experiment_state_before_the_searchers(tmp_path: Path) -> None:
    """A searcher state newer than the trial list would wait for trials that do not
    exist: within one sync, followers closed before the experiment state are held."""
    fs = atomic_local_filesystem()
    searcher = tmp_path / "searcher-state-S.pkl"
    state = tmp_path / "experiment_state-S.json"
    searcher.write_bytes(b"searcher 1")
    state.write_bytes(b"state 1")

    fs.create_dir(str(tmp_path))  # Tune starts each experiment sync with this
    _write(fs, searcher, b"searcher 2")
    _write(fs, tmp_path / "tuner.pkl", b"tuner")  # not a snapshot file: at once
    assert searcher.read_bytes() == b"searcher 1"  # held: a kill here keeps sync 1 whole
    assert (tmp_path / "tuner.pkl").read_bytes() == b"tuner"
    _write(fs, state, b"state 2")
    assert (state.read_bytes(), searcher.read_bytes()) == (b"state 2", b"searcher 2")
    _write(fs, tmp_path / "callback-states-S.pkl", b"callbacks 2")  # after it: at once
    assert (tmp_path / "callback-states-S.pkl").read_bytes() == b"callbacks 2"

    fs.create_dir(str(tmp_path))  # the next sync holds followers again
    _write(fs, searcher, b"searcher 3")
    assert searcher.read_bytes() == b"searcher 2"
    _write(fs, state, b"state 3")
    assert searcher.read_bytes() == b"searcher 3"
    assert not [p.name for p in tmp_path.iterdir() if is_partial_file(p.name)]
