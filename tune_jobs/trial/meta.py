"""Per-trial bookkeeping carried inside Tune's config, and the config a trial really uses."""

from __future__ import annotations

import json
from typing import Any

from tune_jobs.nested import deep_merge

__all__ = ["TRIAL_META_KEY", "effective_config"]

#: Reserved top-level config key carrying per-trial bookkeeping: ``variant`` (name or
#: None) and ``extra`` (JSON of variant values at keys the param space lacks, which
#: Tune's preset points cannot set). It is removed before the user's function runs.
TRIAL_META_KEY = "__trial_meta__"


def effective_config(config: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    """The config a trial really trains with, and its variant name."""
    meta = config.get(TRIAL_META_KEY) or {}
    plain = {k: v for k, v in config.items() if k != TRIAL_META_KEY}
    extra = json.loads(meta.get("extra") or "{}")
    return deep_merge(plain, extra), meta.get("variant")
