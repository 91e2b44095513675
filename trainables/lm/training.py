"""The ``lm`` trainable: train a GPT-style model, reporting to Ray Tune.

Checkpoint (a plain dict, fixed keys): ``model``, ``optimizer`` (one state dict per
optimiser), ``scheduler`` (the step the stateless schedule resumes from), ``step``,
``reports``, ``rng`` (torch/python RNG and the batch sampler's generator: the data
position), ``config``. Restoring continues exactly: on CPU an interrupted and restored
run reports the same losses as an uninterrupted one.
"""

from __future__ import annotations

import contextlib
import math
import time
from typing import Any

import torch

from trainables._checkpoint import (
    assigned_cpus,
    load_checkpoint,
    report,
    rng_state,
    set_rng_state,
)
from trainables._config import build_config
from trainables.lm.config import PRESETS, LMConfig
from trainables.lm.model import GPT
from trainables.lm.muon import Muon

__all__ = ["build_optimizers", "train"]

#: Dense bf16 peak FLOP/s by device-name fragment, for MFU.
_BF16_PEAK = {"H200": 989e12, "H100": 989e12, "A100": 312e12, "L4": 121e12, "A10": 125e12}


def build_optimizers(model: GPT, cfg: LMConfig, fused: bool) -> list[torch.optim.Optimizer]:
    """AdamW for everything, or Muon for hidden matrices plus AdamW for the rest.

    Weight decay applies to matrices only, never to norm gains. ``fused`` selects
    PyTorch's fused AdamW kernel, which exists for CUDA and CPU tensors alike: on CPU it
    makes one vectorised pass over each parameter instead of a dozen elementwise ops
    (on the 2-core VM, 3.2M-parameter benchmark model: about 2 ms instead of 6 ms a step).
    With ``expert_lr`` the expert weights form one more (last) param group of the
    optimiser that trains them, at that peak lr. Every group's ``peak_lr`` is the lr
    the schedule multiplies.
    """
    hidden = [
        p
        for name, p in model.named_parameters()
        if p.ndim == 2 and name.startswith("blocks.") and ".router." not in name
    ]
    hidden_ids = {id(p) for p in hidden}
    rest = [p for p in model.parameters() if id(p) not in hidden_ids]
    expert_ids = {id(p) for p in model.expert_parameters()} if cfg.expert_lr else set()
    experts = [p for p in hidden if id(p) in expert_ids]  # all 2-D, all hidden
    hidden = [p for p in hidden if id(p) not in expert_ids]
    expert_group = [{"params": experts, "lr": cfg.expert_lr}] if experts else []
    optimizers: list[torch.optim.Optimizer] = []
    if cfg.optimizer == "muon":
        optimizers.append(
            Muon(
                [{"params": hidden}, *expert_group],
                lr=cfg.lr,
                momentum=cfg.momentum,
                weight_decay=cfg.weight_decay,
                orthogonalization=cfg.orthogonalization,
                ns_steps=cfg.ns_steps,
            )
        )
        adam_params, adam_lr, expert_group = rest, cfg.adam_lr, []
    else:
        adam_params, adam_lr = hidden + rest, cfg.lr
    groups = [
        {"params": [p for p in adam_params if p.ndim >= 2], "weight_decay": cfg.weight_decay},
        {"params": [p for p in adam_params if p.ndim < 2], "weight_decay": 0.0},
        *({**g, "weight_decay": cfg.weight_decay} for g in expert_group),
    ]
    optimizers.append(
        torch.optim.AdamW(groups, lr=adam_lr, betas=(cfg.beta1, cfg.beta2), fused=fused)
    )
    for opt in optimizers:
        for group in opt.param_groups:
            group["peak_lr"] = group["lr"]
    return optimizers


def _autocast(device: torch.device, cfg: LMConfig) -> contextlib.AbstractContextManager:
    bf16 = cfg.precision == "bf16" or (cfg.precision == "auto" and device.type == "cuda")
    if bf16:
        return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def _peak_flops(device: torch.device) -> float | None:
    if device.type != "cuda":
        return None
    name = torch.cuda.get_device_name(device)
    return next((v for k, v in _BF16_PEAK.items() if k in name), None)


def _gpu_metrics(device: torch.device) -> dict[str, float]:
    """``gpu_mem_gb``: peak memory allocated by tensors so far (GiB); ``gpu_util_pct``:
    NVML's utilisation sample (percent of the last sample period with a kernel running),
    only where NVML works (``torch.cuda.utilization`` needs ``nvidia-ml-py``); never
    raises for it."""
    metrics = {"gpu_mem_gb": torch.cuda.max_memory_allocated(device) / 2**30}
    # No nvidia-ml-py, no NVML library, or a driver that refuses: leave it out.
    with contextlib.suppress(Exception):
        metrics["gpu_util_pct"] = float(torch.cuda.utilization(device))
    return metrics


@torch.no_grad()
def _evaluate(model: GPT, data: Any, cfg: LMConfig, device: torch.device) -> float:
    """Mean loss over ``eval_batches`` fixed validation batches."""
    model.eval()
    generator = torch.Generator().manual_seed(10_000 + cfg.seed)  # same batches every time
    losses = []
    for _ in range(cfg.eval_batches):
        x, y = data.get_batch("val", cfg.batch_size, cfg.context, generator)
        with _autocast(device, cfg):
            _, loss = model(x.to(device), y.to(device))
        losses.append(loss.item())
    model.train()
    return sum(losses) / len(losses)


