"""Feed-forward layers of the ``lm`` model: SwiGLU, and a mixture of SwiGLU experts.

The mixture (``MoEFeedForward``) has four knobs beyond the expert count:

- ``top_k``: routed experts per token (at most);
- ``router_threshold`` (top-p routing): a token takes experts in order of router
  probability until their cumulative probability reaches the threshold, at most
  ``top_k`` and at least one (0 turns it off: always ``top_k``);
- ``num_shared_experts``: experts every token passes through, unweighted, beside the
  routed ones (DeepSeekMoE's shared experts);
- ``router_layers``: depth of the router (1: a linear map; more: an MLP of width C
  with SiLU between layers).

Shapes: B batch, T sequence length, N = B*T tokens, C d_model, F d_ff, E routed
experts, k top_k.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["MoEFeedForward", "SwiGLU", "make_router"]


class SwiGLU(nn.Module):
    """Feed-forward ``W2 (silu(W1 x) * W3 x)``: C -> d_ff -> C."""

    def __init__(self, d_model: int, d_ff: int) -> None:
        super().__init__()
        self.w1 = nn.Linear(d_model, d_ff, bias=False)
        self.w3 = nn.Linear(d_model, d_ff, bias=False)
        self.w2 = nn.Linear(d_ff, d_model, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.w2(F.silu(self.w1(x)) * self.w3(x))


def make_router(d_model: int, num_experts: int, layers: int) -> nn.Module:
    """Token (C) -> expert logits (E): ``Linear(C, E)`` for 1 layer, else
    ``layers - 1`` x [``Linear(C, C)``, SiLU] then ``Linear(C, E)``. No biases."""
    if layers < 1:
        raise ValueError(f"router layers must be >= 1; got {layers}")
    if layers == 1:  # parameter name "router.weight", as before router_layers existed
        return nn.Linear(d_model, num_experts, bias=False)
    hidden: list[nn.Module] = []
    for _ in range(layers - 1):
        hidden += [nn.Linear(d_model, d_model, bias=False), nn.SiLU()]
    return nn.Sequential(*hidden, nn.Linear(d_model, num_experts, bias=False))


class MoEFeedForward(nn.Module):
    """Routed SwiGLU experts (top-k or threshold routing), optional shared experts, and
    a load-balancing loss.

    The auxiliary loss is Switch-Transformer style: ``E * sum_e f_e * p_e`` where f_e is
    the fraction of routed token slots sent to expert e and p_e its mean router
    probability; it is 1.0 when routing is perfectly balanced. After each forward,
    ``aux_loss``, ``utilization`` (f, shape (E,)) and ``active_experts`` (mean routed
    experts per token) describe that batch.
    """

    def __init__(
        self,
        d_model: int,
        d_ff: int,
        num_experts: int,
        top_k: int,
        num_shared_experts: int = 0,
        router_layers: int = 1,
        router_threshold: float = 0.0,
    ) -> None:
        super().__init__()
        if not 1 <= top_k <= num_experts:
            raise ValueError(f"top_k must be in [1, num_experts={num_experts}]; got {top_k}")
        if num_shared_experts < 0:
            raise ValueError(f"num_shared_experts must be >= 0; got {num_shared_experts}")
        if not 0 <= router_threshold <= 1:
            raise ValueError(f"router_threshold must be in [0, 1]; got {router_threshold}")
        self.top_k = top_k
        self.threshold = router_threshold
        self.router = make_router(d_model, num_experts, router_layers)
        self.experts = nn.ModuleList(SwiGLU(d_model, d_ff) for _ in range(num_experts))
        # n shared experts of width F summed == one SwiGLU of width n*F (their hidden
        # units are independent), so they run as one matmul chain.
        self.shared = SwiGLU(d_model, d_ff * num_shared_experts) if num_shared_experts else None
        self.aux_loss = torch.zeros(())
        self.utilization = torch.zeros(num_experts)
        self.active_experts = torch.tensor(float(top_k))

    def route(
        self, tokens: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Route tokens (N, C). Returns the router probabilities (N, E) and, per token,
        its top-k experts (N, k), whether each slot is used (N, k; all True without a
        threshold) and the mixing weights (N, k): renormalised over the used slots, 0
        on the others."""
        probs = self.router(tokens).float().softmax(dim=-1)  # (N, E)
        weights, chosen = probs.topk(self.top_k, dim=-1)  # (N, k) each, descending
        kept = torch.ones_like(chosen, dtype=torch.bool)  # (N, k)
        if self.threshold > 0:
            # Keep slot j while the mass of the slots before it is below the threshold:
            # slot 0 always, then experts until the cumulative probability reaches it.
            kept = weights.cumsum(dim=-1) - weights < self.threshold
            weights = weights * kept
        return probs, chosen, kept, weights / weights.sum(dim=-1, keepdim=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, T, C = x.shape
        tokens = x.reshape(-1, C)  # (N, C)
        probs, chosen, kept, weights = self.route(tokens)  # (N, E), then (N, k) x 3
        weights = weights.to(x.dtype)
        out = torch.zeros_like(tokens)  # (N, C)
        num_experts = len(self.experts)
        for e, expert in enumerate(self.experts):
            rows, slot = ((chosen == e) & kept).nonzero(as_tuple=True)  # (n_e,) each
            if rows.numel():
                out.index_add_(0, rows, expert(tokens[rows]) * weights[rows, slot, None])
        if self.shared is not None:  # every token, weight 1
            out = out + self.shared(tokens)
        counts = torch.bincount(chosen[kept], minlength=num_experts).float()  # (E,)
        fraction = counts / counts.sum()
        self.aux_loss = num_experts * (fraction * probs.mean(dim=0)).sum()
        self.utilization = fraction.detach()
        self.active_experts = kept.sum(dim=-1).float().mean().detach()
        return out.view(B, T, C)
