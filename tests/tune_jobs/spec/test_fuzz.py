"""Fuzz: random mutations of every shipped spec never produce a traceback.

Each mutant is either a valid plan (exit 0) or one error line (exit 2) naming the file;
nothing else is printed to stderr, and ``validate`` never writes a file or starts Ray.
The mutations are seeded, so a failure names a reproducible ``(spec, seed)``.
"""

from __future__ import annotations

import copy
import random
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tune_jobs.cli.app import main

SPECS_DIR = Path(__file__).parents[3] / "tune_jobs" / "specs"
SHIPPED = sorted(SPECS_DIR.rglob("*.yaml"))
MUTANTS_PER_SPEC = 100

# Values of the wrong type, out of range, odd text and huge numbers.
ODD_VALUES: list[Any] = [
    None,
    True,
    0,
    -1,
    -(10**30),
    10**30,
    1e308,
    float("inf"),
    float("nan"),
    "",
    "🙂 ünïcödé",
    "\x00nul",
    "../../x",
    "/etc/passwd",
    "x" * 10_000,
    [],
    [1, "a", None],
    {},
    {"unexpected": {"deeper": [1]}},
    "{loguniform: [1, 0]}",
]


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every key path into nested dicts and lists (the root excluded)."""
    out: list[tuple[Any, ...]] = []
    items: list[tuple[Any, Any]] = []
    if isinstance(node, dict):
        items = list(node.items())
    elif isinstance(node, list):
        items = list(enumerate(node))
    for key, child in items:
        out.append((*prefix, key))
        out.extend(_paths(child, (*prefix, key)))
    return out


def _parent(root: Any, path: tuple[Any, ...]) -> Any:
    for key in path[:-1]:
        root = root[key]
    return root


def mutate(spec: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """One to three random edits: delete a key, replace a value, scale a number, add a key."""
    mutant = copy.deepcopy(spec)
    for _ in range(rng.randint(1, 3)):
        paths = _paths(mutant)
        if not paths:
            break
        path = rng.choice(paths)
        parent = _parent(mutant, path)
        key = path[-1]
        action = rng.choice(("delete", "replace", "replace", "scale", "add_key", "swap_type"))
        if action == "delete":
            del parent[key]
        elif action == "replace":
            parent[key] = copy.deepcopy(rng.choice(ODD_VALUES))
        elif action == "scale" and isinstance(parent[key], (int, float)):
            parent[key] = parent[key] * rng.choice((-1, 0, 1e9, -1e9, 1e-12))
        elif action == "add_key" and isinstance(parent[key], dict):
            parent[key][rng.choice(("extra", "typo_key", "✓", "1"))] = rng.choice(ODD_VALUES)
        elif action == "swap_type":
            value = parent[key]
            parent[key] = [value] if not isinstance(value, list) else {"k": value}
    return mutant


def _dump(mutant: dict[str, Any], path: Path) -> None:
    # allow_unicode keeps odd text as text; NaN/inf survive as YAML .nan/.inf.
    path.write_text(yaml.safe_dump(mutant, allow_unicode=True, sort_keys=False), "utf-8")


def test_shipped_specs_found() -> None:
    assert len(SHIPPED) >= 8, SHIPPED


@pytest.mark.parametrize("spec_path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_mutants_validate_or_fail_in_one_line(
    spec_path: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    ray_started: list[str],
) -> None:
    original = yaml.safe_load(spec_path.read_text(encoding="utf-8"))
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setattr(sys, "path", list(sys.path))
    rng = random.Random(spec_path.stem)
    outcomes = {0: 0, 2: 0}
    for seed in range(MUTANTS_PER_SPEC):
        mutant_path = tmp_path / f"{spec_path.stem}-{seed}.yaml"
        _dump(mutate(original, rng), mutant_path)
        # A relative `train.py:func` trainable must still resolve next to the spec.
        for sibling in spec_path.parent.glob("*.py"):
            target = tmp_path / sibling.name
            if not target.exists():
                target.write_bytes(sibling.read_bytes())
        code = main(["validate", str(mutant_path)])
        _, err = capsys.readouterr()
        where = f"{spec_path.name} mutant {seed}: {mutant_path.read_text('utf-8')[:2000]}"
        assert code in outcomes, f"exit {code}; {where}\n{err}"
        assert "Traceback" not in err, where
        if code == 2:
            lines = err.splitlines()
            assert len(lines) == 1, f"{where}\n{err}"
            assert lines[0].startswith("tune-jobs: error: "), f"{where}\n{err}"
        outcomes[code] += 1
    assert list(work.iterdir()) == [], "validate must not write anything"
    assert not ray_started
    # The mutations must hit both sides: some mutants stay valid, most do not.
    assert outcomes[2] > 0
