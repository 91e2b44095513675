"""A trial that exhausts its memory: isolated, recorded as ERROR with an out-of-memory
message, the sweep goes on (``resources.memory``, tune_jobs.trial.memory_limit).

The allocations that must fail use ``np.empty``/``torch.empty``: should the limit ever
not hold, they reserve address space without touching it, so the test fails instead of
exhausting the machine.
"""

from __future__ import annotations

import resource
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tune_jobs.errors import SpecError
from tune_jobs.spec.convert import build
from tune_jobs.spec.schema import ResourcesSpec, parse_memory
from tune_jobs.trial.memory_limit import (
    OUT_OF_MEMORY,
    TrialOutOfMemoryError,
    call_with_memory_limit,
    data_size,
    memory_limit,
)

MiB = 1 << 20
linux_only = pytest.mark.skipif(data_size() is None, reason="RLIMIT_DATA is enforced on Linux")


def hog(config: dict[str, Any]) -> None:
    """Reports once, allocates ``alloc_mb`` MiB with ``lib`` (numpy or torch), reports
    again. Up to 256 MiB the memory is written (a real use); beyond, only reserved."""
    from ray import tune

    tune.report({"score": 1.0})
    size = int(config["alloc_mb"]) * MiB
    touch = size <= 256 * MiB
    if config["lib"] == "torch":
        import torch

        block = torch.ones(size, dtype=torch.uint8) if touch else torch.empty(size)
        held = int(block.numel())
    else:
        block = np.ones(size, dtype=np.uint8) if touch else np.empty(size, np.uint8)
        held = int(block.size)
    tune.report({"score": 2.0, "held_mb": held / MiB})


def test_memory_amounts_parse_and_reach_ray() -> None:
    assert parse_memory("512MiB") == 512 * MiB
    assert parse_memory("1.5GiB") == 1536 * MiB
    assert parse_memory("2 GB") == 2 * 10**9
    spec = build(ResourcesSpec, {"cpu": 1, "memory": "256MiB"}, "resources", "s.yaml")
    assert spec.memory_bytes == 256 * MiB
    assert spec.request() == {"cpu": 1.0, "gpu": 0.0, "memory": float(256 * MiB)}
    assert spec.as_ray_bundles() == [{"CPU": 1.0, "memory": float(256 * MiB)}]
    assert build(ResourcesSpec, {"cpu": 1}, "resources", "s.yaml").request() == {
        "cpu": 1.0,
        "gpu": 0.0,
    }


def test_memory_no_node_can_hold_is_one_line() -> None:
    from tune_jobs.errors import UserError
    from tune_jobs.execution.resources import NodeCapacity, check_fits

    spec = build(ResourcesSpec, {"cpu": 1, "memory": "64GiB"}, "resources", "s.yaml")
    node = NodeCapacity("10.0.0.2", {"CPU": 8.0, "memory": float(16 << 30)})
    with pytest.raises(UserError, match=r"^resources\.memory: a trial asks for 65536 MiB of "):
        check_fits(spec, [node])
    check_fits(build(ResourcesSpec, {"memory": "8GiB"}, "resources", "s.yaml"), [node])


@pytest.mark.parametrize(
    ("raw", "where", "problem"),
    [
        ({"memory": "4G"}, "resources.memory", "e.g. 4GiB or 512MiB"),
        ({"memory": "lots"}, "resources.memory", "got 'lots'"),
        ({"memory": "10KiB"}, "resources.memory", "at least 1MiB"),
        ({"memory": 4096}, "resources.memory", "expected a string"),
        ({"custom": {"memory": 1e9}}, "resources.custom.memory", "use the memory: key"),
    ],
)
def test_bad_memory_is_a_one_line_spec_error(raw: dict, where: str, problem: str) -> None:
    with pytest.raises(SpecError) as err:
        build(ResourcesSpec, raw, "resources", "s.yaml")
    assert err.value.key_path == where and problem in str(err.value)
    assert "\n" not in str(err.value)