def _set_cpu_threads() -> int:
    """Give torch as many intra-op threads as the CPUs Ray assigned to this trial.

    Ray's worker sets ``OMP_NUM_THREADS`` from the trial's ``cpu`` (measured on the
    2-core VM: ``cpu: 2`` gave 2 threads, ``cpu: 1`` gave 1), but an ``OMP_NUM_THREADS``
    already in the environment would win; this makes a trial with ``cpu: 2`` use 2
    threads whatever the environment says (fractional CPUs: at least 1). Outside a Ray
    worker (no assignment) torch's default is kept. Returns the thread count in use.
    """
    cpus = assigned_cpus()
    if cpus:
        torch.set_num_threads(max(1, int(cpus)))
    return torch.get_num_threads()


def train(config: dict[str, Any]) -> None:
    """Train one trial; reports ``train_loss``, ``val_loss``, ``tokens_per_s``, ``mfu``,
    ``gpu_mem_gb``, ``gpu_util_pct``, MoE routing statistics..."""
    from trainables.lm.data import open_training_data

    cfg = build_config(LMConfig, config, PRESETS)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    data = open_training_data(cfg.data, cfg.context, cfg.vocab_size)
    torch.manual_seed(cfg.seed)
    model = GPT(cfg.shape(data.vocab_size)).to(device)
    if device.type == "cpu":
        _set_cpu_threads()
    optimizers = build_optimizers(model, cfg, fused=device.type in ("cuda", "cpu"))
    batch_gen = torch.Generator().manual_seed(cfg.seed)
    step = reports = 0
    state = load_checkpoint()
    if state is not None:
        model.load_state_dict(state["model"])
        for opt, opt_state in zip(optimizers, state["optimizer"], strict=True):
            opt.load_state_dict(opt_state)
        step, reports = state["scheduler"]["step"], state["reports"]
        set_rng_state(state["rng"], batch_gen)
    forward = torch.compile(model) if cfg.compile and device.type == "cuda" else model
    peak = _peak_flops(device)
    flops_per_token = model.flops_per_token()
    tokens_per_step = cfg.batch_size * cfg.context * cfg.grad_accum

    window_loss, window_steps, eval_time, val_loss = 0.0, 0, 0.0, None
    started = time.perf_counter()
    lr_multiplier = None
    while step < cfg.max_steps:
        if (multiplier := cfg.lr_multiplier(step)) != lr_multiplier:  # constant phases: skip
            lr_multiplier = multiplier
            for opt in optimizers:
                for group in opt.param_groups:
                    group["lr"] = group["peak_lr"] * multiplier
        loss_sum = 0.0
        for _ in range(cfg.grad_accum):
            x, y = data.get_batch("train", cfg.batch_size, cfg.context, batch_gen)
            x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
            with _autocast(device, cfg):
                _, loss = forward(x, y)  # loss: mean cross-entropy over B*T tokens
                total = loss + cfg.aux_loss_weight * model.aux_loss() if cfg.num_experts else loss
            (total / cfg.grad_accum).backward()
            loss_sum += loss.item() / cfg.grad_accum
        clip = cfg.grad_clip if cfg.grad_clip > 0 else math.inf
        grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), clip).item()
        for opt in optimizers:
            opt.step()
            opt.zero_grad(set_to_none=True)
        step += 1
        window_loss += loss_sum
        window_steps += 1
        diverged = not (math.isfinite(loss_sum) and math.isfinite(grad_norm))
        last = step >= cfg.max_steps or diverged
        if (step % cfg.eval_every == 0 or last) and not diverged:
            eval_started = time.perf_counter()
            val_loss = _evaluate(model, data, cfg, device)
            eval_time += time.perf_counter() - eval_started
        if step % cfg.report_every and not last:
            continue
        if device.type == "cuda":
            torch.cuda.synchronize()
        # Training throughput: evaluation time is not training time.
        elapsed = max(time.perf_counter() - started - eval_time, 1e-9)
        tokens_per_s = window_steps * tokens_per_step / elapsed
        metrics: dict[str, Any] = {
            "step": step,
            "tokens": step * tokens_per_step,
            "train_loss": window_loss / window_steps,
            "lr": optimizers[0].param_groups[0]["lr"],
            "grad_norm": grad_norm,
            "tokens_per_s": tokens_per_s,
            "device": device.type,
            "diverged": diverged,
        }
        if val_loss is not None:
            metrics["val_loss"] = val_loss
        if peak is not None:
            metrics["mfu"] = tokens_per_s * flops_per_token / peak
        if device.type == "cuda":
            metrics.update(_gpu_metrics(device))
        if cfg.num_experts:
            metrics["aux_loss"] = model.aux_loss().item()
            metrics["expert_util"] = {str(i): u for i, u in enumerate(model.expert_utilization())}
            metrics["active_experts"] = model.active_experts()
        reports += 1
        checkpoint = None
        if not diverged and (reports % cfg.checkpoint_every == 0 or last):
            checkpoint = {
                "model": model.state_dict(),
                "optimizer": [opt.state_dict() for opt in optimizers],
                "scheduler": {"step": step},
                "step": step,
                "reports": reports,
                "rng": rng_state(batch_gen),
                "config": cfg.__dict__,
            }
        report(metrics, checkpoint)
        window_loss, window_steps, eval_time = 0.0, 0, 0.0
        started = time.perf_counter()
        if diverged:
            return
