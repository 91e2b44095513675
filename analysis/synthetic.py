"""Synthesise a RUN_DIR exactly as the Parquet sink writes it: for tests and benchmarks.

``synthesize_run`` writes ``spec.yaml``, ``trials.parquet`` and ``metrics/`` part files
(the zero-row schema part first, then parts in arrival order, each holding a block of
iterations of every trial) with the sink's column names and types (docs/results.md).

The model: the final ``val_loss`` depends on the learning rate only (a parabola in
log10(lr), best at ``best_lr``) plus small noise; ``width``, ``depth`` and
``batch_size`` change time and throughput, never the loss. Trials with
``lr >= diverge_lr`` diverge a third of the way in (``DIVERGED``, a NaN loss last).
"""

from __future__ import annotations

import uuid
from typing import Any

import numpy as np
import pyarrow as pa
import yaml

from tune_jobs.names import (
    DIVERGED,
    METRICS_DIR,
    SCHEMA_PART,
    SPEC_FILE,
    TERMINATED,
    TIME_TO_TARGET,
    TRIALS_FILE,
)
from tune_jobs.results.repeats import config_id
from tune_jobs.results.storage import RunStorage

__all__ = ["synthesize_run"]

_WIDTHS = (32, 64, 128)
_DEPTHS = (1, 2)
_BATCHES = (64, 128, 256)
#: Metrics reported as Python ints (``float64`` in ``metrics/``, ``int64`` in trials).
_INT_METRICS = frozenset({"step", "iterations_to_target"})


def synthesize_run(
    run_dir: str,
    n_trials: int,
    n_results: int,
    seed: int = 0,
    *,
    lr_range: tuple[float, float] = (1.0e-4, 1.0e-1),
    lrs: list[float] | None = None,
    lr_sweep: bool = False,
    best_lr: float = 3.0e-3,
    diverge_lr: float | None = 3.0e-2,
    target: float | None = None,
    repeats: int = 1,
    stages: int = 1,
    n_parts: int = 10,
    noise: float = 0.01,
) -> dict[str, Any]:
    """Write a RUN_DIR of ``n_trials`` trials with ``n_results`` results each; return the spec.

    Args:
        run_dir: where to write (local path or URI; created if missing).
        lrs: fixed learning rates (an LR sweep: only ``lr`` varies); default: sampled
            log-uniformly from ``lr_range`` together with width, depth and batch size.
        lr_sweep: an LR sweep over 7 log-spaced rates of ``lr_range`` (if ``lrs`` is unset).
        target: adds ``stop.target`` on ``val_loss`` and the time-to-target columns.
        repeats: runs per configuration (``config/seed`` = repeat, shared ``config_id``).
        stages: 1, or 2 (the second half of the trials is stage 2, around ``best_lr``).
        n_parts: number of ``metrics/`` part files.
    """
    # Imported here: tune_jobs.sinks pulls in Ray, which plain analysis must not need.
    from tune_jobs.results.rows import rows_to_table_inferred

    rng = np.random.default_rng(seed)
    if lr_sweep and lrs is None:
        lrs = [float(v) for v in np.geomspace(lr_range[0], lr_range[1], 7)]
    configs = _configs(rng, n_trials, lr_range, lrs, best_lr, repeats, stages)
    run = RunStorage.open(run_dir)
    run.makedirs(METRICS_DIR)
    spec = _spec(run_dir, n_results, target, repeats, stages, lrs is not None)
    run.write_bytes(yaml.safe_dump(spec, sort_keys=False).encode(), SPEC_FILE)
    columns = _curves(rng, configs, n_results, best_lr, diverge_lr, target, noise)
    table = pa.table(columns)
    run.write_parquet(table.schema.empty_table(), METRICS_DIR, SCHEMA_PART)
    session = uuid.uuid4().hex[:8]
    order = np.lexsort((columns["trial_id"], columns["training_iteration"]))
    for part, rows in enumerate(np.array_split(order, max(1, n_parts)), start=1):
        run.write_parquet(
            table.take(pa.array(rows)), METRICS_DIR, f"part-{part:08d}-{session}.parquet"
        )
    trial_rows = _trial_rows(configs, table, run_dir)
    names = list(dict.fromkeys(k for row in trial_rows for k in row))
    run.write_parquet(rows_to_table_inferred(trial_rows, names), TRIALS_FILE)
    return spec


