"""``tune-jobs validate``, ``trainables`` and ``--help``, in-process (no Ray is started)."""

from __future__ import annotations

from pathlib import Path

import pytest

import tune_jobs
from tune_jobs.cli.app import main

DEMO = str(Path(tune_jobs.__file__).parent / "specs" / "demo.yaml")


def validate(
    capsys: pytest.CaptureFixture[str], *args: str, storage: Path | None = None
) -> list[str]:
    argv = ["validate", DEMO, *args]
    if storage is not None:
        argv += ["--storage", str(storage)]
    code = main(argv)
    out, err = capsys.readouterr()
    assert code == 0, err
    assert err == ""
    return out.splitlines()


def line_starting(lines: list[str], prefix: str) -> str:
    matches = [line for line in lines if line.startswith(prefix)]
    assert len(matches) == 1, f"one line starting {prefix!r} expected in {lines}"
    return matches[0]


def test_validate_demo_prints_plan(capsys, tmp_path: Path, ray_started: list[str]) -> None:
    storage = tmp_path / "store"
    lines = validate(capsys, storage=storage)
    assert line_starting(lines, "trials: ") == (
        "trials: 10 (2 from variants + 4 samples x 2 grid points)"
    )
    assert "variants: reference, high_lr_sgd" in lines
    assert line_starting(lines, "stop: ") == "stop: max_iterations=20, max_time_s=300.0"
    assert line_starting(lines, "name: ") == f"name: demo  ->  RUN_DIR = {storage.resolve()}/demo"
    assert lines[-1] == "ok: spec is valid"
    assert not storage.exists(), "validate must not create the storage or RUN_DIR"
    assert not ray_started, "validate must not start or join Ray"


def test_validate_smoke_changes_stop_and_trials(capsys, tmp_path: Path) -> None:
    lines = validate(capsys, "--smoke", storage=tmp_path / "s")
    assert line_starting(lines, "stop: ") == "stop: max_iterations=3, max_time_s=60.0"
    assert line_starting(lines, "trials: ").startswith("trials: 2 (")
    assert "per-trial resources: cpu=1, gpu=0; max concurrent: 2" in lines
    assert lines[-1] == "ok: spec is valid"


def test_validate_set_num_samples_changes_trial_count(capsys, tmp_path: Path) -> None:
    lines = validate(capsys, "--set", "search.num_samples=7", storage=tmp_path / "s")
    assert line_starting(lines, "trials: ") == (
        "trials: 16 (2 from variants + 7 samples x 2 grid points)"
    )


def test_validate_repeated_set(capsys, tmp_path: Path) -> None:
    lines = validate(
        capsys,
        "--set",
        "search.num_samples=1",
        "--set",
        "space.depth.grid=[1, 2, 3]",
        storage=tmp_path / "s",
    )
    assert line_starting(lines, "trials: ") == (
        "trials: 5 (2 from variants + 1 samples x 3 grid points)"
    )
    assert "  depth: grid[1, 2, 3]" in lines


def test_validate_name_and_storage_change_run_dir(capsys, tmp_path: Path) -> None:
    storage = tmp_path / "y"
    lines = validate(capsys, "--name", "x", storage=storage)
    assert line_starting(lines, "name: ") == f"name: x  ->  RUN_DIR = {storage.resolve()}/x"
    assert not storage.exists()


def test_validate_relative_storage_is_made_absolute(capsys, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    lines = validate(capsys, "--storage", "rel/out")
    expected = f"RUN_DIR = {tmp_path.resolve()}/rel/out/demo"
    assert line_starting(lines, "name: ").endswith(expected)
    assert list(tmp_path.iterdir()) == []


def test_validate_bad_set_is_one_line_exit_2(capsys) -> None:
    code = main(["validate", DEMO, "--set", "search.num_samples"])
    out, err = capsys.readouterr()
    assert code == 2
    assert out == ""
    assert err.splitlines() == [
        f"tune-jobs: error: {DEMO}: --set: expected key.path=value; got 'search.num_samples'"
    ]


def test_validate_bad_name_flag_is_one_line_exit_2(capsys) -> None:
    code = main(["validate", DEMO, "--name", "a/b"])
    _, err = capsys.readouterr()
    assert code == 2
    assert len(err.splitlines()) == 1
    assert f"{DEMO}: name: use letters, digits, _ . - only; got 'a/b'" in err


def test_validate_missing_file(capsys, tmp_path: Path) -> None:
    missing = tmp_path / "missing.yaml"
    assert main(["validate", str(missing)]) == 2
    assert capsys.readouterr().err == f"tune-jobs: error: {missing}: file not found\n"


def test_trainables_lists_mlp(capsys) -> None:
    assert main(["trainables"]) == 0
    out = capsys.readouterr().out
    names = [line.split()[0] for line in out.splitlines() if line.strip()]
    assert "mlp" in names


@pytest.mark.parametrize(
    "argv",
    [
        ["--help"],
        ["run", "--help"],
        ["validate", "--help"],
        ["resume", "--help"],
        ["status", "--help"],
        ["trainables", "--help"],
    ],
)
def test_help_exits_0(argv: list[str], capsys) -> None:
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: tune-jobs")


def test_usage_error_is_one_line_exit_2(capsys) -> None:
    with pytest.raises(SystemExit) as info:
        main(["validate"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1
    assert err.startswith("tune-jobs validate: error: ")
