"""Through the real CLI and real subprocesses: W&B files validate, errors are one line,
and the offline shim gives scripts their config and prints JSON result lines."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from trainables.command import SHIM_DIR, parse_line, subprocess_env

REPO = Path(__file__).resolve().parents[3]
CLI = [sys.executable, "-m", "tune_jobs"]
EXAMPLES = sorted((REPO / "tune_jobs/specs/wandb").glob("*.yaml"))


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], cwd=REPO, capture_output=True, text=True, timeout=120)


def test_example_sweeps_validate() -> None:
    assert len(EXAMPLES) >= 3
    for path in EXAMPLES:
        result = cli("validate", str(path.relative_to(REPO)))
        assert result.returncode == 0, result.stderr
        assert "ok: spec is valid" in result.stdout
        assert "trainable: command" in result.stdout


def test_unsupported_key_is_one_line_exit_2(tmp_path: Path) -> None:
    path = tmp_path / "sweep.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "program": "tune_jobs/specs/wandb/train_wandb.py",
                "method": "random",
                "metric": {"name": "loss"},
                "early_terminate": {"type": "envelope"},
                "parameters": {"lr": {"min": 0.1, "max": 0.2}},
            }
        )
    )
    result = cli("validate", str(path))
    assert result.returncode == 2
    assert result.stderr == (
        f"tune-jobs: error: {path}: early_terminate.type: got 'envelope'; allowed: hyperband\n"
    )
    # --format spec reads the same file as our own format: then `method` is unknown.
    forced = cli("validate", "--format", "spec", str(path))
    assert forced.returncode == 2 and "unknown key" in forced.stderr
    assert len(forced.stderr.splitlines()) == 1


def run_shim(script: str, params: dict, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = subprocess_env(
        {"TUNE_JOBS_WANDB_SHIM": "1"}, params, str(REPO), trial_id="t1", trial_name="trial_1"
    )
    return subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True
    )


def test_shim_gives_config_and_prints_json_lines(tmp_path: Path) -> None:
    script = """
import numpy as np
import wandb
assert wandb.SHIM and wandb.run is None
run = wandb.init(project="p", config={"lr": 1.0, "epochs": 2})
print("plain text is not a result", flush=True)
print(wandb.config.lr, wandb.config["epochs"], wandb.config.opt["m"], run.name, run.id)
for step in range(2):
    wandb.log({"loss": np.float32(0.5) / (step + 1), "nested": {"a": np.int64(step)}})
wandb.log({"part": 1}, commit=False)
wandb.log({"hist": wandb.Histogram([1, 2]), "rest": 2})
wandb.summary["best"] = 0.25
wandb.finish()
"""
    result = run_shim(script, {"lr": 0.01, "opt": {"m": 0.9}}, tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[1] == "0.01 2 0.9 trial_1 t1"  # sweep parameters win over init(config)
    results = [parse_line(line, None) for line in lines]
    assert results[0] is None and results[1] is None
    assert results[2:] == [
        {"loss": 0.5, "nested": {"a": 0}, "_step": 0},
        {"loss": 0.25, "nested": {"a": 1}, "_step": 1},
        {"part": 1, "rest": 2, "_step": 2},
    ]
    assert "Histogram values are not logged (key 'hist' skipped)" in result.stderr
    summary = json.loads((tmp_path / "wandb-summary.json").read_text())
    assert summary["best"] == 0.25 and summary["rest"] == 2


def test_shim_flushes_at_exit_and_rejects_unsupported_api(tmp_path: Path) -> None:
    script = """
import wandb
wandb.log({"x": 1}, step=3)
try:
    wandb.Api()
except NotImplementedError as err:
    print("E:", err)
try:
    wandb.no_such_thing
except AttributeError as err:
    print("A:", err)
"""
    result = run_shim(script, {}, tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("E: wandb.Api is not available under tune-jobs")
    assert lines[1].startswith("A: wandb.no_such_thing is not provided by the tune-jobs")
    assert json.loads(lines[2]) == {"x": 1, "_step": 3}  # committed at exit


def test_shim_only_on_path_when_asked() -> None:
    with_shim = subprocess_env({"TUNE_JOBS_WANDB_SHIM": "1"}, {"a": 1}, "/p", base={})
    assert with_shim["PYTHONPATH"].split(os.pathsep)[:2] == [SHIM_DIR, "/p"]
    assert json.loads(with_shim["TUNE_JOBS_WANDB_CONFIG"]) == {"a": 1}
    without = subprocess_env({}, {"a": 1}, "/p", base={"PYTHONPATH": "/x"})
    assert without["PYTHONPATH"] == os.pathsep.join(["/p", "/x"])
    assert "TUNE_JOBS_WANDB_CONFIG" in without


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_program_runs_under_the_shim(path: Path, tmp_path: Path) -> None:
    raw = yaml.safe_load(path.read_text())
    params = {"epochs": 2, "model": {"d_model": 8, "layers": 1}}
    script = f"import runpy; runpy.run_path({str(REPO / raw['program'])!r}, run_name='__main__')"
    result = run_shim(script, params, tmp_path)
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["_step"] for r in rows] == [0, 1]
    assert rows[0]["n_params"] == 2 * 8 + 8 + 8 * 2 + 2
    assert raw["metric"]["name"] in rows[-1]
