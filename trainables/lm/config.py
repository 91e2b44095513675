"""The ``lm`` trainable's config: every key a spec may set, with presets."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from trainables.lm.model import GPTShape
from trainables.lm.muon import ORTHOGONALIZERS

__all__ = ["PRESETS", "LMConfig"]

_SCHEDULES = ("cosine", "linear", "constant", "wsd")


@dataclass
class LMConfig:
    """Configuration of one ``lm`` trial; any preset field can be overridden."""

    preset: str = "tiny"
    """``tiny`` (CPU tests), ``cs336-17m``, ``gpt2-124m``, ``modded-155m``."""
    seed: int = 0
    """Initialisation and batch-order seed."""
    data: str = "builtin"
    """A directory made by ``python -m trainables.lm.prepare``, ``builtin`` (an offline
    corpus of generated stories, byte-level tokens) or ``builtin:bpe`` (the same stories,
    a BPE tokenizer trained locally)."""
    # --- model -------------------------------------------------------------------
    vocab_size: int = 0
    """Embedding rows; 0 takes the data's vocabulary size. Must be >= the data's."""
    context: int = 64
    """Sequence length (tokens per training example)."""
    n_layers: int = 2
    """Transformer blocks."""
    d_model: int = 64
    """Residual width."""
    n_heads: int = 4
    """Attention heads (d_model must be divisible by it)."""
    d_ff: int = 176
    """SwiGLU hidden width."""
    rope_theta: float = 10000.0
    """RoPE base."""
    tie_embeddings: bool = True
    """Share the embedding and output head weights."""
    init_std: float = 0.02
    """Std of the normal weight init (residual projections scaled by 1/sqrt(2 n_layers))."""
    dropout: float = 0.0
    """Dropout on attention weights and on both residual branches (0: none, so training
    and evaluation compute the same function)."""
    num_experts: int = 0
    """Mixture-of-experts feed-forward with this many routed experts per layer (0: dense)."""
    top_k: int = 2
    """Routed experts per token (the most, with ``router_threshold``)."""
    num_shared_experts: int = 0
    """MoE: always-active shared experts per layer (DeepSeekMoE), each ``d_ff`` wide, added
    unweighted beside the routed ones."""
    router_layers: int = 1
    """MoE: router depth; 1 is the usual linear router, k > 1 an MLP of k layers (width
    ``d_model``, SiLU) that decides the mixture."""
    router_threshold: float = 0.0
    """MoE top-p routing: a token takes experts in order of router probability until their
    cumulative probability reaches this (at least 1, at most ``top_k``); 0 turns it off."""
    expert_lr: float = 0.0
    """MoE: peak learning rate of the expert weights (routed and shared) in their own
    optimiser group, in the units of the optimiser that trains them (Muon's with muon);
    same schedule as the rest. 0: the same lr as the other matrices."""
    aux_loss_weight: float = 0.01
    """Weight of the MoE load-balancing loss."""
    # --- optimisation ----------------------------------------------------------------
    optimizer: str = "adamw"
    """``adamw``, or ``muon`` (Muon on hidden matrices, AdamW on the rest)."""
    lr: float = 3e-3
    """Peak learning rate (Muon's for hidden matrices when optimizer is muon)."""
    adam_lr: float = 3e-3
    """With muon: AdamW's peak lr for embeddings, head and norm gains."""
    momentum: float = 0.95
    """Muon momentum (Nesterov)."""
    orthogonalization: str = "newton_schulz"
    """Muon's orthogonaliser: ``newton_schulz`` or ``polar_express``."""
    ns_steps: int = 5
    """Muon's polynomial iterations."""
    beta1: float = 0.9
    """AdamW beta1."""
    beta2: float = 0.95
    """AdamW beta2."""
    weight_decay: float = 0.1
    """Decoupled weight decay on matrices (never on norm gains)."""
    schedule: str = "cosine"
    """After warm-up: ``cosine``, ``linear``, ``constant`` or ``wsd`` (warmup-stable-decay)."""
    warmup_steps: int = 10
    """Linear warm-up steps."""
    min_lr_ratio: float = 0.1
    """Final lr as a fraction of the peak (cosine, linear, wsd)."""
    decay_fraction: float = 0.2
    """wsd: the last fraction of steps that decays."""
    grad_clip: float = 1.0
    """Clip the global gradient norm to this (0 disables)."""
    grad_accum: int = 1
    """Micro-batches per optimiser step."""
    batch_size: int = 16
    """Sequences per micro-batch."""
    max_steps: int = 200
    """Optimiser steps in total (the run length)."""
    # --- reporting ---------------------------------------------------------------------
    report_every: int = 20
    """Steps between reported results."""
    eval_every: int = 20
    """Steps between validation losses (reported at the next report, and at the end)."""
    eval_batches: int = 4
    """Validation batches per evaluation (always the same batches)."""
    checkpoint_every: int = 1
    """Reports between checkpoints (the last report always checkpoints)."""
    # --- performance (GPU) -------------------------------------------------------------
    compile: bool = False
    """``torch.compile`` the model (CUDA only; ignored on CPU)."""
    precision: str = "auto"
    """``auto`` (bf16 autocast + TF32 on CUDA, fp32 on CPU), ``fp32`` or ``bf16``."""

    def __post_init__(self) -> None:
        for name in (
            "context",
            "n_layers",
            "d_model",
            "n_heads",
            "d_ff",
            "batch_size",
            "max_steps",
            "report_every",
            "eval_every",
            "eval_batches",
            "checkpoint_every",
            "grad_accum",
            "ns_steps",
            "router_layers",
        ):
            if getattr(self, name) < 1:
                raise ValueError(f"LMConfig: {name} must be >= 1; got {getattr(self, name)}")
        if self.d_model % self.n_heads or (self.d_model // self.n_heads) % 2:
            raise ValueError(
                f"LMConfig: d_model {self.d_model} / n_heads {self.n_heads} must be an even integer"
            )
        choices = {
            "optimizer": ("adamw", "muon"),
            "orthogonalization": ORTHOGONALIZERS,
            "schedule": _SCHEDULES,
            "precision": ("auto", "fp32", "bf16"),
        }
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise ValueError(
                    f"LMConfig: {name} must be one of {allowed}; got {getattr(self, name)!r}"
                )
        if self.num_experts and not 1 <= self.top_k <= self.num_experts:
            raise ValueError(f"LMConfig: top_k must be in [1, num_experts]; got {self.top_k}")
        if self.num_experts < 0 or self.vocab_size < 0:
            raise ValueError("LMConfig: num_experts and vocab_size must be >= 0")
        if self.num_shared_experts < 0:
            raise ValueError(
                f"LMConfig: num_shared_experts must be >= 0; got {self.num_shared_experts}"
            )
        if not 0 <= self.router_threshold <= 1:
            raise ValueError(
                f"LMConfig: router_threshold must be in [0, 1]; got {self.router_threshold}"
            )
        if self.expert_lr < 0:
            raise ValueError(f"LMConfig: expert_lr must be >= 0; got {self.expert_lr}")
        moe_only = {
            "num_shared_experts": 0,
            "router_layers": 1,
            "router_threshold": 0.0,
            "expert_lr": 0.0,
        }
        for name, default in moe_only.items():
            if not self.num_experts and getattr(self, name) != default:
                raise ValueError(
                    f"LMConfig: {name} needs a mixture of experts (num_experts > 0); "
                    f"got {name}={getattr(self, name)} with num_experts=0"
                )
        if self.lr <= 0 or self.adam_lr <= 0:
            raise ValueError("LMConfig: lr and adam_lr must be > 0")
        if not 0 <= self.min_lr_ratio <= 1 or not 0 < self.decay_fraction <= 1:
            raise ValueError("LMConfig: min_lr_ratio must be in [0, 1], decay_fraction in (0, 1]")
        if not 0 <= self.dropout < 1:
            raise ValueError(f"LMConfig: dropout must be in [0, 1); got {self.dropout}")

    def shape(self, data_vocab: int) -> GPTShape:
        """The model architecture, with the vocabulary resolved against the data's."""
        vocab = self.vocab_size or data_vocab
        if vocab < data_vocab:
            raise ValueError(f"LMConfig: vocab_size {vocab} < the data's vocabulary {data_vocab}")
        # Every model field has the same name in this config; only the vocab is resolved.
        fields = {f.name: getattr(self, f.name) for f in dataclasses.fields(GPTShape)}
        return GPTShape(**{**fields, "vocab_size": vocab})

    def lr_multiplier(self, step: int) -> float:
        """Fraction of the peak lr at optimiser step ``step`` (0-based)."""
        if step < self.warmup_steps:
            return (step + 1) / self.warmup_steps
        if self.schedule == "constant":
            return 1.0
        floor = self.min_lr_ratio
        if self.schedule == "wsd":
            decay_start = int(self.max_steps * (1 - self.decay_fraction))
            if step < decay_start:
                return 1.0
            progress = (step - decay_start) / max(1, self.max_steps - decay_start)
            return 1.0 - (1.0 - floor) * min(1.0, progress)
        progress = min(1.0, (step - self.warmup_steps) / max(1, self.max_steps - self.warmup_steps))
        if self.schedule == "linear":
            return 1.0 - (1.0 - floor) * progress
        import math

        return floor + (1.0 - floor) * 0.5 * (1.0 + math.cos(math.pi * progress))


PRESETS: dict[str, dict[str, Any]] = {
    "tiny": {},
    # The 17M-parameter TinyStories model (CS336 assignment 1).
    "cs336-17m": {
        "vocab_size": 10000,
        "context": 256,
        "d_model": 512,
        "d_ff": 1344,
        "n_layers": 4,
        "n_heads": 16,
        "rope_theta": 10000.0,
        "tie_embeddings": False,  # CS336 counts the untied head in its 17M
        "batch_size": 64,
        "lr": 1e-3,
        "max_steps": 5000,
        "warmup_steps": 200,
        "report_every": 50,
        "eval_every": 250,
        "eval_batches": 20,
        "checkpoint_every": 5,
    },
    "gpt2-124m": {
        "vocab_size": 50304,
        "context": 1024,
        "d_model": 768,
        "d_ff": 2048,
        "n_layers": 12,
        "n_heads": 12,
        "batch_size": 16,
        "grad_accum": 4,
        "lr": 6e-4,
        "max_steps": 5000,
        "warmup_steps": 200,
        "report_every": 50,
        "eval_every": 250,
        "eval_batches": 20,
        "checkpoint_every": 5,
        "compile": True,
    },
    # modded-nanogpt scale (the speedrun GPT): 11 x 768, Muon.
    "modded-155m": {
        "vocab_size": 50304,
        "context": 1024,
        "d_model": 768,
        "d_ff": 2048,
        "n_layers": 11,
        "n_heads": 6,
        "tie_embeddings": False,
        "batch_size": 16,
        "grad_accum": 4,
        "optimizer": "muon",
        "lr": 0.02,
        "adam_lr": 0.008,
        "weight_decay": 0.0,
        "schedule": "wsd",
        "max_steps": 5000,
        "warmup_steps": 0,
        "report_every": 50,
        "eval_every": 50,
        "eval_batches": 20,
        "checkpoint_every": 5,
        "compile": True,
    },
}
