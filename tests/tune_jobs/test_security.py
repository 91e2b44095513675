"""Security: names cannot leave RUN_DIR, spec values never reach a shell, secrets stay out.

Parameter values and names come from spec files that may be shared between people;
they must not be able to write outside the run directory or run commands.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from tests.conftest import run_spec_in_process, write_spec
from trainables.command import render_argv
from tune_jobs.cli.app import main

REPO = Path(__file__).resolve().parents[2]
HOSTILE_NAMES = ["../../x", "/tmp/abs", "a/../../b", "..", ".hidden", "a\x00b", "a b", "x\n"]


def _files_under(root: Path) -> set[Path]:
    return {p for p in root.rglob("*")}


@pytest.mark.parametrize("name", HOSTILE_NAMES, ids=repr)
def test_hostile_experiment_names_are_refused_before_anything_is_written(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch, ray_started
) -> None:
    spec = tmp_path / "spec" / "s.yaml"
    spec.parent.mkdir()
    spec.write_text(yaml.safe_dump({"name": "ok", "trainable": "analytic", "metric": "loss"}))
    work = tmp_path / "work" / "deeper"
    work.mkdir(parents=True)
    monkeypatch.chdir(work)
    before = _files_under(tmp_path)

    code = main(["run", str(spec), "--name", name, "--storage", str(work / "results")])

    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and "name" in err, err
    assert _files_under(tmp_path) == before, "nothing may be written anywhere"
    assert not ray_started


@pytest.mark.parametrize("key", ["variants.named", "stages.0.name"])
@pytest.mark.parametrize("name", ["../../x", "/abs", "a\x00b"], ids=repr)
def test_hostile_variant_and_stage_names_are_spec_errors(
    key: str, name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch
) -> None:
    monkeypatch.chdir(tmp_path)
    spec: dict = {
        "name": "sec",
        "trainable": "analytic",
        "metric": "loss",
        "space": {"x": {"uniform": [0, 1]}},
    }
    if key == "variants.named":
        spec["variants"] = {"named": {name: {"x": 0.5}}}
    else:
        spec["stages"] = [{"name": name, "top_k": 1, "num_samples": 1}]
    path = write_spec(tmp_path, spec)

    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "name" in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]


def test_parameter_values_are_argv_elements_never_shell_text(tmp_path: Path) -> None:
    evil = f"$(touch {tmp_path}/pwned); touch {tmp_path}/pwned2 `touch {tmp_path}/pwned3`"
    argv = render_argv(["python", "script.py", "${args}", "${args_json}"], {"x": evil}, "/t", "/p")
    assert argv[2] == f"--x={evil}"
    assert evil in argv[3]
    # Run it the way the command trainable does (argv list, no shell): nothing fires.
    subprocess.run([sys.executable, "-c", "import sys; print(sys.argv)", *argv[2:]], check=True)
    assert not list(tmp_path.glob("pwned*"))


@pytest.mark.slow
def test_command_trainable_gets_hostile_values_literally(ray_local: None, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    evil = f"$(touch {marker}); touch {marker}"
    outcome = run_spec_in_process(
        tmp_path,
        {
            "name": "cmd_evil",
            "trainable": {"command": ["python", "tests/fixtures/json_script.py", "${args}"]},
            "metric": "loss",
            "config": {"steps": 2, "lr": 0.1},
            "space": {"tag": {"grid": [evil, "../../escape"]}},
            "search": {"algorithm": "grid"},
        },
    )
    assert outcome.statuses == {"TERMINATED": 2}
    assert not marker.exists()
    trials = pd.read_parquet(Path(outcome.run_dir) / "trials.parquet")
    assert sorted(trials["config/tag"]) == sorted([evil, "../../escape"])
    # The script received each value whole, as one argument.
    assert sorted(trials["tag_len"]) == sorted([len(evil), len("../../escape")])
    # Nothing escaped RUN_DIR: the only entries next to the spec are the spec and results/.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cmd_evil.yaml", "results"]
    assert sorted(p.name for p in (tmp_path / "results").iterdir()) == ["cmd_evil"]


@pytest.mark.slow
def test_secrets_from_the_environment_never_reach_the_run_directory(tmp_path: Path) -> None:
    secrets = {
        "AWS_ACCESS_KEY_ID": "AKIAPLANTEDSECRET0001",
        "AWS_SECRET_ACCESS_KEY": "planted-secret-value-0123456789abcdef",
        "WANDB_API_KEY": "planted-wandb-key-abcdef0123456789",
    }
    env = {**os.environ, **secrets, "PYTHONWARNINGS": "ignore"}
    env.pop("RAY_ADDRESS", None)
    storage = tmp_path / "results"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "tune_jobs",
            "run",
            "tune_jobs/specs/demo.yaml",
            "--smoke",
            "--storage",
            str(storage),
            "--set",
            "config.max_steps=20",
            "--set",
            "config.report_every=10",
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    files = [p for p in storage.rglob("*") if p.is_file()]
    assert any(p.name == "trials.parquet" for p in files)
    assert any(p.name == "spec.yaml" for p in files)
    for value in secrets.values():
        needle = value.encode()
        assert needle not in proc.stdout.encode() and needle not in proc.stderr.encode()
        leaked = [p for p in files if needle in p.read_bytes()]
        assert not leaked, f"secret found in {leaked}"
