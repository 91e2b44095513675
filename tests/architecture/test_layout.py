"""The layout docs/architecture.md describes: one direction of imports, no circles, small
modules, trainables that know nothing of the service."""

from __future__ import annotations

import ast

import pytest

from tests.architecture.imports import ROOT, cycles, import_graph, module_files

GRAPH = import_graph()
#: The most lines a module may have: past it, split it along what belongs together.
MAX_LINES = 420
#: Modules at the top of tune_jobs/ (the rest lives in packages named by concept).
MAX_TOP_MODULES = 8


def test_no_two_modules_import_each_other():
    assert cycles(GRAPH) == []


def test_the_import_walker_sees_a_circle_through_a_function_level_import(tmp_path):
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c"]]


def test_only_the_cli_of_tune_jobs_imports_analysis_or_cluster():
    reverse = {
        module: sorted(t for t in targets if t.split(".")[0] in ("analysis", "cluster"))
        for module, targets in GRAPH.items()
        if module.startswith("tune_jobs") and not module.startswith("tune_jobs.cli")
    }
    assert {m: t for m, t in reverse.items() if t} == {}


def test_trainables_import_nothing_of_the_service():
    found = {
        module: sorted(t for t in targets if not t.startswith("trainables"))
        for module, targets in GRAPH.items()
        if module.startswith("trainables")
    }
    assert {m: t for m, t in found.items() if t} == {}


def _ray_imports(path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names if a.name.split(".")[0] == "ray"}
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "ray":
            names.add(node.module or "")
    return names


def test_trainables_touch_ray_in_two_places_only():
    """Built-ins report and restore through ``_checkpoint``; command trainables report the
    lines they parse from their subprocess."""
    users = {
        str(path.relative_to(ROOT))
        for name, path in module_files().items()
        if name.startswith("trainables") and _ray_imports(path)
    }
    assert users == {"trainables/_checkpoint.py", "trainables/command.py"}


@pytest.mark.parametrize("package", ["tune_jobs", "analysis", "trainables", "cluster"])
def test_modules_stay_small(package):
    long = {
        str(path.relative_to(ROOT)): n
        for name, path in module_files().items()
        if name.split(".")[0] == package and (n := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert long == {}


def test_few_modules_at_the_top_of_tune_jobs():
    top = sorted(p.name for p in (ROOT / "tune_jobs").glob("*.py"))
    assert len(top) <= MAX_TOP_MODULES, top


def test_architecture_doc_names_every_package():
    doc = (ROOT / "docs" / "architecture.md").read_text()
    packages = [
        p.relative_to(ROOT).as_posix()
        for base in ("tune_jobs", "analysis", "trainables", "cluster")
        for p in [ROOT / base, *(ROOT / base).rglob("*")]
        if p.is_dir() and (p / "__init__.py").exists()
    ]
    missing = [p for p in packages if f"`{p}/`" not in doc]
    assert missing == []
