"""CLI contract of ``report``, ``best`` and ``export``: user mistakes exit 2 with one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from tune_jobs.cli.app import main


def _error_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    return err


@pytest.mark.parametrize("command", [["report"], ["best"], ["export", "--csv"]])
def test_missing_run_dir_exits_2_with_one_line(
    command: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nope"
    assert main([command[0], str(missing), *command[1:]]) == 2
    line = _error_line(capsys)
    assert str(missing) in line and "not a tune-jobs run directory" in line


def test_best_without_results_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "spec.yaml").write_text("name: empty\ntrainable: branin\nmetric: value\n")
    assert main(["best", str(tmp_path)]) == 2
    assert "no results for 'value' yet" in _error_line(capsys)


def test_unknown_metric_exits_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    from analysis.synthetic import synthesize_run

    smoke_run_dir = str(tmp_path / "run")
    synthesize_run(smoke_run_dir, n_trials=4, n_results=5, seed=0)
    assert main(["best", smoke_run_dir, "--metric", "no_such_metric"]) == 2
    line = _error_line(capsys)
    assert "unknown metric 'no_such_metric'" in line
    assert main(["export", smoke_run_dir, "--csv", "--metric", "no_such_metric"]) == 2
    _error_line(capsys)
    out = tmp_path / "r"
    assert main(["report", smoke_run_dir, "--out", str(out), "--metric", "no_such_metric"]) == 2
    _error_line(capsys)
    assert not out.exists()


def test_top_must_be_positive(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["best", str(tmp_path), "--top", "0"])
    assert exited.value.code == 2
    assert "--top" in _error_line(capsys)
