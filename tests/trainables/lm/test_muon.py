"""Muon's orthogonalisers and optimiser."""

from __future__ import annotations

import pytest
import torch

from trainables.lm.muon import Muon, orthogonalize


def _matrix(rows: int, cols: int, seed: int, condition: float = 20.0) -> torch.Tensor:
    """A random matrix whose singular values spread evenly over [1/condition, 1] x 3."""
    gen = torch.Generator().manual_seed(seed)
    k = min(rows, cols)
    u, _ = torch.linalg.qr(torch.randn(rows, k, generator=gen))
    v, _ = torch.linalg.qr(torch.randn(cols, k, generator=gen))
    return u @ torch.diag(3 * torch.linspace(1 / condition, 1.0, k)) @ v.T


SHAPES = [(64, 64), (32, 96), (96, 32)]


@pytest.mark.parametrize("shape", SHAPES)
def test_newton_schulz_brings_singular_values_into_band(shape: tuple[int, int]) -> None:
    s = torch.linalg.svdvals(orthogonalize(_matrix(*shape, seed=0), "newton_schulz").float())
    # Keller Jordan's coefficients trade exactness for speed: roughly [0.7, 1.2].
    assert s.min() > 0.65 and s.max() < 1.25


@pytest.mark.parametrize("shape", SHAPES)
def test_polar_express_is_tighter_than_newton_schulz(shape: tuple[int, int]) -> None:
    g = _matrix(*shape, seed=1)
    pe = torch.linalg.svdvals(orthogonalize(g, "polar_express").float())
    ns = torch.linalg.svdvals(orthogonalize(g, "newton_schulz").float())
    assert pe.min() > 0.85 and pe.max() < 1.15
    assert (pe - 1).abs().max() < (ns - 1).abs().max()


def test_orthogonalize_keeps_singular_vectors() -> None:
    gen = torch.Generator().manual_seed(2)
    u, _ = torch.linalg.qr(torch.randn(48, 48, generator=gen))
    v, _ = torch.linalg.qr(torch.randn(48, 48, generator=gen))
    g = u @ torch.diag(torch.linspace(0.05, 3.0, 48)) @ v.T
    # U V^T is the exact polar factor; the bf16 approximation points the same way.
    cosine = torch.nn.functional.cosine_similarity(
        orthogonalize(g, "polar_express").float().flatten(), (u @ v.T).flatten(), dim=0
    )
    assert cosine > 0.97


def test_muon_step_scales_update_and_rejects_vectors() -> None:
    w = torch.nn.Parameter(torch.zeros(8, 4))
    opt = Muon([w], lr=0.1, momentum=0.0, nesterov=False)
    w.grad = torch.randn(8, 4, generator=torch.Generator().manual_seed(3))
    opt.step()
    s = torch.linalg.svdvals(w.detach())
    # Update = -lr * sqrt(rows/cols) * orth(grad): singular values near 0.1 * sqrt(2).
    assert torch.allclose(s, torch.full_like(s, 0.1 * 2**0.5), rtol=0.3)
    with pytest.raises(ValueError, match="2-D"):
        Muon([torch.nn.Parameter(torch.zeros(3))])
    with pytest.raises(ValueError, match="orthogonalization"):
        Muon([w], orthogonalization="svd")
