"""Every malformed spec fails ``validate`` with exit 2 and one precise line on stderr.

Each file in ``malformed/`` starts with ``# expect: <substring>``: a distinctive part of
the error line (usually the key path and the problem).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tune_jobs.cli.app import main

CORPUS = Path(__file__).parent / "malformed"
CASES = sorted(CORPUS.glob("*.yaml"))
EXPECT_PREFIX = "# expect:"


def expected_substring(path: Path) -> str:
    first = path.read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith(EXPECT_PREFIX), f"{path.name} must start with '{EXPECT_PREFIX}'"
    expected = first[len(EXPECT_PREFIX) :].strip()
    assert expected, f"{path.name}: empty expectation"
    return expected


def assert_one_error_line(stderr: str, path: str, expected: str) -> None:
    assert "Traceback" not in stderr
    assert stderr.endswith("\n")
    lines = stderr.splitlines()
    assert len(lines) == 1, f"expected one line, got:\n{stderr}"
    line = lines[0]
    assert line.startswith(f"tune-jobs: error: {path}: "), line
    assert expected in line, f"{expected!r} not in {line!r}"


def test_corpus_is_large_enough() -> None:
    assert len(CASES) >= 20
    assert len({p.stem for p in CASES}) == len(CASES)


@pytest.mark.parametrize("spec_path", CASES, ids=[p.stem for p in CASES])
def test_malformed_spec_is_one_line_exit_2(
    spec_path: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch,
    ray_started: list[str],
) -> None:
    expected = expected_substring(spec_path)
    # Run from an empty directory: the default storage (./results) would land here,
    # and importing a `module:func` trainable puts the cwd on sys.path (restored after).
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))

    code = main(["validate", str(spec_path)])

    out, err = capsys.readouterr()
    assert code == 2
    assert out == "", "nothing (no plan) is printed for a bad spec"
    assert_one_error_line(err, str(spec_path), expected)
    assert list(tmp_path.iterdir()) == [], "validate must not create RUN_DIR or anything else"
    assert not ray_started, "validate must not start or join Ray"


def _console_script() -> list[str]:
    script = Path(sys.executable).with_name("tune-jobs")
    return [str(script)] if script.exists() else [sys.executable, "-m", "tune_jobs"]


@pytest.mark.parametrize("command", [_console_script(), [sys.executable, "-m", "tune_jobs"]])
def test_real_process_exit_code_and_one_line(command: list[str], tmp_path: Path) -> None:
    spec_path = CORPUS / "unknown_nested_key.yaml"
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    proc = subprocess.run(
        [*command, "validate", str(spec_path)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == ""
    assert_one_error_line(proc.stderr, str(spec_path), expected_substring(spec_path))
    assert list(tmp_path.iterdir()) == []


def test_real_process_yaml_error_reports_position(tmp_path: Path) -> None:
    spec_path = tmp_path / "broken.yaml"
    spec_path.write_text("name: x\ntrainable: mlp\nmetric: [val_loss\n", encoding="utf-8")
    proc = subprocess.run(
        [*_console_script(), "validate", str(spec_path)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert proc.returncode == 2
    assert_one_error_line(proc.stderr, str(spec_path), "invalid YAML at line ")
    assert "column" in proc.stderr
