"""A decoder-only transformer language model (feed-forward layers in ``moe.py``).

Token embedding -> n_layers x [RMSNorm -> causal self-attention with RoPE -> residual,
RMSNorm -> SwiGLU feed-forward (or a mixture of SwiGLU experts) -> residual] -> RMSNorm
-> head (tied to the embedding or not). Attention goes through
``scaled_dot_product_attention``, which picks flash kernels on GPUs.

Shapes: B batch, T sequence length, C d_model, H heads, D head dim (C = H * D), V vocab.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from trainables.lm.moe import MoEFeedForward, SwiGLU

__all__ = ["GPT", "GPTShape", "MoEFeedForward", "SwiGLU"]


@dataclass(frozen=True)
class GPTShape:
    """The architecture of a model (a subset of the trainable's config)."""

    vocab_size: int
    context: int
    n_layers: int
    d_model: int
    n_heads: int
    d_ff: int
    rope_theta: float = 10000.0
    tie_embeddings: bool = True
    init_std: float = 0.02
    dropout: float = 0.0
    num_experts: int = 0
    """0 for dense feed-forward layers; otherwise experts per MoE layer."""
    top_k: int = 2
    """Experts each token is routed to (at most, with ``router_threshold``)."""
    num_shared_experts: int = 0
    """Always-active experts per MoE layer, beside the routed ones."""
    router_layers: int = 1
    """Router depth: 1 is a linear router, more an MLP (see ``moe.make_router``)."""
    router_threshold: float = 0.0
    """Top-p routing: experts in order of probability until this cumulative mass (0: off)."""


class RMSNorm(nn.Module):
    """Root-mean-square norm with a learned gain (no bias, no mean subtraction)."""

    def __init__(self, dim: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # Normalise in fp32 for stability under bf16 autocast, then cast back.
        xf = x.float()
        xf = xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + self.eps)
        return (xf * self.weight.float()).to(x.dtype)


def rope_tables(context: int, head_dim: int, theta: float) -> tuple[torch.Tensor, torch.Tensor]:
    """cos and sin tables, each (T, D/2), for rotary position embeddings."""
    inv_freq = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim))
    angles = torch.outer(torch.arange(context, dtype=torch.float32), inv_freq)  # (T, D/2)
    return angles.cos(), angles.sin()


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate pairs (x1, x2) of the head dimension by position-dependent angles.

    x: (B, H, T, D); cos, sin: (T, D/2).
    """
    x1, x2 = x[..., 0::2], x[..., 1::2]  # (B, H, T, D/2) each
    rotated = torch.stack((x1 * cos - x2 * sin, x1 * sin + x2 * cos), dim=-1)
    return rotated.flatten(-2).type_as(x)


class CausalSelfAttention(nn.Module):
    """Multi-head causal self-attention with RoPE on queries and keys."""

    def __init__(self, shape: GPTShape) -> None:
        super().__init__()
        if shape.d_model % shape.n_heads:
            raise ValueError(f"d_model {shape.d_model} is not divisible by n_heads {shape.n_heads}")
        self.n_heads = shape.n_heads
        self.qkv = nn.Linear(shape.d_model, 3 * shape.d_model, bias=False)
        self.proj = nn.Linear(shape.d_model, shape.d_model, bias=False)
        self.dropout = shape.dropout

    def forward(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
        B, T, C = x.shape
        q, k, v = self.qkv(x).split(C, dim=2)  # 3 x (B, T, C)
        q, k, v = (t.view(B, T, self.n_heads, C // self.n_heads).transpose(1, 2) for t in (q, k, v))
        q, k = apply_rope(q, cos[:T], sin[:T]), apply_rope(k, cos[:T], sin[:T])  # (B, H, T, D)
        y = F.scaled_dot_product_attention(
            q, k, v, is_causal=True, dropout_p=self.dropout if self.training else 0.0
        )
        return self.proj(y.transpose(1, 2).reshape(B, T, C))


class Block(nn.Module):
    """Pre-norm transformer block."""

    def __init__(self, shape: GPTShape) -> None:
        super().__init__()
        self.norm1 = RMSNorm(shape.d_model)
        self.attn = CausalSelfAttention(shape)
        self.norm2 = RMSNorm(shape.d_model)
        self.ff: nn.Module = (
            MoEFeedForward(
                shape.d_model,
                shape.d_ff,
                shape.num_experts,
                shape.top_k,
                num_shared_experts=shape.num_shared_experts,
                router_layers=shape.router_layers,
                router_threshold=shape.router_threshold,
            )
            if shape.num_experts
            else SwiGLU(shape.d_model, shape.d_ff)
        )
        self.drop = nn.Dropout(shape.dropout)

    def forward(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
        x = x + self.drop(self.attn(self.norm1(x), cos, sin))
        return x + self.drop(self.ff(self.norm2(x)))


class GPT(nn.Module):
    """The language model: ``forward(idx, targets)`` returns (logits, loss)."""

    def __init__(self, shape: GPTShape) -> None:
        super().__init__()
        self.shape = shape
        self.embed = nn.Embedding(shape.vocab_size, shape.d_model)
        self.blocks = nn.ModuleList(Block(shape) for _ in range(shape.n_layers))
        self.norm = RMSNorm(shape.d_model)
        self.head = nn.Linear(shape.d_model, shape.vocab_size, bias=False)
        if shape.tie_embeddings:
            self.head.weight = self.embed.weight
        cos, sin = rope_tables(shape.context, shape.d_model // shape.n_heads, shape.rope_theta)
        self.register_buffer("rope_cos", cos, persistent=False)
        self.register_buffer("rope_sin", sin, persistent=False)
        self.apply(self._init_weights)
        # GPT-2's scaled init: residual projections shrink with depth.
        for name, p in self.named_parameters():
            if name.endswith(("proj.weight", "w2.weight")):
                nn.init.normal_(p, std=shape.init_std / math.sqrt(2 * shape.n_layers))

    def _init_weights(self, module: nn.Module) -> None:
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, std=self.shape.init_std)

    def forward(
        self, idx: torch.Tensor, targets: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """idx, targets: (B, T) token ids. Returns logits (B, T, V) and the mean CE loss."""
        if idx.size(1) > self.shape.context:
            raise ValueError(f"sequence length {idx.size(1)} > context {self.shape.context}")
        x = self.embed(idx)  # (B, T, C)
        for block in self.blocks:
            x = block(x, self.rope_cos, self.rope_sin)
        logits = self.head(self.norm(x))  # (B, T, V)
        if targets is None:
            return logits, None
        loss = F.cross_entropy(logits.float().flatten(0, 1), targets.flatten())
        return logits, loss

    def moe_layers(self) -> list[MoEFeedForward]:
        """The mixture-of-experts feed-forward layers (empty for a dense model)."""
        return [b.ff for b in self.blocks if isinstance(b.ff, MoEFeedForward)]

    def expert_parameters(self) -> list[nn.Parameter]:
        """Weights of every expert, routed and shared (not the routers)."""
        return [
            p
            for layer in self.moe_layers()
            for part in (layer.experts, layer.shared)
            if part is not None
            for p in part.parameters()
        ]

    def aux_loss(self) -> torch.Tensor:
        """Sum of the MoE layers' load-balancing losses from the last forward (0 if dense)."""
        losses = [layer.aux_loss for layer in self.moe_layers()]
        return (
            torch.stack(losses).sum()
            if losses
            else torch.zeros((), device=self.embed.weight.device)
        )

    def expert_utilization(self) -> list[float]:
        """Fraction of routed token slots per expert, averaged over MoE layers."""
        utils = [layer.utilization for layer in self.moe_layers()]
        return torch.stack(utils).mean(dim=0).tolist() if utils else []

    def active_experts(self) -> float:
        """Routed experts per token in the last forward, averaged over MoE layers (0 if
        dense); below ``top_k`` only with ``router_threshold``."""
        active = [float(layer.active_experts) for layer in self.moe_layers()]
        return sum(active) / len(active) if active else 0.0

    def num_params(self, non_embedding: bool = True) -> int:
        """Parameter count; the (tied) embedding excluded by default, as in the seeds' '17M'."""
        total = sum(p.numel() for p in self.parameters())
        return total - self.embed.weight.numel() if non_embedding else total

    def flops_per_token(self) -> float:
        """Training FLOPs per token (6N plus attention), for MFU (PaLM appendix B)."""
        s = self.shape
        n = self.num_params(non_embedding=True)  # includes an untied head
        if s.tie_embeddings:  # the tied head still costs a V x C matmul per token
            n += s.vocab_size * s.d_model
        if s.num_experts:  # only top_k routed experts' weights are used per token (at
            # most: a router_threshold may use fewer); shared experts and routers always
            n -= s.n_layers * (s.num_experts - s.top_k) * 3 * s.d_model * s.d_ff
        return 6 * n + 12 * s.n_layers * s.d_model * s.context
