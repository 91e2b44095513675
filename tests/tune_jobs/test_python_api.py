"""The Python API: ``tune_jobs.run`` / ``resume`` / ``load`` from a notebook or a script,
with the trainable a function of the caller's own."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

import tune_jobs
from tests.conftest import cli_env
from tune_jobs.errors import SpecError, UserError
from tune_jobs.names import SPEC_FILE
from tune_jobs.trial.trainable import PYTHON_FUNCTION, function_ref


def quadratic(config: dict[str, Any]) -> None:
    """A module-level trainable: importable as ``tests.tune_jobs.test_python_api:quadratic``."""
    from ray import tune

    for step in range(1, config["steps"] + 1):
        tune.report({"loss": (config["lr"] - 0.3) ** 2 + 1.0 / step})


def _spec(tmp_path: Path, trainable: Any = quadratic, **extra: Any) -> dict[str, Any]:
    return {
        "name": "api",
        "trainable": trainable,
        "metric": "loss",
        "mode": "min",
        "storage": str(tmp_path / "results"),
        "config": {"steps": 3},
        "space": {"lr": {"grid": [0.1, 0.3, 0.9]}},
        "search": {"algorithm": "grid"},
        **extra,
    }


def test_the_api_is_exported_from_the_package():
    import tune_jobs.execution.tuner
    import tune_jobs.plan.run_plan  # subpackages imported must not hide a function

    assert {"run", "resume", "load", "validate", "SweepResult", "BestTrial"} <= set(
        tune_jobs.__all__
    )
    assert all(callable(getattr(tune_jobs, n)) for n in tune_jobs.__all__ if n != "__version__")
    with pytest.raises(AttributeError):
        tune_jobs.no_such_function  # noqa: B018


def test_a_function_is_recorded_by_name_when_it_can_be_imported_else_by_a_marker():
    def inner(config: dict[str, Any]) -> None: ...

    assert function_ref(quadratic) == "tests.tune_jobs.test_python_api:quadratic"
    assert function_ref(inner) == PYTHON_FUNCTION.format("inner")
    assert function_ref(lambda c: None) == PYTHON_FUNCTION.format("<lambda>")


def test_a_bad_spec_raises_one_line_and_writes_nothing(tmp_path: Path, ray_started: list[str]):
    spec = _spec(tmp_path, search={"algorithm": "annealing"})
    with pytest.raises(SpecError, match=r"search\.algorithm.*allowed") as err:
        tune_jobs.run(spec)
    assert "\n" not in str(err.value)
    with pytest.raises(SpecError, match=r"search\.num_sample"):
        tune_jobs.run(_spec(tmp_path), overrides={"search.num_sample": 4})
    with pytest.raises(UserError, match="a path, YAML text or a mapping"):
        tune_jobs.run(42)  # type: ignore[arg-type]
    assert not (tmp_path / "results").exists()
    assert ray_started == []


def test_validate_returns_the_plan_without_starting_ray(tmp_path: Path, ray_started: list[str]):
    plan = tune_jobs.validate(_spec(tmp_path), overrides={"config.steps": 5})
    assert plan.spec.config["steps"] == 5
    assert any("trials" in line for line in plan.describe())
    assert not (tmp_path / "results").exists()
    assert ray_started == []


@pytest.mark.slow
def test_run_a_dict_with_a_module_function_then_load_it(ray_local: None, tmp_path: Path):
    result = tune_jobs.run(_spec(tmp_path))
    assert result.finished and result.statuses == {"TERMINATED": 3}
    assert Path(result.run_dir) == tmp_path / "results" / "api"

    best = result.best
    assert best is not None and best.config["lr"] == pytest.approx(0.3)
    assert best.value == pytest.approx(1.0 / 3)
    assert best.config["steps"] == 3

    trials = result.trials
    assert len(trials) == 3 and set(trials["status"]) == {"TERMINATED"}
    metrics = result.metrics()
    assert len(metrics) == 9  # 3 trials x 3 reports, each once
    recorded = yaml.safe_load((Path(result.run_dir) / SPEC_FILE).read_text())
    assert recorded["trainable"] == "tests.tune_jobs.test_python_api:quadratic"

    loaded = tune_jobs.load(result.run_dir)
    assert loaded.statuses == result.statuses and loaded.best == best
    with pytest.raises(UserError, match="not a tune-jobs run"):
        tune_jobs.load(tmp_path)


@pytest.mark.slow
def test_yaml_text_and_a_path_with_overrides(ray_local: None, tmp_path: Path):
    text = yaml.safe_dump(_spec(tmp_path, trainable="tests.fixtures.user_trainables:counter"))
    text = text.replace("lr", "x")
    overrides = {"config.n": 2, "metric": "score", "mode": "max"}
    result = tune_jobs.run(text, name="from_text", overrides=overrides)
    assert result.statuses == {"TERMINATED": 3}
    assert result.best is not None and result.best.config["x"] == pytest.approx(0.9)
    assert result.best.value == pytest.approx(0.9 * 100 + 2)

    path = tmp_path / "sweep.yaml"
    path.write_text(text)
    again = tune_jobs.run(path, name="from_path", overrides=["config.n=1"])
    assert again.statuses == {"TERMINATED": 3}
    assert again.best is None  # the counter reports `score`, never the spec's `loss`
    assert len(again.metrics()) == 3


@pytest.mark.slow
def test_a_closure_runs_and_resume_needs_it_again(ray_local: None, tmp_path: Path):
    marker = tmp_path / "fail-once"
    marker.write_text("1")

    def train(config: dict[str, Any]) -> None:  # a notebook cell's function
        from ray import tune

        if config["lr"] == 0.9 and marker.exists():
            marker.unlink()
            raise RuntimeError("planned failure")
        for step in range(1, 3):
            tune.report({"loss": config["lr"] + 1.0 / step, "diverged": config["lr"] == 0.1})

    result = tune_jobs.run(
        _spec(tmp_path, trainable=train, max_failures=0, max_concurrent=1),
    )
    assert result.statuses == {"DIVERGED": 1, "TERMINATED": 1, "ERROR": 1}
    recorded = yaml.safe_load((Path(result.run_dir) / SPEC_FILE).read_text())
    assert recorded["trainable"] == PYTHON_FUNCTION.format("train")

    with pytest.raises(SpecError, match=r"trainable=") as err:
        tune_jobs.resume(result.run_dir)
    assert "\n" not in str(err.value)

    resumed = tune_jobs.resume(result.run_dir, trainable=train)
    assert resumed.statuses == {"DIVERGED": 1, "TERMINATED": 2}  # the errored one again
    # lr=0.1 reported the lowest loss but flagged itself diverged: never the best.
    assert resumed.best is not None and resumed.best.config["lr"] == pytest.approx(0.3)


def _doc_example() -> str:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "python-api.md").read_text()
    return doc.split("```python\n", 1)[1].split("```", 1)[0]


@pytest.mark.slow
def test_the_documented_notebook_example_runs_as_written(tmp_path: Path):
    """The docs' example as a script: its function lives in ``__main__`` (as in a
    notebook), so it travels by value and ``spec.yaml`` records the marker."""
    script = tmp_path / "notebook.py"
    script.write_text(_doc_example() + "\nprint('BEST', result.best.trial_id, result.statuses)\n")
    done = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env=cli_env(),
    )
    assert done.returncode == 0, done.stderr[-3000:]
    run_dir = tmp_path / "results" / "lr_sweep"
    loaded = tune_jobs.load(run_dir)
    assert loaded.statuses == {"TERMINATED": 8}
    assert loaded.best is not None and f"BEST {loaded.best.trial_id}" in done.stdout
    assert yaml.safe_load((run_dir / SPEC_FILE).read_text())["trainable"] == (
        PYTHON_FUNCTION.format("train")
    )
    resume = subprocess.run(
        [sys.executable, "-m", "tune_jobs", "resume", str(run_dir)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=cli_env(),
    )
    assert resume.returncode == 2
    assert "trainable=train" in resume.stderr and len(resume.stderr.strip().splitlines()) == 1
