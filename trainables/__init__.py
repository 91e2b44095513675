"""Built-in trainables: name -> training function, imported only when used.

Every built-in is a function ``train(config)`` that reports through ``ray.tune.report``
and restores from ``ray.tune.get_checkpoint()``; that is all it knows of Ray.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["BUILTIN_TRAINABLES", "BuiltinTrainable", "load_builtin", "load_config_class"]


@dataclass(frozen=True)
class BuiltinTrainable:
    """A registry entry: where the function lives and what it trains."""

    target: str
    """``module:function`` of the training function."""
    summary: str
    """One line for ``tune-jobs trainables``."""
    default_metric: str
    """The metric its specs usually optimise."""
    config: str | None = None
    """``module:Class`` of its config dataclass, ``module:NAME`` of its presets after a comma."""


BUILTIN_TRAINABLES: dict[str, BuiltinTrainable] = {
    "lm": BuiltinTrainable(
        "trainables.lm.training:train",
        "GPT-style language model (RoPE, SwiGLU, MoE option; AdamW or Muon); presets tiny, "
        "cs336-17m, gpt2-124m, modded-155m",
        "val_loss",
        "trainables.lm.config:LMConfig,PRESETS",
    ),
    "branin": BuiltinTrainable(
        "trainables.analytic:branin",
        "Branin function (2-D, minimum 0.397887) with optional noise shrinking per iteration",
        "value",
        "trainables.analytic:BraninConfig,PRESETS",
    ),
    "denoise": BuiltinTrainable(
        "trainables.denoise:train",
        "Denoising autoencoder on synthetic n-blob data, reports hidden-unit blob diagnostics "
        "(n_clusters, silhouette); presets tiny, default, reference (the full-size experiment)",
        "test_loss",
        "trainables.denoise:DenoiseConfig,PRESETS",
    ),
    "hartmann6": BuiltinTrainable(
        "trainables.analytic:hartmann6",
        "Hartmann 6-D function (minimum -3.32237) with optional noise shrinking per iteration",
        "value",
        "trainables.analytic:Hartmann6Config,PRESETS",
    ),
    "mlp": BuiltinTrainable(
        "trainables.mlp:train",
        "MLP classifier on a synthetic spiral dataset (seconds on CPU; checkpoints exactly)",
        "val_loss",
        "trainables.mlp:MLPConfig,PRESETS",
    ),
}


def load_builtin(name: str) -> Callable[[dict[str, Any]], None]:
    """Import and return the training function registered as ``name``."""
    try:
        entry = BUILTIN_TRAINABLES[name]
    except KeyError:
        allowed = ", ".join(sorted(BUILTIN_TRAINABLES))
        raise KeyError(f"unknown built-in trainable {name!r}; allowed: {allowed}") from None
    module_name, func_name = entry.target.split(":")
    return getattr(importlib.import_module(module_name), func_name)


def load_config_class(name: str) -> tuple[type | None, dict[str, dict[str, Any]]]:
    """The config dataclass and presets of built-in ``name`` (``None, {}`` if it has none)."""
    entry = BUILTIN_TRAINABLES[name]
    if entry.config is None:
        return None, {}
    target, _, presets_name = entry.config.partition(",")
    module_name, class_name = target.split(":")
    module = importlib.import_module(module_name)
    return getattr(module, class_name), getattr(module, presets_name, {}) if presets_name else {}
