"""Command trainables: a training script per trial, results from its stdout."""

from __future__ import annotations

import json
import os
import re
import sys
import time
from pathlib import Path

import pytest

from analysis import load_metrics, load_trials
from tests.conftest import run_spec_in_process
from trainables.command import parse_line, render_argv


def test_render_argv_expands_parameters_and_resolves_project_paths(tmp_path: Path) -> None:
    (tmp_path / "train.py").write_text("")
    params = {"lr": 0.1, "model": {"width": 8}, "flag": True, "bs": None}
    argv = render_argv(
        ["python", "train.py", "${args}", "--out=${trial_dir}"], params, "/t", str(tmp_path)
    )
    assert argv[1] == str(tmp_path / "train.py")
    assert argv[2:6] == ["--lr=0.1", "--model.width=8", "--flag=true", "--bs=null"]
    assert argv[6] == "--out=/t"
    assert render_argv(["x", "${args_no_hyphens}"], {"a": 1}, "/t", "/p") == ["x", "a=1"]
    assert render_argv(["x", "${args_json}"], {"a": 1}, "/t", "/p") == ["x", '{"a": 1}']


def test_parse_line_reads_json_objects_and_regex_groups() -> None:
    pattern = re.compile(r"Step (?P<step>\d+): train=(?P<train>[\d.]+), val=(?P<val>[\d.]+)")
    assert parse_line('{"loss": 1.5}\n', None) == {"loss": 1.5}
    assert parse_line("[1, 2]", None) is None
    assert parse_line("{not json}", None) is None
    assert parse_line("Step 50: train=4.1, val=4.3", pattern) == {
        "step": 50,
        "train": 4.1,
        "val": 4.3,
    }
    assert parse_line("nothing here", pattern) is None


@pytest.mark.slow
def test_json_command_reports_each_line_and_runs_in_its_trial_dir(
    ray_local: None, tmp_path: Path
) -> None:
    outcome = run_spec_in_process(
        tmp_path,
        {
            "name": "cmd_json",
            "trainable": {"command": ["python", "tests/fixtures/json_script.py", "${args}"]},
            "metric": "loss",
            "config": {"steps": 4},
            "space": {"lr": {"grid": [0.1, 0.2]}},
            "search": {"algorithm": "grid"},
        },
    )
    assert outcome.statuses == {"TERMINATED": 2}
    metrics = load_metrics(outcome.run_dir)
    trials = load_trials(outcome.run_dir).set_index("trial_id")
    assert len(metrics) == 8
    for tid, group in metrics.groupby("trial_id"):
        lr = trials.loc[tid, "config/lr"]
        assert group.sort_values("step")["loss"].tolist() == pytest.approx(
            [lr * 1000 / s for s in range(1, 5)]
        )
        # Each trial ran in its own directory, where its stdout log is kept.
        cwd = group["cwd"].iloc[0]
        assert cwd.rstrip("/").endswith(tid)
        assert (
            "starting (not a metric line)"
            in Path(trials.loc[tid, "path"], "stdout.log").read_text()
        )


@pytest.mark.slow
def test_regex_command_and_failing_command(ray_local: None, tmp_path: Path) -> None:
    regex = r"Step (?P<step>\d+): train=(?P<train_loss>[\d.]+), val=(?P<val_loss>[\d.]+)"
    outcome = run_spec_in_process(
        tmp_path,
        {
            "name": "cmd_regex",
            "trainable": {
                "command": ["python", "tests/fixtures/regex_script.py", "${args_no_hyphens}"],
                "metrics_regex": regex,
            },
            "metric": "val_loss",
            "config": {"lr": 0.5},
        },
    )
    metrics = load_metrics(outcome.run_dir)
    assert metrics["step"].tolist() == [10, 20, 30]
    assert metrics["val_loss"].tolist() == pytest.approx([6.0, 11.0, 16.0])

    failed = run_spec_in_process(
        tmp_path,
        {
            "name": "cmd_fail",
            "trainable": {"command": ["python", "tests/fixtures/json_script.py", "${args}"]},
            "metric": "loss",
            "config": {"lr": 0.1, "steps": 2, "fail": True},
        },
    )
    assert failed.statuses == {"ERROR": 1}
    trials = load_trials(failed.run_dir)
    error = trials.loc[0, "error"]
    assert "exited with status 3" in error and "CUDA out of memory (pretend)" in error
    assert len(load_metrics(failed.run_dir)) == 2  # results before the crash are kept


@pytest.mark.slow
def test_stopped_trial_terminates_its_process(ray_local: None, tmp_path: Path) -> None:
    pid_file = tmp_path / "pids.txt"
    outcome = run_spec_in_process(
        tmp_path,
        {
            "name": "cmd_stop",
            "trainable": {
                "command": ["python", "tests/fixtures/json_script.py", "${args}"],
                "terminate_grace_s": 2,
            },
            "metric": "loss",
            "config": {"lr": 0.1, "steps": 100000, "sleep": 0.05, "pid_file": str(pid_file)},
            "stop": {"max_iterations": 3},
        },
    )
    assert outcome.statuses == {"TERMINATED": 1}
    assert len(load_metrics(outcome.run_dir)) == 3
    pid = int(pid_file.read_text().split()[0])
    deadline = time.time() + 15
    while time.time() < deadline and _alive(pid):
        time.sleep(0.2)
    assert not _alive(pid), "the training script outlived its stopped trial"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/stat")
    return status.exists() and status.read_text().split()[2] != "Z"


@pytest.mark.slow
def test_fractional_gpus_pack_and_reach_the_script(ray_local: None, tmp_path: Path) -> None:
    """Two trials asking for half a (fake) GPU share one device; the script sees it."""
    outcome = run_spec_in_process(
        tmp_path,
        {
            "name": "cmd_gpu",
            "trainable": {"command": ["python", "tests/fixtures/json_script.py", "${args}"]},
            "metric": "loss",
            "config": {"steps": 3, "sleep": 0.5},
            "space": {"lr": {"grid": [0.1, 0.2]}},
            "search": {"algorithm": "grid"},
            "resources": {"cpu": 0.5, "gpu": 0.5},
        },
    )
    assert outcome.statuses == {"TERMINATED": 2}
    metrics = load_metrics(outcome.run_dir)
    devices = metrics.groupby("trial_id")["cuda_visible_devices"].first()
    assert len(devices) == 2
    assert all(d in ("0", "1") for d in devices)
    assert devices.nunique() == 1  # packed onto the same GPU
    # They ran at the same time: their result windows overlap.
    spans = metrics.groupby("trial_id")["timestamp"].agg(["min", "max"])
    assert spans["min"].max() <= spans["max"].min() + 1


def test_render_argv_wandb_macros(tmp_path: Path) -> None:
    params = {"lr": 0.1, "on": True, "off": False, "opt": {"m": 0.9}}
    argv = render_argv(
        ["${env}", "${interpreter}", "t.py", "${args_no_boolean_flags}", "${args_json_file}"],
        params,
        str(tmp_path),
        "/p",
        interpreter="/venv/python",
    )
    assert argv[:2] == ["/venv/python", "t.py"]  # ${env} expands to nothing
    assert argv[2:5] == ["--lr=0.1", "--on", "--opt.m=0.9"]  # false flags are left out
    assert argv[5] == str(tmp_path / "params.json")
    assert json.loads(Path(argv[5]).read_text()) == params
    assert render_argv(["${interpreter}"], {}, "/t", "/p") == [sys.executable]
