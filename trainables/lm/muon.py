"""Muon: momentum SGD whose update for each weight matrix is orthogonalised.

For a hidden weight matrix W (rows x cols) with gradient G: the Nesterov momentum
update is replaced by its nearest semi-orthogonal matrix (approximately U V^T for
U S V^T = update), computed by a few iterations of an odd quintic polynomial in bf16,
scaled by sqrt(max(1, rows/cols)), and applied with decoupled weight decay.
Embeddings, the head and norm gains are trained with AdamW instead (see ``train.py``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

import torch

__all__ = ["NEWTON_SCHULZ", "ORTHOGONALIZERS", "POLAR_EXPRESS", "Muon", "orthogonalize"]

#: Keller Jordan's quintic Newton-Schulz coefficients, the same for every iteration.
NEWTON_SCHULZ = (3.4445, -4.7750, 2.0315)
#: Polar Express (Amsel et al. 2025, arXiv 2505.16932): per-iteration minimax quintics
#: for 5 iterations, with the input normalised by 1.02 x its norm (a safety margin).
POLAR_EXPRESS = (
    (8.156554524902461, -22.48329292557795, 15.878769915207462),
    (4.042929935166739, -2.808917465908714, 0.5000178451051316),
    (3.8916678022926607, -2.772484153217685, 0.5060648178503393),
    (3.285753657755655, -2.3681294933425376, 0.46449024233003106),
    (2.3465413258596377, -1.7097828382687081, 0.42323551169305323),
)
ORTHOGONALIZERS = ("newton_schulz", "polar_express")


def orthogonalize(g: torch.Tensor, method: str = "newton_schulz", steps: int = 5) -> torch.Tensor:
    """Approximately orthogonalise a 2-D matrix in bf16; returns the input's dtype.

    Each iteration maps X -> a X + b (X X^T) X + c (X X^T)^2 X, which pushes every
    singular value of X towards 1 (into roughly [0.7, 1.2] for Newton-Schulz, tighter
    for Polar Express) while keeping the singular vectors.
    """
    if g.ndim != 2:
        raise ValueError(f"orthogonalize needs a matrix; got shape {tuple(g.shape)}")
    if method not in ORTHOGONALIZERS:
        raise ValueError(f"unknown orthogonalization {method!r}; allowed: {ORTHOGONALIZERS}")
    x = g.bfloat16()
    transposed = x.size(0) > x.size(1)
    if transposed:  # work with the wide orientation: X X^T is the smaller Gram matrix
        x = x.T
    if method == "polar_express":
        x = x / (x.norm() * 1.02 + 1e-6)
        coefficients = POLAR_EXPRESS[:steps] + (POLAR_EXPRESS[-1],) * max(0, steps - 5)
    else:
        x = x / (x.norm() + 1e-7)  # spectral norm <= Frobenius norm <= 1
        coefficients = (NEWTON_SCHULZ,) * steps
    for a, b, c in coefficients:
        gram = x @ x.T  # (rows, rows)
        x = a * x + (b * gram + c * gram @ gram) @ x
    return (x.T if transposed else x).to(g.dtype)


class Muon(torch.optim.Optimizer):
    """Muon for 2-D hidden weight matrices.

    Args:
        params: the matrices (each parameter must be 2-D).
        lr: learning rate (the update has unit-scale singular values, so typical lr is
            ~0.02, much larger than AdamW's).
        momentum: momentum coefficient (0.95).
        nesterov: use the Nesterov form of momentum.
        weight_decay: decoupled weight decay, multiplied by lr.
        orthogonalization: ``newton_schulz`` or ``polar_express``.
        ns_steps: polynomial iterations.
    """

    def __init__(
        self,
        params: Iterable[torch.nn.Parameter],
        lr: float = 0.02,
        momentum: float = 0.95,
        nesterov: bool = True,
        weight_decay: float = 0.0,
        orthogonalization: str = "newton_schulz",
        ns_steps: int = 5,
    ) -> None:
        if orthogonalization not in ORTHOGONALIZERS:
            raise ValueError(
                f"unknown orthogonalization {orthogonalization!r}; allowed: {ORTHOGONALIZERS}"
            )
        defaults = dict(
            lr=lr,
            momentum=momentum,
            nesterov=nesterov,
            weight_decay=weight_decay,
            orthogonalization=orthogonalization,
            ns_steps=ns_steps,
        )
        super().__init__(params, defaults)
        for group in self.param_groups:
            for p in group["params"]:
                if p.ndim != 2:
                    raise ValueError(f"Muon handles 2-D matrices only; got shape {tuple(p.shape)}")

    @torch.no_grad()
    def step(self, closure: Callable[[], float] | None = None) -> float | None:
        """One update of every matrix with a gradient."""
        loss = closure() if closure is not None else None
        for group in self.param_groups:
            lr, m = group["lr"], group["momentum"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if "momentum_buffer" not in state:
                    state["momentum_buffer"] = torch.zeros_like(p.grad)
                buf = state["momentum_buffer"]
                buf.mul_(m).add_(p.grad)
                update = p.grad.add(buf, alpha=m) if group["nesterov"] else buf
                update = orthogonalize(update, group["orthogonalization"], group["ns_steps"])
                scale = math.sqrt(max(1.0, p.size(0) / p.size(1)))
                if group["weight_decay"]:
                    p.mul_(1 - lr * group["weight_decay"])
                p.add_(update, alpha=-lr * scale)
        return loss
