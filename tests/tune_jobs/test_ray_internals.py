"""The seam to Ray's private parts: every name it uses exists in the installed Ray, nothing
else in the product touches one, and another Ray minor is refused in one line."""

from __future__ import annotations

import ast
import importlib
import inspect
import logging
import re
from pathlib import Path

import pytest

from tune_jobs import ray_internals
from tune_jobs.errors import UserError
from tune_jobs.ray_internals import (
    CONTROLLER_LOGGER,
    PRIVATE_NAMES,
    RESTORE_FAILED_MESSAGE,
    STATE_FILE_TEMPLATES,
    check_ray_version,
)

ROOT = Path(__file__).resolve().parents[2]
SEAM = ROOT / "tune_jobs" / "ray_internals.py"
THIRD_PARTY = ("ray", "hyperopt")


def _exists(module_name: str, dotted: str) -> bool:
    """``module.dotted`` exists as an attribute, or (for the last part) as an attribute
    the class sets on its instances (``self.<name> =``, maybe annotated, in its source)."""
    node: object = importlib.import_module(module_name)
    parts = dotted.split(".")
    for i, part in enumerate(parts):
        if hasattr(node, part):
            node = getattr(node, part)
            continue
        if i == len(parts) - 1 and inspect.isclass(node):
            assigned = rf"self\.{re.escape(part)}\s*(:[^=\n]+)?=[^=]"
            return re.search(assigned, inspect.getsource(node)) is not None
        return False
    return True


@pytest.mark.parametrize(("module", "name"), PRIVATE_NAMES, ids=lambda v: str(v))
def test_every_private_name_exists_in_the_installed_ray(module: str, name: str) -> None:
    assert _exists(module, name), f"{module}.{name} is gone: review tune_jobs/ray_internals.py"


def test_the_existence_check_can_fail() -> None:
    assert not _exists("ray.tune.search.repeater", "Repeater._no_such_attribute")
    assert not _exists("ray.tune.experiment.trial", "NoSuchClass.x")


@pytest.mark.parametrize("pattern", sorted(STATE_FILE_TEMPLATES))
def test_state_file_names_are_tunes_templates(pattern: str) -> None:
    module, dotted = STATE_FILE_TEMPLATES[pattern]
    value: object = importlib.import_module(module)
    for part in dotted.split("."):
        value = getattr(value, part)
    assert isinstance(value, str)
    assert value.replace("{}", "*") == pattern


def test_restore_failure_is_logged_with_the_text_we_listen_for() -> None:
    from ray.tune.execution import tune_controller

    assert tune_controller.logger.name == CONTROLLER_LOGGER
    source = inspect.getsource(tune_controller.TuneController.__init__)
    assert f'logger.exception("{RESTORE_FAILED_MESSAGE}")' in source


def test_the_repeat_position_and_pbt_interval_read_real_objects() -> None:
    from ray.tune.schedulers import PopulationBasedTraining
    from ray.tune.search import Repeater
    from ray.tune.search.basic_variant import BasicVariantGenerator  # noqa: F401
    from ray.tune.search.searcher import Searcher

    class Constant(Searcher):
        def suggest(self, trial_id: str) -> dict:
            return {"x": 1}

        def on_trial_complete(self, trial_id: str, result=None, error=False) -> None:
            pass

    repeater = Repeater(Constant(metric="m", mode="min"), repeat=3, set_index=False)
    ids = [f"t{i}" for i in range(4)]
    for trial_id in ids:
        repeater.suggest(trial_id)
    assert [ray_internals.repeat_position(repeater, t) for t in ids] == [0, 1, 2, 0]

    pbt = PopulationBasedTraining(
        time_attr="training_iteration",
        perturbation_interval=3,
        hyperparam_mutations={"lr": [0.1, 0.2]},
        metric="m",
        mode="min",
    )
    assert ray_internals.pbt_interval(pbt) == ("training_iteration", 3.0)


def test_tune_rng_wraps_a_seed_and_keeps_a_wrapped_one() -> None:
    first = ray_internals.tune_rng(7)
    assert ray_internals.tune_rng(first) is first
    assert first.uniform(0, 1) == ray_internals.tune_rng(7).uniform(0, 1)


def test_the_restore_listener_fires_on_tunes_message(tmp_path: Path) -> None:
    from tune_jobs.results.snapshot import refuse_silent_restart

    logger = logging.getLogger(CONTROLLER_LOGGER)
    with refuse_silent_restart("RUN"), pytest.raises(UserError, match="RUN: Tune could not"):
        try:
            raise ValueError("bad state")
        except ValueError:
            logger.exception(RESTORE_FAILED_MESSAGE)


@pytest.mark.parametrize("version", ["2.61.0", "3.0.1", "2.6.0", "nightly"])
def test_another_ray_minor_is_one_line_naming_both(version: str) -> None:
    with pytest.raises(UserError) as caught:
        check_ray_version(version)
    message = str(caught.value)
    assert "\n" not in message
    assert f"Ray {version}" in message and "Ray 2.60.x" in message
    assert "'ray[tune,default]>=2.60,<2.61'" in message


@pytest.mark.parametrize("version", ["2.60.0", "2.60.3", "2.60.0rc1"])
def test_the_tested_minor_passes(version: str) -> None:
    check_ray_version(version)
    check_ray_version()  # the installed Ray


def test_pyproject_pins_the_tested_minor() -> None:
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert '"ray[tune,default]>=2.60,<2.61"' in text
    assert ray_internals.TESTED_RAY == "2.60"


def _private_uses(path: Path) -> list[str]:
    """Private names of Ray or hyperopt that ``path`` touches: ``from ray._x import``,
    ``from ray.x import _Name``, and ``obj._name`` on anything but self/cls."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            parts = node.module.split(".")
            if parts[0] in THIRD_PARTY:
                if any(p.startswith("_") for p in parts):
                    found.append(f"{node.lineno}: from {node.module}")
                found += [
                    f"{node.lineno}: {node.module}.{a.name}"
                    for a in node.names
                    if a.name.startswith("_")
                ]
        elif isinstance(node, ast.Import):
            found += [
                f"{node.lineno}: import {a.name}"
                for a in node.names
                if a.name.split(".")[0] in THIRD_PARTY and "._" in a.name
            ]
        elif isinstance(node, ast.Attribute) and node.attr.startswith("_"):
            if node.attr.startswith("__") or node.attr in ("_replace", "_asdict", "_fields"):
                continue  # dunders and the public namedtuple API
            if isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"):
                continue
            found.append(f"{node.lineno}: {ast.unparse(node)}")
    return found


def test_no_private_ray_name_outside_the_seam() -> None:
    allowed = {
        # Our own private attributes on our own objects, and argparse's type for sub-parsers.
        "argparse._SubParsersAction",
        "run._finished",
    }
    offenders = []
    for package in ("tune_jobs", "trainables", "analysis", "cluster"):
        for path in sorted((ROOT / package).rglob("*.py")):
            if path == SEAM:
                continue
            for use in _private_uses(path):
                if use.split(": ", 1)[1] not in allowed:
                    offenders.append(f"{path.relative_to(ROOT)}:{use}")
    assert not offenders, "private Ray names belong in tune_jobs/ray_internals.py:\n" + "\n".join(
        offenders
    )


def test_the_private_use_finder_sees_each_form(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "from ray.train._internal.storage import StorageContext\n"
        "from ray.tune.search.sample import _BackwardsCompatibleNumpyRng\n"
        "def f(trial):\n    return trial.run_metadata._cache\n",
        encoding="utf-8",
    )
    uses = _private_uses(sample)
    assert len(uses) == 3, uses
