"""Run Weights & Biases sweep files unchanged, offline: translation to a tune-jobs spec.

``load_spec`` calls :func:`translate_wandb` when a YAML file's top level has ``method``
(or with ``--format wandb``). Training scripts that ``import wandb`` get the offline
shim in ``trainables/wandb_shim``. See docs/wandb.md.
"""

from tune_jobs.spec.wandb.translate import is_wandb_sweep, sanitize_name, translate_wandb

__all__ = ["is_wandb_sweep", "sanitize_name", "translate_wandb"]
