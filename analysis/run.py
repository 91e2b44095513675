"""``SweepRun``: one RUN_DIR's trials, metrics and spec, and what kind of sweep it is.

Built by ``analysis.load_run``; the report and the notebooks pick their views from its
properties (``is_lr_sweep``, ``has_stages``, ``has_repeats``, ``has_time_to_target``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from tune_jobs.names import TIME_TO_TARGET
from tune_jobs.results.ranking import Objective

__all__ = ["LR_NAMES", "SweepRun", "find_lr_column", "param_columns_of", "seed_key_of"]

#: Parameter names (last dotted part, lower case) taken for a learning rate.
LR_NAMES = frozenset({"lr", "learning_rate", "learningrate", "base_lr", "max_lr", "peak_lr"})


@dataclass(frozen=True)
class SweepRun:
    """One RUN_DIR as DataFrames (see docs/results.md for the columns).

    Attributes:
        run_dir: the RUN_DIR it was loaded from (path or URI).
        trials: ``trials.parquet``, one row per trial (after the load filters).
        metrics: ``metrics/``, one row per result (the clean view by default).
        metric, mode: the spec's objective (``None`` if the spec names none).
        spec: the resolved ``spec.yaml`` (empty for a RUN_DIR without one yet).
        param_columns: the searched parameters' ``config/...`` columns in ``trials``.
    """

    run_dir: str
    trials: pd.DataFrame
    metrics: pd.DataFrame
    metric: str | None
    mode: str | None
    spec: dict[str, Any] = field(default_factory=dict)
    param_columns: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        """The experiment name (the spec's ``name``, else the RUN_DIR's last part)."""
        return str(self.spec.get("name") or self.run_dir.rstrip("/").rsplit("/", 1)[-1])

    @property
    def is_empty(self) -> bool:
        """No trial written yet."""
        return self.trials.empty

    @property
    def stages(self) -> list[int]:
        """The stages present in ``trials`` (``[1]`` for a sweep without stages)."""
        if self.trials.empty or "stage" not in self.trials.columns:
            return [1] if not self.trials.empty else []
        return sorted(int(s) for s in self.trials["stage"].fillna(1).unique())

    @property
    def has_stages(self) -> bool:
        """More than one stage has trials."""
        return len(self.stages) > 1

    @property
    def has_repeats(self) -> bool:
        """Some configuration (``config_id``) ran more than once."""
        if self.trials.empty or "config_id" not in self.trials.columns:
            return False
        return bool(self.trials["config_id"].duplicated().any())

    @property
    def has_time_to_target(self) -> bool:
        """The sweep had a ``stop.target`` (trials carry ``time_to_target_s``)."""
        stop = self.spec.get("stop") or {}
        return (isinstance(stop, dict) and stop.get("target") is not None) or (
            TIME_TO_TARGET in self.trials.columns
        )

    @property
    def target(self) -> tuple[str, float, str] | None:
        """``(target_metric, target, target_mode)`` from the spec's ``stop``, if any."""
        stop = self.spec.get("stop") or {}
        if not isinstance(stop, dict) or stop.get("target") is None:
            return None
        metric = stop.get("target_metric") or self.metric
        if metric == TIME_TO_TARGET:
            metric = None
        mode = stop.get("target_mode") or (self.mode if metric == self.metric else None)
        return (metric or "", float(stop["target"]), mode or "min")

    def objective(self, metric: str | None = None, mode: str | None = None) -> Objective:
        """What ranks this run's trials (``tune_jobs.results.ranking``): the spec's
        objective with its target, or ``metric``/``mode`` when another metric is asked."""
        metric, mode = metric or self.metric, mode or self.mode or "min"
        if metric == self.metric and mode == self.mode and self.spec:
            return Objective.from_spec_dict(self.spec)
        return Objective(str(metric), mode)

    @property
    def lr_column(self) -> str | None:
        """The learning-rate parameter's column, if one is searched."""
        return find_lr_column(self.param_columns)

    @property
    def batch_column(self) -> str | None:
        """The batch-size parameter's column (``config/...batch_size``), if one is searched."""
        for column in self.param_columns:
            leaf = column.removeprefix("config/").rsplit(".", 1)[-1].lower()
            if leaf in ("batch_size", "batch", "bs", "train_batch_size"):
                return column
        return None

    @property
    def throughput_column(self) -> str | None:
        """A throughput metric in ``trials`` (``tokens_per_s``, ``samples_per_s``, any
        other ``*_per_s`` or ``throughput``), if the trainable reports one."""
        numeric = [
            c
            for c in self.trials.columns
            if not str(c).startswith("config/") and pd.api.types.is_numeric_dtype(self.trials[c])
        ]
        for column in ("tokens_per_s", "samples_per_s", "throughput"):
            if column in numeric:
                return column
        return next((c for c in numeric if str(c).endswith("_per_s")), None)

    @property
    def is_lr_sweep(self) -> bool:
        """An LR sweep: a learning-rate parameter takes at least two values and it is the
        only parameter that varies, or the only key of the spec's ``space`` or of its
        ``variants.one_factor`` (a one-factor LR sweep with a few named extras)."""
        column = self.lr_column
        if column is None or self.trials[column].nunique(dropna=True) < 2:
            return False
        varying = [c for c in self.param_columns if _varies(self.trials[c])]
        if varying == [column]:
            return True
        key = column.removeprefix("config/")
        space = self.spec.get("space") or {}
        variants = self.spec.get("variants") or {}
        one_factor = variants.get("one_factor") if isinstance(variants, dict) else None
        return list(space) == [key] or (isinstance(one_factor, dict) and list(one_factor) == [key])


def find_lr_column(columns: list[str]) -> str | None:
    """The first column whose last dotted part names a learning rate (``LR_NAMES``)."""
    for column in columns:
        leaf = column.removeprefix("config/").rsplit(".", 1)[-1].lower()
        if leaf in LR_NAMES or leaf.endswith("_lr"):
            return column
    return None


def seed_key_of(spec: dict[str, Any]) -> str:
    """The config key repeats set (``repeats.seed_key``, default ``seed``)."""
    repeats = spec.get("repeats")
    if isinstance(repeats, dict) and repeats.get("seed_key"):
        return str(repeats["seed_key"])
    return "seed"


def _flat_keys(space: Any, prefix: str = "") -> list[str]:
    """Dotted keys of a spec ``space`` (a domain is a one-key mapping like ``{grid: [...]}``)."""
    if not isinstance(space, dict):
        return []
    keys: list[str] = []
    for key, value in space.items():
        name = f"{prefix}.{key}" if prefix else str(key)
        nested = (
            isinstance(value, dict) and value and all(isinstance(v, dict) for v in value.values())
        )
        keys += _flat_keys(value, name) if nested else [name]
    return keys


def param_columns_of(trials: pd.DataFrame, spec: dict[str, Any]) -> list[str]:
    """The searched parameters' columns: ``config/<key>`` for every key of the spec's
    ``space`` and every config column that varies across trials (variants), without the
    repeats' seed key; in ``trials`` column order."""
    if trials.empty:
        return []
    config = [c for c in trials.columns if c.startswith("config/")]
    searched = {f"config/{k}" for k in _flat_keys(spec.get("space"))}
    seed = f"config/{seed_key_of(spec)}"
    out = []
    for column in config:
        if column == seed and column not in searched:
            continue
        if column in searched or _varies(trials[column]):
            out.append(column)
    return out


def _varies(column: pd.Series) -> bool:
    try:
        return column.nunique(dropna=False) > 1
    except TypeError:  # unhashable values (lists stored as objects)
        return column.astype(str).nunique(dropna=False) > 1
