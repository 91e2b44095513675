"""Holder of the offline ``wandb`` shim (``wandb/``), put first on a command's PYTHONPATH.

The command trainable prepends this directory when the command's env sets
``TUNE_JOBS_WANDB_SHIM=1`` (translated W&B sweeps do), so ``import wandb`` in the
training script gets the shim. See docs/wandb.md.
"""

__all__: list[str] = []
