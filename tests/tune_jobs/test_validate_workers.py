"""``validate`` and ``run`` refuse, before Ray starts, specs whose every trial would fail.

A config key a built-in trainable does not have fails each trial in its worker; a searcher
given no space has nothing to propose. Both are one line naming the key, exit 2, and
nothing is written.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tune_jobs.cli.app import main

BASE = """\
name: keys
trainable: branin
metric: loss
mode: min
stop: {max_iterations: 2}
"""


def _refused(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, body: str, *args: str, command="validate"
) -> str:
    spec = tmp_path / "spec.yaml"
    spec.write_text(BASE + body, encoding="utf-8")
    storage = tmp_path / "store"
    code = main([command, str(spec), "--storage", str(storage), *args])
    out, err = capsys.readouterr()
    assert code == 2, (out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"tune-jobs: error: {spec}: "), lines[0]
    assert not storage.exists(), "a refused spec must write nothing"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["spec.yaml"]
    return lines[0]


@pytest.mark.parametrize(
    ("body", "where", "key"),
    [
        ("config: {x3: 1.0}\n", "config.x3", "x3"),
        ("space:\n  x1: {uniform: [-5, 10]}\n  xx2: {uniform: [0, 15]}\n", "space.xx2", "xx2"),
        ("space:\n  opt.lr: {loguniform: [1.0e-4, 1.0e-1]}\n", "space.opt.lr", "opt"),
        (
            "space:\n  x1: {uniform: [-5, 10]}\nvariants:\n  named:\n    far: {x9: 3.0}\n",
            "variants (far).x9",
            "x9",
        ),
        ("repeats: {n: 2, seed_key: sed}\n", "repeats.seed_key", "sed"),
    ],
)
def test_unknown_key_of_a_builtin_trainable_is_one_line(
    capsys, tmp_path: Path, body: str, where: str, key: str
) -> None:
    line = _refused(capsys, tmp_path, body)
    assert f": {where}: the branin trainable has no config key {key!r}" in line
    assert "allowed: " in line and "x1" in line and "x2" in line


def test_close_key_gets_a_did_you_mean(capsys, tmp_path: Path) -> None:
    line = _refused(capsys, tmp_path, "space:\n  x_1: {uniform: [-5, 10]}\n")
    assert "did you mean 'x1'?" in line


def test_set_override_with_unknown_key_is_refused(capsys, tmp_path: Path) -> None:
    line = _refused(capsys, tmp_path, "", "--set", "config.bogus=1")
    assert ": config.bogus: the branin trainable has no config key 'bogus'" in line


def test_run_refuses_the_same_key_before_ray_starts(
    capsys, tmp_path: Path, ray_started: list[str]
) -> None:
    _refused(capsys, tmp_path, "config: {x3: 1.0}\n", command="run")
    assert not ray_started


@pytest.mark.parametrize("algorithm", ["hyperopt", "lhs", "factorial"])
def test_searcher_with_empty_space_is_one_line(capsys, tmp_path: Path, algorithm: str) -> None:
    line = _refused(capsys, tmp_path, f"search: {{algorithm: {algorithm}, num_samples: 4}}\n")
    assert f": search.algorithm: {algorithm} proposes points of the space, and space: is empty" in (
        line
    )


def test_valid_keys_pass(capsys, tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        BASE + "config: {x2: 1.0}\nspace:\n  x1: {uniform: [-5, 10]}\n"
        "search: {algorithm: hyperopt, num_samples: 3}\n",
        encoding="utf-8",
    )
    code = main(["validate", str(spec), "--storage", str(tmp_path / "store")])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert out.splitlines()[-1] == "ok: spec is valid"


def test_user_trainables_keys_are_not_checked(capsys, tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        BASE.replace("branin", "tests.fixtures.user_trainables:counter")
        + "config: {anything: 1}\nspace:\n  whatever: {uniform: [0, 1]}\n",
        encoding="utf-8",
    )
    code = main(["validate", str(spec), "--storage", str(tmp_path / "store")])
    _, err = capsys.readouterr()
    assert code == 0, err
