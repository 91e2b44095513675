"""A decoder-only transformer language model in one readable file.

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

__all__ = ["GPT", "GPTShape", "MoEFeedForward"]


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
    """Experts each token is routed to."""


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


class SwiGLU(nn.Module):
    """Feed-forward ``W2 (silu(W1 x) * W3 x)``: C -> d_ff -> C."""

    def __init__(self, d_model: int, d_ff: int) -> None:
        super().__init__()
        self.w1 = nn.Linear(d_model, d_ff, bias=False)
        self.w3 = nn.Linear(d_model, d_ff, bias=False)
        self.w2 = nn.Linear(d_ff, d_model, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.w2(F.silu(self.w1(x)) * self.w3(x))


class MoEFeedForward(nn.Module):
    """A mixture of SwiGLU experts with top-k routing and a load-balancing loss.

    The auxiliary loss is Switch-Transformer style: ``E * sum_e f_e * p_e`` where f_e is
    the fraction of routed token slots sent to expert e and p_e its mean router
    probability; it is 1.0 when routing is perfectly balanced.
    """

    def __init__(self, d_model: int, d_ff: int, num_experts: int, top_k: int) -> None:
        super().__init__()
        if not 1 <= top_k <= num_experts:
            raise ValueError(f"top_k must be in [1, num_experts={num_experts}]; got {top_k}")
        self.top_k = top_k
        self.router = nn.Linear(d_model, num_experts, bias=False)
        self.experts = nn.ModuleList(SwiGLU(d_model, d_ff) for _ in range(num_experts))
        self.aux_loss = torch.zeros(())
        self.utilization = torch.zeros(num_experts)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, T, C = x.shape
        tokens = x.reshape(-1, C)  # (N, C), N = B*T
        probs = self.router(tokens).float().softmax(dim=-1)  # (N, E)
        weights, chosen = probs.topk(self.top_k, dim=-1)  # (N, k) each
        weights = (weights / weights.sum(dim=-1, keepdim=True)).to(x.dtype)
        out = torch.zeros_like(tokens)
        num_experts = len(self.experts)
        counts = torch.bincount(chosen.flatten(), minlength=num_experts).float()  # (E,)
        for e, expert in enumerate(self.experts):
            rows, slot = (chosen == e).nonzero(as_tuple=True)
            if rows.numel():
                out.index_add_(0, rows, expert(tokens[rows]) * weights[rows, slot, None])
        fraction = counts / counts.sum()
        self.aux_loss = num_experts * (fraction * probs.mean(dim=0)).sum()
        self.utilization = fraction.detach()
        return out.view(B, T, C)


class Block(nn.Module):
    """Pre-norm transformer block."""

    def __init__(self, shape: GPTShape) -> None:
        super().__init__()
        self.norm1 = RMSNorm(shape.d_model)
        self.attn = CausalSelfAttention(shape)
        self.norm2 = RMSNorm(shape.d_model)
        self.ff: nn.Module = (
            MoEFeedForward(shape.d_model, shape.d_ff, shape.num_experts, shape.top_k)
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

    def aux_loss(self) -> torch.Tensor:
        """Sum of the MoE layers' load-balancing losses from the last forward (0 if dense)."""
        losses = [b.ff.aux_loss for b in self.blocks if isinstance(b.ff, MoEFeedForward)]
        return (
            torch.stack(losses).sum()
            if losses
            else torch.zeros((), device=self.embed.weight.device)
        )

    def expert_utilization(self) -> list[float]:
        """Fraction of routed token slots per expert, averaged over MoE layers."""
        utils = [b.ff.utilization for b in self.blocks if isinstance(b.ff, MoEFeedForward)]
        return torch.stack(utils).mean(dim=0).tolist() if utils else []

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
        if s.num_experts:  # only top_k experts' weights are used per token
            n -= s.n_layers * (s.num_experts - s.top_k) * 3 * s.d_model * s.d_ff
        return 6 * n + 12 * s.n_layers * s.d_model * s.context
