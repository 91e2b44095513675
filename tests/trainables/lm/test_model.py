"""The GPT model: shapes, causality, parameter counts of the presets, MoE routing."""

from __future__ import annotations

import pytest
import torch

from trainables.lm.config import PRESETS, LMConfig
from trainables.lm.model import GPT, GPTShape


def _tiny(**overrides: object) -> GPT:
    torch.manual_seed(0)
    shape = dict(vocab_size=50, context=16, n_layers=2, d_model=32, n_heads=4, d_ff=64)
    return GPT(GPTShape(**{**shape, **overrides}))


def test_forward_shapes_and_loss() -> None:
    model = _tiny()
    gen = torch.Generator().manual_seed(0)
    idx, targets = torch.randint(0, 50, (2, 3, 16), generator=gen)
    logits, loss = model(idx, targets)
    assert logits.shape == (3, 16, 50)
    assert loss is not None and abs(loss.item() - torch.log(torch.tensor(50.0)).item()) < 0.5
    with pytest.raises(ValueError, match="context"):
        model(torch.zeros(1, 17, dtype=torch.long))


def test_attention_is_causal() -> None:
    model = _tiny().eval()
    a = torch.randint(0, 50, (1, 16))
    b = a.clone()
    b[0, 10:] = (b[0, 10:] + 1) % 50  # change only the future
    la, _ = model(a)
    lb, _ = model(b)
    assert torch.allclose(la[0, :10], lb[0, :10], atol=1e-5)
    assert not torch.allclose(la[0, 10:], lb[0, 10:], atol=1e-5)


@pytest.mark.parametrize(
    ("preset", "low", "high"),
    [("cs336-17m", 17e6, 18e6), ("gpt2-124m", 120e6, 130e6), ("modded-155m", 150e6, 160e6)],
)
def test_preset_parameter_counts(preset: str, low: float, high: float) -> None:
    cfg = LMConfig(**{**PRESETS[preset], "preset": preset})
    with torch.device("meta"):  # no memory, no init cost
        model = GPT(cfg.shape(data_vocab=257))
    count = model.num_params(non_embedding=preset == "cs336-17m")
    assert low <= count <= high


def test_moe_router_balances_with_aux_loss() -> None:
    model = _tiny(num_experts=4, top_k=2)
    idx = torch.randint(0, 50, (8, 16), generator=torch.Generator().manual_seed(0))
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    model(idx, idx)
    assert model.aux_loss().item() >= 2 * 0.99  # two MoE layers, each >= 1 by construction
    for _ in range(60):  # train on the load-balancing loss alone
        model(idx, idx)
        opt.zero_grad()
        model.aux_loss().backward()
        opt.step()
    model(idx, idx)
    util = torch.tensor(model.expert_utilization())
    assert util.sum().item() == pytest.approx(1.0)
    assert util.max() < 0.35 and util.min() > 0.15  # close to 1/4 each
    assert model.aux_loss().item() < 2 * 1.05
