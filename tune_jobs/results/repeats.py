"""Repeated seeds: each trial's identity over repeats (``config_id``, ``repeat``).

``config_id`` is a stable short hash of the config a trial trained with, without the
seed key (and without bookkeeping such as the variant name), so the repeats of one
configuration share it; the ranking takes their median (``tune_jobs.results.ranking``).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from tune_jobs.nested import get_dotted, without_dotted

__all__ = ["config_id", "repeat_index"]


def config_id(config: dict[str, Any], seed_key: str) -> str:
    """10 hex digits identifying ``config`` (the effective config) without ``seed_key``."""
    text = json.dumps(without_dotted(config, seed_key), sort_keys=True, default=str)
    return hashlib.sha1(text.encode()).hexdigest()[:10]


def repeat_index(config: dict[str, Any], seed_key: str, base: int, n: int) -> int:
    """Which of the ``n`` runs of its configuration this config is (0 without repeats)."""
    seed = get_dotted(config, seed_key, None)
    if n <= 1 or isinstance(seed, bool) or not isinstance(seed, (int, float)):
        return 0
    return int(seed) - base