@linux_only
def test_limit_fails_big_allocations_and_is_lifted_afterwards() -> None:
    before = resource.getrlimit(resource.RLIMIT_DATA)
    with memory_limit(128 * MiB) as limit:
        assert limit is not None and resource.getrlimit(resource.RLIMIT_DATA)[0] == limit
        small = np.ones(32 * MiB, dtype=np.uint8)  # within the budget: works
        with pytest.raises(MemoryError):
            np.empty(1024 * MiB, dtype=np.uint8)
    assert resource.getrlimit(resource.RLIMIT_DATA) == before
    assert np.empty(1024 * MiB, dtype=np.uint8).size == 1024 * MiB  # no limit any more
    assert small.sum() == 32 * MiB


@linux_only
def test_a_later_trial_in_the_same_process_gets_its_own_limit() -> None:
    """reuse_actors: a trial whose clean-up runs after the next trial started (a stopped
    trial's thread) must not lift the next trial's limit."""
    before = resource.getrlimit(resource.RLIMIT_DATA)
    first = memory_limit(64 * MiB)
    first.__enter__()
    with memory_limit(512 * MiB) as second:
        assert resource.getrlimit(resource.RLIMIT_DATA)[0] == second
        first.__exit__(None, None, None)  # the older trial ends late
        assert resource.getrlimit(resource.RLIMIT_DATA)[0] == second
    assert resource.getrlimit(resource.RLIMIT_DATA) == before


@linux_only
@pytest.mark.parametrize("lib", ["numpy", "torch"])
def test_failed_allocation_becomes_a_clear_out_of_memory_error(lib: str) -> None:
    config = {"alloc_mb": 4096, "lib": lib, "touch": False}
    with pytest.raises(TrialOutOfMemoryError) as err:
        call_with_memory_limit(_allocate, config, 128 * MiB)
    message = str(err.value)
    assert message.startswith(f"{OUT_OF_MEMORY} 128 MiB (resources.memory)"), message
    assert "\n" not in message
    # Other errors are not disguised as out-of-memory.
    with pytest.raises(KeyError):
        call_with_memory_limit(lambda c: c["missing"], {}, 128 * MiB)


def _allocate(config: dict[str, Any]) -> int:
    size = int(config["alloc_mb"]) * MiB
    if config["lib"] == "torch":
        import torch

        return int(torch.empty(size, dtype=torch.uint8).numel())
    return int(np.empty(size, dtype=np.uint8).size)


@linux_only
@pytest.mark.slow
def test_trial_beyond_its_memory_is_error_and_the_sweep_goes_on(
    ray_local: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from analysis import load_metrics, load_trials
    from tests.conftest import run_spec_in_process
    from tune_jobs.cli.status import print_status

    outcome = run_spec_in_process(
        tmp_path,
        {
            "name": "oom",
            "trainable": "tests/tune_jobs/test_trial_faults.py:hog",
            "metric": "score",
            "mode": "max",
            "config": {"lib": "numpy"},  # torch (slower to import): the unit test above
            "space": {"alloc_mb": {"grid": [64, 8192]}},
            "search": {"algorithm": "grid"},
            "resources": {"cpu": 1, "memory": "384MiB"},
        },
    )
    assert outcome.statuses == {"ERROR": 1, "TERMINATED": 1}
    trials = load_trials(outcome.run_dir)
    for _, row in trials.iterrows():
        if row["config/alloc_mb"] == 8192:
            assert row["status"] == "ERROR"
            assert f"{OUT_OF_MEMORY} 384 MiB (resources.memory)" in row["error"], row["error"]
            assert "\n" not in row["error"]
        else:
            assert row["status"] == "TERMINATED" and pd_isna(row["error"])
    metrics = load_metrics(outcome.run_dir)
    held = metrics.dropna(subset=["held_mb"])
    assert held["held_mb"].tolist() == [64.0]  # only the in-budget trial got there
    assert len(metrics) == 2 + 1  # the failed trial's first report is kept

    capsys.readouterr()
    assert print_status(outcome.run_dir) == 0
    shown = capsys.readouterr().out
    assert "trials: 2 (1 ERROR, 1 TERMINATED)" in shown
    assert shown.count(OUT_OF_MEMORY) == 1


def pd_isna(value: Any) -> bool:
    import pandas as pd

    return bool(pd.isna(value))
