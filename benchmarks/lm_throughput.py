"""Training tokens/s of the ``lm`` trainable against a plain eager PyTorch loop.

The plain loop is written here, nanoGPT style, independent of ``trainables.lm``: the
same architecture (RMSNorm, RoPE, SwiGLU, SDPA causal attention, tied head), fp32,
AdamW, the same batch, context and sizes, on random tokens. Ours runs the real
``lm`` trainable through ``tune-jobs run`` (one trial, ``data: builtin``) and its
``tokens_per_s`` (training time only, evaluation excluded) is read from the Parquet
results, skipping the first report (warm-up). Both use the same number of threads.
Runs alternate: plain, ours, plain, ours, ...
``--in-process`` also runs the same training loop in this process with Ray's reporting
replaced by a list, to separate the loop's speed from the Ray worker's overhead.

    python benchmarks/lm_throughput.py [--repeats 2] [--steps 40] [--threads 2] [--in-process]
"""

from __future__ import annotations

import argparse
import math
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import torch
import torch.nn.functional as F
import yaml
from torch import nn

SIZES = {"vocab": 257, "context": 128, "n_layers": 4, "d_model": 256, "n_heads": 8, "d_ff": 688}
BATCH = 8


class _Norm(nn.Module):
    def __init__(self, dim: int) -> None:
        super().__init__()
        self.g = nn.Parameter(torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-6) * self.g


class _Block(nn.Module):
    def __init__(self, d: int, h: int, f: int) -> None:
        super().__init__()
        self.h = h
        self.n1, self.n2 = _Norm(d), _Norm(d)
        self.qkv, self.o = nn.Linear(d, 3 * d, bias=False), nn.Linear(d, d, bias=False)
        self.w1, self.w3 = nn.Linear(d, f, bias=False), nn.Linear(d, f, bias=False)
        self.w2 = nn.Linear(f, d, bias=False)

    def forward(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
        b, t, c = x.shape
        q, k, v = self.qkv(self.n1(x)).view(b, t, 3, self.h, c // self.h).permute(2, 0, 3, 1, 4)

        def rope(z: torch.Tensor) -> torch.Tensor:
            z1, z2 = z[..., 0::2], z[..., 1::2]
            return torch.stack((z1 * cos - z2 * sin, z1 * sin + z2 * cos), -1).flatten(-2)

        y = F.scaled_dot_product_attention(rope(q), rope(k), v, is_causal=True)
        x = x + self.o(y.transpose(1, 2).reshape(b, t, c))
        z = self.n2(x)
        return x + self.w2(F.silu(self.w1(z)) * self.w3(z))


class _PlainGPT(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        s = SIZES
        self.emb = nn.Embedding(s["vocab"], s["d_model"])
        self.blocks = nn.ModuleList(
            _Block(s["d_model"], s["n_heads"], s["d_ff"]) for _ in range(s["n_layers"])
        )
        self.norm = _Norm(s["d_model"])
        hd = s["d_model"] // s["n_heads"]
        freq = 1.0 / (10000.0 ** (torch.arange(0, hd, 2).float() / hd))
        ang = torch.outer(torch.arange(s["context"]).float(), freq)
        self.cos, self.sin = ang.cos(), ang.sin()

    def forward(self, idx: torch.Tensor, tgt: torch.Tensor) -> torch.Tensor:
        x = self.emb(idx)
        for blk in self.blocks:
            x = blk(x, self.cos, self.sin)
        logits = self.norm(x) @ self.emb.weight.T
        return F.cross_entropy(logits.flatten(0, 1), tgt.flatten())


def plain_tokens_per_s(steps: int, threads: int) -> float:
    """Train the plain model on random tokens; tokens/s after 5 warm-up steps."""
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = _PlainGPT()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.1)
    ctx = SIZES["context"]
    data = torch.randint(0, SIZES["vocab"], (BATCH * (steps + 5), ctx + 1))
    for i in range(steps + 5):
        if i == 5:
            started = time.perf_counter()
        chunk = data[i * BATCH : (i + 1) * BATCH]
        loss = model(chunk[:, :-1], chunk[:, 1:])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
    return steps * BATCH * ctx / (time.perf_counter() - started)


def ours_tokens_per_s(steps: int, threads: int, workdir: Path) -> float:
    """Run the lm trainable through tune-jobs; median tokens/s of reports after the first."""
    spec = {
        "name": f"lm_bench_{time.monotonic_ns()}",
        "trainable": "lm",
        "metric": "val_loss",
        "config": _lm_config(steps),
        "resources": {"cpu": threads},
        "storage": str(workdir),
    }
    path = workdir / "lm_bench.yaml"
    path.write_text(yaml.safe_dump(spec))
    subprocess.run(
        [sys.executable, "-m", "tune_jobs", "run", str(path)],
        check=True,
        capture_output=True,
        timeout=1800,
    )
    metrics = pd.read_parquet(workdir / spec["name"] / "metrics")
    return float(metrics.sort_values("step")["tokens_per_s"].iloc[1:].median())


def _lm_config(steps: int) -> dict:
    s = SIZES
    return {
        "preset": "tiny",
        "context": s["context"],
        "n_layers": s["n_layers"],
        "d_model": s["d_model"],
        "n_heads": s["n_heads"],
        "d_ff": s["d_ff"],
        "batch_size": BATCH,
        "max_steps": steps + 5,
        "report_every": 5,
        "eval_every": 10_000,
        "eval_batches": 1,
        "lr": 1e-3,
    }


def in_process_tokens_per_s(steps: int, threads: int) -> float:
    """The lm training loop in this process, reports collected instead of sent to Ray."""
    import trainables.lm.training as training

    torch.set_num_threads(threads)
    reports: list[dict] = []
    original = training.report
    training.report = lambda metrics, state=None: reports.append(metrics)
    try:
        training.train(_lm_config(steps))
    finally:
        training.report = original
    return float(statistics.median(r["tokens_per_s"] for r in reports[1:]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--in-process", action="store_true")
    args = parser.parse_args()
    plain, ours, local = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.repeats):
            plain.append(plain_tokens_per_s(args.steps, args.threads))
            ours.append(ours_tokens_per_s(args.steps, args.threads, Path(tmp)))
            if args.in_process:
                local.append(in_process_tokens_per_s(args.steps, args.threads))
    print(f"lm CPU training throughput: {SIZES}, batch {BATCH}, {args.threads} threads")
    print("| run | plain eager fp32 (tokens/s) | lm trainable (tokens/s) |")
    print("|---|---|---|")
    for i, (p, o) in enumerate(zip(plain, ours, strict=True), 1):
        print(f"| {i} | {p:,.0f} | {o:,.0f} |")
    p_med, o_med = statistics.median(plain), statistics.median(ours)
    print(f"| median | {p_med:,.0f} | {o_med:,.0f} |")
    ratio = o_med / p_med if p_med and math.isfinite(p_med) else float("nan")
    print(f"ratio lm / plain = {ratio:.2f}x")
    if local:
        runs = ", ".join(f"{v:,.0f}" for v in local)
        print(f"lm loop in-process (no Ray): {runs}; median {statistics.median(local):,.0f}")
        print(f"ratio lm in-process / plain = {statistics.median(local) / p_med:.2f}x")


if __name__ == "__main__":
    main()
