"""tune_jobs.execution.jobs and `tune-jobs submit` without a cluster: entrypoint, upload, errors."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest

from tune_jobs.cli.app import main
from tune_jobs.errors import UserError
from tune_jobs.execution.jobs import (
    DEFAULT_EXCLUDES,
    SubmitRequest,
    connect,
    exit_code,
    resolve_token,
)

REPO = Path(__file__).resolve().parents[2]
DEMO = "tune_jobs/specs/demo.yaml"


def test_entrypoint_runs_the_uploaded_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    req = SubmitRequest(
        spec=DEMO, name="n 1", storage="/shared/r", overrides=("a.b=1",), smoke=True
    )
    assert shlex.split(req.entrypoint()) == [
        "python", "-m", "tune_jobs", "run", DEMO, "--name", "n 1", "--storage", "/shared/r",
        "--set", "a.b=1", "--smoke",
    ]  # fmt: skip
    env = req.runtime_env()
    assert env["working_dir"] == "."
    for pattern in (".git", ".venv", "/results", "/data", "*.parquet"):
        assert pattern in env["excludes"] and pattern in DEFAULT_EXCLUDES
    resume = SubmitRequest(spec="", resume_run_dir="/shared/r/x")
    assert resume.entrypoint() == "python -m tune_jobs resume /shared/r/x"


def test_spec_outside_working_dir_is_refused(tmp_path: Path) -> None:
    spec = tmp_path / "s.yaml"
    spec.write_text("name: x\n")
    with pytest.raises(UserError, match="outside the uploaded working directory"):
        SubmitRequest(spec=str(spec), working_dir=str(REPO)).entrypoint()


def test_resolve_token(tmp_path: Path) -> None:
    path = tmp_path / "tok"
    path.write_text("abc\n")
    assert resolve_token(str(path), {}) == "abc"
    assert resolve_token(None, {"RAY_AUTH_TOKEN": "x"}) is None  # mode not token
    assert resolve_token(None, {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": "x"}) == "x"
    env = {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN_PATH": str(path)}
    assert resolve_token(None, env) == "abc"
    with pytest.raises(UserError, match="cannot read the auth token"):
        resolve_token(str(tmp_path / "missing"), {})


def test_exit_codes() -> None:
    assert (exit_code("SUCCEEDED"), exit_code("STOPPED"), exit_code("FAILED")) == (0, 130, 1)


def test_unreachable_address_is_one_line_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(UserError, match="cannot reach the Ray jobs API"):
        connect("http://127.0.0.1:9", None)
    assert main(["submit", DEMO, "--address", "http://127.0.0.1:9"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot reach" in err


def test_relative_storage_and_missing_address_are_refused(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(REPO)
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    assert main(["submit", DEMO]) == 2
    assert "--address" in capsys.readouterr().err
    from tune_jobs.cli.cluster import _check_shared

    with pytest.raises(UserError, match="relative path"):
        _check_shared("./results", "storage")
