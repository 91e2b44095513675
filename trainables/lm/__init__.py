"""The ``lm`` trainable: a decoder-only transformer language model (RoPE, RMSNorm,
SwiGLU, optional mixture of experts) trained with AdamW or Muon.

Modules: ``model`` (the network), ``muon`` (the optimiser and orthogonalisers),
``config`` (typed config and presets), ``training`` (the training loop, ``train``),
``data``, ``tokenizer``, ``corpus`` and ``prepare`` (token files and the built-in
corpus). Nothing is imported here, so ``python -m trainables.lm.prepare`` starts fast.
"""
