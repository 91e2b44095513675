"""MLP classifier on a synthetic spiral dataset: the quick built-in trainable.

Small enough to train in seconds on a CPU, real enough to show learning-rate
instability, overfitting and batch-size trade-offs. The dataset is generated from
``data_seed`` (the same for every trial); ``seed`` drives initialisation and batching.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from trainables._checkpoint import load_checkpoint, report, rng_state, set_rng_state
from trainables._config import build_config

__all__ = ["PRESETS", "MLPConfig", "make_spirals", "train"]


@dataclass
class MLPConfig:
    """Configuration of one ``mlp`` trial."""

    preset: str = "default"
    """Named starting point (``tiny``, ``default``); other keys override it."""
    seed: int = 0
    """Initialisation and batch-order seed."""
    data_seed: int = 1234
    """Seed of the synthetic dataset (keep fixed across a sweep)."""
    n_classes: int = 3
    """Spiral arms (classes)."""
    n_train: int = 3000
    """Training points."""
    n_val: int = 1000
    """Validation points."""
    noise: float = 0.2
    """Gaussian noise on point coordinates."""
    width: int = 64
    """Hidden units per layer."""
    depth: int = 2
    """Hidden layers."""
    dropout: float = 0.0
    """Dropout after each hidden layer."""
    init_scale: float = 1.0
    """Multiplier on PyTorch's default weight initialisation."""
    optimizer: str = "adamw"
    """``adamw`` or ``sgd``."""
    lr: float = 3e-3
    """Peak learning rate."""
    momentum: float = 0.9
    """SGD momentum (ignored by AdamW)."""
    weight_decay: float = 0.0
    """Decoupled weight decay."""
    warmup_steps: int = 0
    """Linear warm-up steps."""
    batch_size: int = 128
    """Examples per step."""
    max_steps: int = 1000
    """Training steps in total."""
    report_every: int = 50
    """Steps between reported results."""
    checkpoint_every: int = 1
    """Reports between checkpoints (the last report always checkpoints)."""

    def __post_init__(self) -> None:
        positive = ("n_classes", "n_train", "n_val", "width", "depth", "batch_size", "max_steps")
        for name in (*positive, "report_every", "checkpoint_every"):
            if getattr(self, name) < 1:
                raise ValueError(f"MLPConfig: {name} must be >= 1; got {getattr(self, name)}")
        if self.optimizer not in ("adamw", "sgd"):
            raise ValueError(f"MLPConfig: optimizer must be adamw or sgd; got {self.optimizer!r}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"MLPConfig: dropout must be in [0, 1); got {self.dropout}")
        if self.lr <= 0 or self.init_scale <= 0:
            raise ValueError("MLPConfig: lr and init_scale must be > 0")


PRESETS: dict[str, dict[str, Any]] = {
    "default": {},
    "tiny": {"n_train": 600, "n_val": 200, "width": 32, "max_steps": 200, "report_every": 20},
}


def make_spirals(
    n: int, n_classes: int, noise: float, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` points on ``n_classes`` interleaved spiral arms: x (n, 2), y (n,)."""
    y = torch.randint(0, n_classes, (n,), generator=generator)
    radius = torch.rand(n, generator=generator)  # (n,) in [0, 1)
    angle = radius * 3 * math.pi + y * (2 * math.pi / n_classes)
    x = torch.stack([radius * torch.cos(angle), radius * torch.sin(angle)], dim=1)
    return x + noise * 0.1 * torch.randn(n, 2, generator=generator), y


def _model(cfg: MLPConfig) -> nn.Sequential:
    layers: list[nn.Module] = []
    width_in = 2
    for _ in range(cfg.depth):
        layers += [nn.Linear(width_in, cfg.width), nn.GELU(), nn.Dropout(cfg.dropout)]
        width_in = cfg.width
    layers.append(nn.Linear(width_in, cfg.n_classes))
    model = nn.Sequential(*layers)
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(cfg.init_scale)
    return model


def _optimizer(cfg: MLPConfig, model: nn.Module) -> torch.optim.Optimizer:
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(
            model.parameters(), lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay
        )
    return torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)


def train(config: dict[str, Any]) -> None:
    """Train one trial, reporting ``train_loss``, ``val_loss``, ``val_accuracy`` and more."""
    cfg = build_config(MLPConfig, config, PRESETS)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    data_gen = torch.Generator().manual_seed(cfg.data_seed)
    x_train, y_train = make_spirals(cfg.n_train, cfg.n_classes, cfg.noise, data_gen)
    x_val, y_val = make_spirals(cfg.n_val, cfg.n_classes, cfg.noise, data_gen)
    x_train, y_train, x_val, y_val = (t.to(device) for t in (x_train, y_train, x_val, y_val))

    torch.manual_seed(cfg.seed)
    batch_gen = torch.Generator().manual_seed(cfg.seed)
    model = _model(cfg).to(device)
    optimizer = _optimizer(cfg, model)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min(1.0, (s + 1) / cfg.warmup_steps) if cfg.warmup_steps else 1.0
    )
    step, reports = 0, 0
    state = load_checkpoint()
    if state is not None:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        schedule.load_state_dict(state["scheduler"])
        step, reports = state["step"], state["reports"]
        set_rng_state(state["rng"], batch_gen)

    loss_fn = nn.CrossEntropyLoss()
    started = time.perf_counter()
    window_loss, window_steps = 0.0, 0
    while step < cfg.max_steps:
        model.train()
        idx = torch.randint(0, cfg.n_train, (cfg.batch_size,), generator=batch_gen).to(device)
        loss = loss_fn(model(x_train[idx]), y_train[idx])  # logits (B, n_classes)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        schedule.step()
        step += 1
        window_loss += loss.item()
        window_steps += 1
        diverged = not math.isfinite(loss.item())
        if step % cfg.report_every and step < cfg.max_steps and not diverged:
            continue
        model.eval()
        with torch.no_grad():
            logits = model(x_val)
            val_loss = loss_fn(logits, y_val).item()
            val_acc = (logits.argmax(dim=1) == y_val).float().mean().item()
        elapsed = time.perf_counter() - started
        metrics = {
            "step": step,
            "train_loss": window_loss / window_steps,
            "val_loss": val_loss,
            "val_accuracy": val_acc,
            "lr": schedule.get_last_lr()[0],
            "samples": step * cfg.batch_size,
            "samples_per_s": window_steps * cfg.batch_size / max(elapsed, 1e-9),
            "device": device.type,
            "diverged": diverged or not math.isfinite(val_loss),
        }
        reports += 1
        last = step >= cfg.max_steps or metrics["diverged"]
        checkpoint = None
        if (reports % cfg.checkpoint_every == 0 or last) and not metrics["diverged"]:
            checkpoint = {
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "scheduler": schedule.state_dict(),
                "step": step,
                "reports": reports,
                "rng": rng_state(batch_gen),
                "config": cfg.__dict__,
            }
        report(metrics, checkpoint)
        window_loss, window_steps, started = 0.0, 0, time.perf_counter()
        if metrics["diverged"]:
            return
