"""The driver SIGKILLed three times at different points; every result lands once.

One sweep is killed (driver and its embedded Ray, as a crash or OOM kill would) while
its first trials start, right after a Parquet flush, and while a trial writes a
checkpoint; each time ``tune-jobs resume`` goes on, and the last resume completes it.
A reader polls the Parquet files during the whole run and must never see a broken
file (writes are atomic renames).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import psutil
import pyarrow.parquet as pq
import pytest

from analysis import load_metrics, load_trials
from tests.conftest import resume_cli, write_spec
from tests.fixtures.user_trainables import value_at

REPO = Path(__file__).resolve().parents[2]
N = 14
pytestmark = pytest.mark.slow


class ParquetReader(threading.Thread):
    """Reads every Parquet file of RUN_DIR in a loop; records any file that fails.

    Each file is read through one open handle, as ``analysis.load`` does: a reader that
    opens a path twice (``pq.read_table(path)`` sizes the file, then opens it again) can
    pair the footer of one version with the bytes of the next when ``trials.parquet`` is
    replaced by rename in between (seen: "Page was smaller (13) than expected (18)").
    """

    def __init__(self, run_dir: Path) -> None:
        super().__init__(daemon=True)
        self.run_dir = run_dir
        self.reads = 0
        self.broken: list[str] = []
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.is_set():
            files = [self.run_dir / "trials.parquet", *self.run_dir.glob("metrics/part-*")]
            for path in files:
                try:
                    with open(path, "rb") as handle:  # one inode from open to the end
                        pq.read_table(handle)
                    self.reads += 1
                except FileNotFoundError:
                    continue  # not written yet
                except Exception as err:  # a half-written file would land here
                    self.broken.append(f"{path.name}: {err}")
            time.sleep(0.05)

    def stop(self) -> None:
        self._stop_event.set()
        self.join(timeout=10)


def _metric_rows(run_dir: Path) -> int:
    with contextlib.suppress(Exception):
        return len(load_metrics(str(run_dir), clean=False))
    return 0


def _part_files(run_dir: Path) -> int:
    return len(list(run_dir.glob("metrics/part-*")))


def _run_until_killed(
    argv: list[str], ready: Callable[[], bool], what: str, log: Path | None = None
) -> None:
    """Start the driver, wait for ``ready()``, then SIGKILL it and its Ray processes;
    the driver's stderr goes to ``log`` (shown if it ends before the kill)."""
    with open(log or os.devnull, "w") as err:
        driver = subprocess.Popen(
            [sys.executable, "-m", "tune_jobs", *argv],
            cwd=REPO,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
    children: list[psutil.Process] = []
    try:
        deadline = time.time() + 180
        while time.time() < deadline and not ready():
            if driver.poll() is not None:
                tail = log.read_text(errors="replace")[-4000:] if log else ""
                raise AssertionError(f"the sweep ended before the kill {what}:\n{tail}")
            time.sleep(0.01)
        assert ready(), f"never reached: {what}"
        children = psutil.Process(driver.pid).children(recursive=True)
        driver.send_signal(signal.SIGKILL)
        for child in children:  # the embedded Ray dies with its driver's machine
            with contextlib.suppress(psutil.NoSuchProcess):
                child.kill()
        driver.wait(timeout=60)
    finally:
        for child in children:
            with contextlib.suppress(psutil.NoSuchProcess):
                child.kill()


def test_driver_killed_at_three_points_then_resumed_loses_nothing(tmp_path: Path) -> None:
    flags = tmp_path / "flags"
    flags.mkdir()
    spec = write_spec(
        tmp_path,
        {
            "name": "killed3",
            "trainable": "tests/fixtures/user_trainables.py:counter",
            "metric": "score",
            "config": {
                "n": N,
                "sleep_s": 0.3,
                "ckpt_every": 3,
                "ckpt_flag_dir": str(flags),
                "ckpt_pad_mb": 16,
            },
            "space": {"x": {"grid": [0.0, 1.0, 2.0]}},
            "search": {"algorithm": "grid"},
            "max_concurrent": 2,
            "storage": str(tmp_path / "results"),
        },
    )
    run_dir = tmp_path / "results" / "killed3"
    reader = ParquetReader(run_dir)
    reader.start()
    try:
        # 1. While the first trials run (a couple of results in).
        _run_until_killed(
            ["run", str(spec)], lambda: _metric_rows(run_dir) >= 2, "in a trial", tmp_path / "1.log"
        )
        # 2. Right after a flush wrote a new part file.
        parts = _part_files(run_dir)
        _run_until_killed(
            ["resume", str(run_dir)],
            lambda: _part_files(run_dir) > parts + 1,
            "after a flush",
            tmp_path / "2.log",
        )
        # A kill while Tune copies its staging directory to storage can leave tuner.pkl
        # cut short (seen in CI: 0 bytes); resume rebuilds it from spec.yaml.
        (run_dir / "tuner.pkl").write_bytes(b"")
        # 3. While a trial writes a checkpoint (the trainable flags that window).
        for old in flags.iterdir():
            old.unlink()
        _run_until_killed(
            ["resume", str(run_dir)],
            lambda: any(flags.iterdir()),
            "during a checkpoint",
            tmp_path / "3.log",
        )
        assert "tuner.pkl was cut short; rebuilt it" in (tmp_path / "3.log").read_text()
        final = resume_cli(run_dir)
    finally:
        reader.stop()
    assert final.returncode == 0, final.stderr[-3000:]
    assert "sweep finished: 3 TERMINATED" in final.stdout
    assert reader.reads > 0 and reader.broken == []

    trials = load_trials(str(run_dir)).set_index("trial_id")
    assert len(trials) == 3 and set(trials["status"]) == {"TERMINATED"}
    clean = load_metrics(str(run_dir))
    for tid, row in trials.iterrows():
        got = clean[clean["trial_id"] == tid].sort_values("training_iteration")
        assert got["training_iteration"].tolist() == list(range(1, N + 1))
        assert got["score"].tolist() == pytest.approx(
            [value_at(row["config/x"], i) for i in range(1, N + 1)]
        )
    raw = load_metrics(str(run_dir), clean=False)
    assert not raw.duplicated(["trial_id", "attempt", "training_iteration"]).any()
    assert raw["attempt"].max() >= 1, "the kills forced restores"
