"""Per-trial GPUs on fake GPUs: packing, visible devices, multi-GPU trials, oversize.

Uses the session's local Ray (``ray_local``: 2 CPUs, 2 fake GPUs); the trainable
``tests.tune_jobs.resources_probe:probe`` records its GPU ids and start/end times.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO, cli_env, run_spec_in_process
from tune_jobs.errors import UserError

pytestmark = pytest.mark.slow
PROBE = "tests.tune_jobs.resources_probe:probe"


def _spec(out: Path, name: str, resources: dict, trials: int, hold_s: float) -> dict[str, Any]:
    return {
        "name": name,
        "trainable": PROBE,
        "metric": "score",
        "mode": "max",
        "config": {"out_dir": str(out), "hold_s": hold_s},
        "space": {"i": {"grid": list(range(trials))}},
        "resources": resources,
    }


def _records(out: Path) -> list[dict[str, Any]]:
    return [json.loads(p.read_text()) for p in sorted(out.glob("*.json"))]


def _peak(records: list[dict[str, Any]]) -> tuple[int, list[dict[str, Any]]]:
    """Most trials running at once, and the trials running at that moment."""
    best: tuple[int, list[dict[str, Any]]] = (0, [])
    for r in records:
        t = r["start"] + 1e-6
        running = [o for o in records if o["start"] <= t < o["end"]]
        if len(running) > best[0]:
            best = (len(running), running)
    return best


def test_quarter_of_two_gpus_runs_four_at_once(ray_local, tmp_path: Path) -> None:
    out = tmp_path / "probe"
    out.mkdir()
    spec = _spec(out, "pack", {"cpu": 0.25, "gpu": 0.5}, trials=8, hold_s=5.0)
    outcome = run_spec_in_process(tmp_path, spec)
    assert outcome.statuses == {"TERMINATED": 8}
    records = _records(out)
    assert len(records) == 8
    for r in records:
        assert len(r["gpu_ids"]) == 1 and r["gpu_ids"][0] in ("0", "1")
        assert r["cuda_visible_devices"] == r["gpu_ids"][0]  # what Ray assigned
    peak, running = _peak(records)
    assert peak == 4  # 2 GPUs / 0.5: never more, and the packing is reached
    # Two trials share each GPU at the peak: sharers saw the same device id.
    assert Counter(r["gpu_ids"][0] for r in running) == {"0": 2, "1": 2}


def test_multi_gpu_trial_and_bundles(ray_local, tmp_path: Path) -> None:
    out = tmp_path / "two"
    out.mkdir()
    outcome = run_spec_in_process(
        tmp_path, _spec(out, "two_gpus", {"cpu": 0.5, "gpu": 2}, trials=2, hold_s=0.5)
    )
    assert outcome.statuses == {"TERMINATED": 2}
    for r in _records(out):
        assert sorted(r["gpu_ids"]) == ["0", "1"]
        assert r["cuda_visible_devices"] == ",".join(r["gpu_ids"])
    # One GPU for the trial, one in an extra bundle for a task it starts itself.
    out = tmp_path / "bundles"
    out.mkdir()
    spec = _spec(
        out,
        "bundles",
        {"cpu": 0.5, "gpu": 1, "bundles": [{"gpu": 1}], "strategy": "PACK"},
        trials=1,
        hold_s=0.1,
    )
    spec["config"]["worker_gpus"] = 1
    assert run_spec_in_process(tmp_path, spec).statuses == {"TERMINATED": 1}
    (record,) = _records(out)
    assert len(record["gpu_ids"]) == 1
    worker = record["worker"]
    assert len(worker["gpu_ids"]) == 1 and worker["gpu_ids"] != record["gpu_ids"]
    assert worker["cuda_visible_devices"] == worker["gpu_ids"][0]


def test_oversized_request_fails_before_any_trial(ray_local, tmp_path: Path) -> None:
    out = tmp_path / "big"
    out.mkdir()
    with pytest.raises(UserError) as err:
        run_spec_in_process(tmp_path, _spec(out, "big", {"gpu": 3}, trials=1, hold_s=0))
    message = str(err.value)
    assert message.startswith("resources.gpu: a trial asks for 3 GPU")
    assert "largest node has 2" in message and "GPU 2" in message
    assert not list(out.iterdir())
    with pytest.raises(UserError, match=r"^resources\.custom\.A100: .*no node has A100"):
        run_spec_in_process(tmp_path, _spec(out, "custom", {"custom": {"A100": 1}}, 1, 0))


def test_oversized_request_exits_2_through_the_cli(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "tune_jobs",
            "run",
            "tune_jobs/specs/demo.yaml",
            "--smoke",
            "--storage",
            str(tmp_path / "results"),
            "--set",
            "resources.gpu=64",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env=cli_env(),
    )
    assert result.returncode == 2, result.stderr[-2000:]
    # Ray's own "Started a local Ray instance" log line may come first; ours is one line.
    errors = [line for line in result.stderr.splitlines() if "error" in line.lower()]
    assert len(errors) == 1, result.stderr[-2000:]
    assert errors[0].startswith("tune-jobs: error: resources.gpu: a trial asks for 64 GPU")
    assert "largest node has" in errors[0] or "no node has GPU" in errors[0]
    assert "Trial" not in result.stdout  # nothing launched
