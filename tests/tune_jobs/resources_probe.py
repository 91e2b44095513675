"""A test trainable that records which GPUs Ray gave it and when it ran.

Each trial writes ``<out_dir>/<trial_id>.json`` with its start/end wall-clock times,
``ray.get_gpu_ids()``, ``CUDA_VISIBLE_DEVICES`` and, with ``worker_gpus``, the GPU ids a
task it started inside its placement group saw.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import ray
from ray import tune

__all__ = ["probe"]


@ray.remote
def _worker_view() -> dict[str, Any]:
    return {
        "gpu_ids": [str(i) for i in ray.get_gpu_ids()],
        "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES"),
    }


def probe(config: dict[str, Any]) -> None:
    """Hold the resources for ``hold_s`` seconds, then report ``score`` once."""
    start = time.time()
    record: dict[str, Any] = {
        "trial_id": tune.get_context().get_trial_id(),
        "start": start,
        "gpu_ids": [str(i) for i in ray.get_gpu_ids()],
        "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES"),
    }
    if config.get("worker_gpus"):
        task = _worker_view.options(num_cpus=0, num_gpus=config["worker_gpus"])
        record["worker"] = ray.get(task.remote())
    time.sleep(float(config.get("hold_s", 1.0)))
    record["end"] = time.time()
    out = Path(config["out_dir"]) / f"{record['trial_id']}.json"
    out.write_text(json.dumps(record))
    tune.report({"score": 1.0})
