"""A research repo with its own ``trainables/`` and ``analysis/`` packages never shadows
the service's: built-in and file trainables run, and ``report`` works, from that repo."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest
import yaml

from tests.conftest import cli_env
from tune_jobs.errors import SpecError
from tune_jobs.trial import user_code
from tune_jobs.trial.trainable import resolve_trainable

REPO = Path(__file__).resolve().parents[2]


def _user_repo(root: Path) -> Path:
    """A repo laid out as researchers' often are, whose package inits fail if imported."""
    for package in ("trainables", "analysis"):
        (root / package).mkdir(parents=True)
        (root / package / "__init__.py").write_text(
            f'raise ImportError("the user\'s own {package} package was imported")\n'
        )
    (root / "mylib.py").write_text("def score(x):\n    return (x - 0.3) ** 2\n")
    (root / "train.py").write_text(
        textwrap.dedent(
            """
            from ray import tune

            import mylib  # a helper module of the repo, imported by name

            def train(config):
                for step in range(3):
                    tune.report({"loss": mylib.score(config["x"]) + 1.0 / (step + 1)})
            """
        )
    )
    return root


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tune_jobs", *args],  # -m puts the repo first on sys.path
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env=cli_env(),
    )


def test_the_working_directory_is_searched_last(tmp_path: Path) -> None:
    path = user_code.user_path(str(tmp_path), f"/opt/a{user_code.os.pathsep}{tmp_path}")
    assert path.split(user_code.os.pathsep) == ["/opt/a", str(tmp_path)]
    assert user_code.collides_with_ours("trainables.mine")
    assert not user_code.collides_with_ours("mytrainables")


def test_our_packages_resolve_to_our_tree_even_with_the_repo_first_on_sys_path(
    tmp_path: Path,
) -> None:
    repo = _user_repo(tmp_path / "repo")
    probe = (
        "import sys; sys.path.insert(0, sys.argv[1]); import tune_jobs, trainables, analysis;"
        "print(trainables.__file__); print(analysis.__file__)"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe, str(repo)], capture_output=True, text=True, check=True
    )
    assert [Path(p).parent.parent for p in out.stdout.split()] == [REPO, REPO]


def test_a_module_named_like_our_package_is_one_clear_line(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(_user_repo(tmp_path / "repo"))
    with pytest.raises(SpecError, match="name of a tune-jobs package") as err:
        resolve_trainable("trainables.mine:train", "spec.yaml")
    assert "\n" not in str(err.value)


@pytest.mark.slow
def test_sweeps_and_report_run_from_a_repo_with_its_own_trainables_and_analysis(
    tmp_path: Path,
) -> None:
    repo = _user_repo(tmp_path / "repo")
    storage = tmp_path / "results"
    specs = {
        "builtin": {
            "trainable": "branin",
            "metric": "value",
            "config": {"iterations": 2},
            "space": {"x1": {"uniform": [-5, 10]}},
        },
        "from_file": {
            "trainable": "train.py:train",
            "metric": "loss",
            "space": {"x": {"uniform": [0, 1]}},
        },
    }
    for name, spec in specs.items():
        full = {
            "name": name,
            **spec,
            "search": {"algorithm": "random", "num_samples": 2, "seed": 0},
            "storage": str(storage),
        }
        (repo / f"{name}.yaml").write_text(yaml.safe_dump(full))
        run = _cli("run", f"{name}.yaml", cwd=repo)
        assert run.returncode == 0, run.stderr[-3000:]
        trials = pd.read_parquet(storage / name / "trials.parquet")
        assert len(trials) == 2 and set(trials["status"]) == {"TERMINATED"}, trials["error"]
    report = _cli("report", str(storage / "from_file"), "--out", str(tmp_path / "rep"), cwd=repo)
    assert report.returncode == 0, report.stderr[-3000:]
    assert list((tmp_path / "rep").glob("*.md")) and list((tmp_path / "rep").glob("*.html"))
