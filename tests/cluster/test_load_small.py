"""A small version of ``benchmarks/load_sweep.py``: many short trials, every row once (slow).

60 trials x 20 results of the benchmark's trivial trainable on the shared embedded
local Ray (``ray_local``); the Parquet tables must hold every ``(trial, iteration)``
exactly once and every trial TERMINATED.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from tests.conftest import run_spec_in_process

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]
TRIALS, RESULTS = 60, 20


def _load_sweep() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "load_sweep_bench", REPO / "benchmarks" / "load_sweep.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_many_short_trials_write_every_row_once(ray_local: None, tmp_path: Path) -> None:
    bench = _load_sweep()
    done = tmp_path / "done"
    done.mkdir()
    spec = bench.load_spec_dict(TRIALS, RESULTS, str(tmp_path / "results"), str(done))
    outcome = run_spec_in_process(tmp_path, spec)
    assert outcome.statuses == {"TERMINATED": TRIALS}
    assert len(list(done.iterdir())) == TRIALS  # every trial's function ran to its end
    check = bench.check_rows(outcome.run_dir, TRIALS, RESULTS)
    assert check.rows == check.unique == check.clean_rows == TRIALS * RESULTS, check
    assert check.trials == TRIALS and check.complete, check
    # The check itself notices an iteration or a trial short.
    assert not bench.check_rows(outcome.run_dir, TRIALS, RESULTS + 1).complete
    assert not bench.check_rows(outcome.run_dir, TRIALS + 1, RESULTS).complete
