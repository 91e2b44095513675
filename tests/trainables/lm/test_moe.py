"""The MoE knobs (shared experts, threshold routing, router depth, expert lr) and dropout."""

from __future__ import annotations

import pytest
import torch

from trainables.lm.config import LMConfig
from trainables.lm.model import GPT, GPTShape
from trainables.lm.moe import MoEFeedForward
from trainables.lm.muon import Muon
from trainables.lm.training import build_optimizers

_SHAPE = dict(vocab_size=50, context=16, n_layers=2, d_model=32, n_heads=4, d_ff=64)


def _gpt(**overrides: object) -> GPT:
    torch.manual_seed(0)
    return GPT(GPTShape(**{**_SHAPE, **overrides}))


def _tokens(n: int = 24, dim: int = 16) -> torch.Tensor:
    return torch.randn(1, n, dim, generator=torch.Generator().manual_seed(0))


def test_shared_experts_process_every_token() -> None:
    torch.manual_seed(0)
    layer = MoEFeedForward(16, 32, num_experts=4, top_k=1, num_shared_experts=2)
    assert layer.shared is not None and layer.shared.w1.out_features == 2 * 32
    x = _tokens()
    routed_only = MoEFeedForward(16, 32, num_experts=4, top_k=1)
    routed_only.load_state_dict(
        {k: v for k, v in layer.state_dict().items() if not k.startswith("shared.")}
    )
    shared_part = layer.shared(x)  # (1, N, C)
    # Output = routed mixture + shared experts, for every token (weight 1, no routing).
    assert torch.allclose(layer(x), routed_only(x) + shared_part, atol=1e-6)
    with torch.no_grad():  # silence every routed expert: the shared ones still answer
        for expert in layer.experts:
            expert.w2.weight.zero_()
    out = layer(x)
    assert torch.allclose(out, shared_part, atol=1e-6)
    assert (out.abs().sum(dim=-1) > 0).all()
    # Utilisation counts routed slots only (top_k=1: one per token).
    assert layer.utilization.sum().item() == pytest.approx(1.0)
    assert layer.active_experts.item() == 1.0


def _route_counts(layer: MoEFeedForward, tokens: torch.Tensor) -> torch.Tensor:
    _, _, kept, weights = layer.route(tokens)
    assert torch.allclose(weights.sum(dim=-1), torch.ones(len(tokens)))
    assert (weights[~kept] == 0).all()
    return kept.sum(dim=-1)


def test_threshold_routing_uses_fewer_experts_when_the_router_is_sure() -> None:
    layer = MoEFeedForward(8, 16, num_experts=8, top_k=8, router_threshold=0.75)
    with torch.no_grad():
        layer.router.weight.copy_(10 * torch.eye(8))  # token e_i -> logit 10 on expert i
    peaked = torch.eye(8)  # each token: one expert with ~0.9997 of the probability
    flat = torch.zeros(4, 8)  # uniform 1/8: six experts reach 6/8 = 0.75
    assert _route_counts(layer, peaked).tolist() == [1] * 8
    assert _route_counts(layer, flat).tolist() == [6] * 4
    layer(flat.view(1, 4, 8))
    assert layer.active_experts.item() == 6.0
    layer.threshold = 0.0  # off: always top_k
    assert _route_counts(layer, peaked).tolist() == [8] * 8
    layer.threshold, layer.top_k = 0.75, 2  # capped by top_k
    assert _route_counts(layer, flat).tolist() == [2] * 4


def test_router_layers_make_an_mlp_router_kept_out_of_muon() -> None:
    shallow, deep = _gpt(num_experts=4), _gpt(num_experts=4, router_layers=3)
    linears = [m for m in deep.blocks[0].ff.router.modules() if isinstance(m, torch.nn.Linear)]
    assert [tuple(m.weight.shape) for m in linears] == [(32, 32), (32, 32), (4, 32)]
    assert deep.num_params() - shallow.num_params() == 2 * 2 * 32 * 32  # 2 layers x 2 matrices
    x = torch.randint(0, 50, (2, 16), generator=torch.Generator().manual_seed(0))
    deep(x, x)[1].backward()
    assert all(m.weight.grad is not None for m in linears)  # the router MLP learns
    cfg = LMConfig(num_experts=4, router_layers=3, optimizer="muon")
    muon, adam = build_optimizers(deep, cfg, fused=False)
    router_ids = {id(p) for b in deep.blocks for p in b.ff.router.parameters()}
    assert not router_ids & {id(p) for g in muon.param_groups for p in g["params"]}
    assert router_ids <= {id(p) for g in adam.param_groups for p in g["params"]}


@pytest.mark.parametrize("optimizer", ["adamw", "muon"])
def test_expert_lr_gives_expert_weights_their_own_group(optimizer: str) -> None:
    model = _gpt(num_experts=4, num_shared_experts=1)
    cfg = LMConfig(num_experts=4, num_shared_experts=1, expert_lr=1e-4, optimizer=optimizer)
    optimizers = build_optimizers(model, cfg, fused=False)
    owner = optimizers[0] if optimizer == "muon" else optimizers[-1]
    assert isinstance(owner, Muon) == (optimizer == "muon")
    expert_ids = {id(p) for p in model.expert_parameters()}
    # 2 layers x (4 routed + 1 shared) experts x 3 matrices
    assert len(expert_ids) == 2 * 5 * 3
    groups = [g for opt in optimizers for g in opt.param_groups]
    expert_groups = [g for g in groups if {id(p) for p in g["params"]} & expert_ids]
    assert len(expert_groups) == 1 and expert_groups[0] is owner.param_groups[-1]
    group = expert_groups[0]
    assert {id(p) for p in group["params"]} == expert_ids
    assert group["lr"] == group["peak_lr"] == 1e-4
    others = [g for g in groups if g is not group]
    assert all(g["lr"] == (cfg.lr if g in owner.param_groups else cfg.adam_lr) for g in others)
    # Without expert_lr, the experts share the other matrices' group (as before).
    plain = build_optimizers(model, LMConfig(num_experts=4, num_shared_experts=1), fused=False)
    assert [len(opt.param_groups) for opt in plain] == [2]


def test_dropout_zero_is_the_same_function_in_train_and_eval() -> None:
    x = torch.randint(0, 50, (2, 16), generator=torch.Generator().manual_seed(0))
    plain = _gpt(num_experts=4)
    assert torch.equal(plain.train()(x)[0], plain.eval()(x)[0])
    dropped = _gpt(num_experts=4, dropout=0.2)  # same seed: the same weights
    torch.manual_seed(1)
    train_out = dropped.train()(x)[0]
    assert not torch.allclose(train_out, dropped.eval()(x)[0], atol=1e-4)
    assert torch.equal(dropped.eval()(x)[0], plain.eval()(x)[0])


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"num_shared_experts": 2}, "num_shared_experts needs a mixture of experts"),
        ({"router_threshold": 0.5}, "router_threshold needs a mixture of experts"),
        ({"expert_lr": 1e-4}, "expert_lr needs a mixture of experts"),
        ({"router_layers": 2}, "router_layers needs a mixture of experts"),
        ({"num_experts": 4, "router_threshold": 1.5}, "router_threshold must be in"),
        ({"num_experts": 4, "num_shared_experts": -1}, "num_shared_experts must be >= 0"),
        ({"num_experts": 4, "router_layers": 0}, "router_layers must be >= 1"),
        ({"num_experts": 4, "expert_lr": -1.0}, "expert_lr must be >= 0"),
        ({"dropout": 1.0}, "dropout must be in"),
    ],
)
def test_bad_moe_config_is_a_clear_error(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        LMConfig(**overrides)
