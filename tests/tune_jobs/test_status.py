"""``tune-jobs status``'s per-trial table on real RUN_DIR files (synthesised in the sink's
exact layout; the real-run check is in test_cli_run.py): throughput, GPU columns,
stalled trials, ``--all`` and ``--watch``."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from analysis import load_metrics
from analysis.synthetic import synthesize_run
from tune_jobs.cli.status import _rate, status_lines, watch_status

REPO = Path(__file__).resolve().parents[2]


def _table(lines: list[str]) -> tuple[pd.DataFrame, list[str]]:
    """The per-trial table of ``status_lines``: cells split on runs of 2+ spaces."""
    start = next(i for i, line in enumerate(lines) if line.startswith("trial "))
    header = re.split(r"\s{2,}", lines[start].strip())
    rows = []
    for line in lines[start + 1 :]:
        if not line or line.startswith(("...", "stalled?")):
            break
        cells = re.split(r"\s{2,}", line.strip())
        rows.append(dict(zip(header, cells, strict=False)))
    return pd.DataFrame(rows), header


def _write_trials(run_dir: Path, trials: pd.DataFrame) -> None:
    trials.to_parquet(run_dir / "trials.parquet", index=False)


def test_throughput_column_is_each_trials_latest_tokens_per_s(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    synthesize_run(str(run_dir), n_trials=6, n_results=8, seed=3)
    lines = status_lines(str(run_dir), now=2_000_000_000)
    table, header = _table(lines)
    assert "tokens/s" in header and "val_loss" in header and "gpu" not in " ".join(header)
    latest = load_metrics(str(run_dir)).groupby("trial_id").tail(1).set_index("trial_id")
    assert len(table) == 6
    for _, row in table.iterrows():
        expected = latest.loc[row["trial"], "tokens_per_s"]
        assert row["tokens/s"] == _rate(expected), row["trial"]
        assert row["iter"] == str(int(latest.loc[row["trial"], "training_iteration"]))
    # Finished trials are ranked best first by the spec's metric.
    finished = table[table["status"] == "TERMINATED"]
    values = [float(v) for v in finished["val_loss"]]
    assert values == sorted(values)


def test_running_trials_gpu_columns_and_stalled_flag(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    synthesize_run(str(run_dir), n_trials=4, n_results=5, seed=0, diverge_lr=None)
    trials = pd.read_parquet(run_dir / "trials.parquet")
    now = 1_800_000_000
    trials["status"] = ["RUNNING", "RUNNING", "RUNNING", "PENDING"]
    trials["timestamp"] = [now - 20, now - 4000, None, None]
    trials["time_this_iter_s"] = [5.0, 5.0, None, None]
    trials["gpu_util_pct"] = [87.4, 3.0, None, None]
    trials["gpu_mem_gb"] = [3.25, 3.0, None, None]
    trials.loc[2:, ["training_iteration", "tokens_per_s", "val_loss"]] = None
    _write_trials(run_dir, trials)

    lines = status_lines(str(run_dir), now=now, stall_after_s=300)
    table, header = _table(lines)
    assert header[-4:] == ["gpu %", "gpu mem", "last result", "note"]
    by_id = set(table["trial"])
    ids = trials["trial_id"].tolist()
    text = "\n".join(lines)
    healthy = next(line for line in lines if line.startswith(ids[0]))
    silent = next(line for line in lines if line.startswith(ids[1]))
    fresh = next(line for line in lines if line.startswith(ids[2]))
    pending = next(line for line in lines if line.startswith(ids[3]))
    assert "87" in healthy and "3.2 GB" in healthy and "20s ago" in healthy
    assert "STALLED?" not in healthy
    assert "STALLED?" in silent and "1h06m ago" in silent
    assert "no result yet" in fresh and "STALLED?" not in fresh
    assert "PENDING" in pending and "STALLED?" not in pending
    assert f"stalled?: {ids[1]} reported nothing" in text
    # Running first, then pending.
    order = [line.split()[0] for line in lines if line.split() and line.split()[0] in by_id]
    assert order == ids


def test_slow_reporter_is_not_stalled_within_five_iterations(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    synthesize_run(str(run_dir), n_trials=1, n_results=3, seed=0, diverge_lr=None)
    trials = pd.read_parquet(run_dir / "trials.parquet")
    now = 1_800_000_000
    trials["status"] = "RUNNING"
    trials["timestamp"] = now - 1000  # 1000 s silent, but its iterations take 600 s
    trials["time_this_iter_s"] = 600.0
    _write_trials(run_dir, trials)
    assert "STALLED?" not in "\n".join(status_lines(str(run_dir), now=now, stall_after_s=300))
    trials["time_this_iter_s"] = 60.0
    _write_trials(run_dir, trials)
    assert "STALLED?" in "\n".join(status_lines(str(run_dir), now=now, stall_after_s=300))


def test_finished_trials_are_capped_unless_all(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    synthesize_run(str(run_dir), n_trials=14, n_results=3, seed=2)
    lines = status_lines(str(run_dir), now=2_000_000_000)
    assert "... 4 more finished trials (--all shows them)" in lines
    assert len(_table(lines)[0]) == 10
    everything = status_lines(str(run_dir), now=2_000_000_000, show_all=True)
    assert len(_table(everything)[0]) == 14
    assert not any(line.startswith("...") for line in everything)


def test_watch_reprints_until_the_rounds_are_done(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_dir = tmp_path / "run"
    synthesize_run(str(run_dir), n_trials=2, n_results=3, seed=0)
    pauses: list[float] = []
    assert watch_status(str(run_dir), 2.5, sleep=pauses.append, rounds=3) == 0
    out = capsys.readouterr().out
    assert out.count("every 2.5 s; Ctrl-C to stop") == 3
    assert out.count("trials: 2 (") == 3
    assert pauses == [2.5, 2.5]


def test_watch_interval_must_be_positive(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    synthesize_run(str(run_dir), n_trials=1, n_results=2, seed=0)
    done = subprocess.run(
        [sys.executable, "-m", "tune_jobs", "status", str(run_dir), "--watch", "0"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "tune-jobs: error: --watch: the refresh interval must be > 0 seconds; got 0"
    )