def _configs(rng, n, lr_range, lrs, best_lr, repeats, stages) -> list[dict[str, Any]]:
    n_configs = max(1, -(-n // repeats))
    lo, hi = np.log10(lr_range[0]), np.log10(lr_range[1])
    base = []
    for i in range(n_configs):
        stage = 2 if stages > 1 and i >= n_configs // 2 else 1
        if lrs is not None:
            config = {"lr": float(lrs[i % len(lrs)])}
        else:
            if stage == 2:  # refined around the best LR, as a second stage would be
                centre = np.log10(best_lr)
                lr = 10 ** rng.uniform(max(lo, centre - 0.25), min(hi, centre + 0.25))
            else:
                lr = 10 ** rng.uniform(lo, hi)
            config = {
                "lr": float(lr),
                "width": int(rng.choice(_WIDTHS)),
                "depth": int(rng.choice(_DEPTHS)),
                "batch_size": int(rng.choice(_BATCHES)),
            }
        base.append((stage, config))
    out = []
    for stage, config in base:
        for r in range(repeats):
            full = {"preset": "tiny", **config, "seed": r}
            out.append({"stage": stage, "repeat": r if repeats > 1 else 0, "config": full})
            if len(out) == n:
                return out
    return out


def _spec(run_dir, n_results, target, repeats, stages, lr_only) -> dict[str, Any]:
    space: dict[str, Any] = {"lr": {"loguniform": [1.0e-4, 1.0e-1]}}
    if lr_only:
        space = {"lr": {"grid": "see trials"}}
    else:
        space |= {
            "width": {"choice": list(_WIDTHS)},
            "depth": {"choice": list(_DEPTHS)},
            "batch_size": {"choice": list(_BATCHES)},
        }
    stop: dict[str, Any] = {"max_iterations": n_results}
    if target is not None:
        stop |= {"target": target, "target_metric": "val_loss"}
    name = str(run_dir).rstrip("/").rsplit("/", 1)[-1]
    spec: dict[str, Any] = {
        "name": name,
        "trainable": "synthetic",
        "metric": "val_loss",
        "mode": "min",
        "config": {"preset": "tiny", "seed": 0},
        "space": space,
        "search": {"algorithm": "random"},
        "stop": stop,
        "storage": str(run_dir).rstrip("/").rsplit("/", 1)[0],
    }
    if repeats > 1:
        spec["repeats"] = {"n": repeats, "seed_key": "seed"}
    if stages > 1:
        spec["stages"] = [{"name": "fine", "top_k": 5}]
    return spec


def _curves(rng, configs, n_results, best_lr, diverge_lr, target, noise) -> dict[str, np.ndarray]:
    n = len(configs)
    ids = np.array([f"{i:05d}_{int(rng.integers(16**5)):05x}" for i in range(n)])
    lr = np.array([c["config"]["lr"] for c in configs])
    width = np.array([c["config"].get("width", 64) for c in configs], dtype=float)
    batch = np.array([c["config"].get("batch_size", 128) for c in configs], dtype=float)
    floor = 1.0 + 0.5 * (np.log10(lr) - np.log10(best_lr)) ** 2 + rng.normal(0, noise, n)
    it = np.arange(1, n_results + 1, dtype=float)
    loss = floor[:, None] + 2.0 * np.exp(-it[None, :] / (0.2 * n_results))
    loss = loss + rng.normal(0, noise, loss.shape)
    per_iter = 0.05 * (width / 64) * (1 + batch / 256)
    time_this = per_iter[:, None] * rng.uniform(0.9, 1.1, loss.shape)
    time_total = np.cumsum(time_this, axis=1)
    length = np.full(n, n_results)
    diverged = np.zeros(n, dtype=bool) if diverge_lr is None else lr >= diverge_lr
    length[diverged] = max(1, n_results // 3)
    mask = it[None, :] <= length[:, None]
    last = mask & (it[None, :] == length[:, None])
    loss[diverged[:, None] & last] = np.nan
    trial = np.repeat(np.arange(n), n_results).reshape(n, n_results)
    cols: dict[str, Any] = {
        "trial_id": ids[trial[mask]],
        "attempt": np.zeros(mask.sum(), dtype=np.int64),
        "stage": np.array([c["stage"] for c in configs], dtype=np.int64)[trial[mask]],
        "step": (it[None, :] * 10).repeat(n, 0)[mask],
        "train_loss": (loss * 1.02)[mask],
        "val_loss": loss[mask],
        "tokens_per_s": (batch[:, None] * 128 / time_this)[mask],
        "diverged": (diverged[:, None] & last)[mask],
        "training_iteration": np.tile(it.astype(np.int64), (n, 1))[mask],
        "time_this_iter_s": time_this[mask],
        "time_total_s": time_total[mask],
        "timestamp": (1_700_000_000 + time_total).astype(np.int64)[mask],
    }
    if target is not None:
        hit = mask & (loss <= target)
        first = np.where(hit.any(axis=1), hit.argmax(axis=1), -1)
        reached = (first[:, None] >= 0) & (np.arange(n_results)[None, :] >= first[:, None])
        ttt = np.where(first >= 0, time_total[np.arange(n), np.maximum(first, 0)], np.nan)
        cols["reached_target"] = reached[mask]
        cols[TIME_TO_TARGET] = np.where(reached, ttt[:, None], np.nan)[mask]
        cols["iterations_to_target"] = np.where(reached, (first + 1.0)[:, None], np.nan)[mask]
    return cols


def _trial_rows(configs, table: pa.Table, run_dir: str) -> list[dict[str, Any]]:
    frame = table.to_pandas()
    last = frame.sort_values("training_iteration").groupby("trial_id", sort=False).tail(1)
    last = last.set_index("trial_id")
    rows = []
    for trial_id, info in zip(sorted(last.index), configs, strict=True):
        metrics = last.loc[trial_id].to_dict()
        diverged = bool(metrics.get("diverged"))
        row = {
            "trial_id": trial_id,
            "trial_name": f"synthetic_{trial_id}",
            "status": DIVERGED if diverged else TERMINATED,
            "variant": None,
            "stage": info["stage"],
            "config_id": config_id(info["config"], "seed"),
            "repeat": info["repeat"],
            "attempt": 0,
            "num_failures": 0,
            "error": None,
            "path": f"{str(run_dir).rstrip('/')}/{trial_id}",
        }
        row |= {f"config/{k}": v for k, v in info["config"].items()}
        for key, value in metrics.items():
            if key in ("attempt", "stage"):
                continue
            value = value.item() if hasattr(value, "item") else value
            if key in _INT_METRICS and isinstance(value, float) and np.isfinite(value):
                value = int(value)  # trainables report these as ints (int64 in trials)
            row[key] = (
                None
                if isinstance(value, float) and np.isnan(value) and key != "val_loss"
                else value
            )
        if diverged:
            row["diverged_reason"] = "val_loss is nan"
        rows.append(row)
    return rows
