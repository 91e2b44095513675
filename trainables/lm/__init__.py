"""The ``lm`` trainable: a decoder-only transformer language model (RoPE, RMSNorm,
SwiGLU, optional mixture of experts) trained with AdamW or Muon.

Modules: ``model`` (the network), ``muon`` (the optimiser and orthogonalisers),
``config`` (typed config and presets), ``train`` (the training loop), ``data``,
``tokenizer``, ``corpus`` and ``prepare`` (token files and the built-in corpus).
"""

from trainables.lm.train import train

__all__ = ["train"]
