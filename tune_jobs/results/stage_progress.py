"""Progress of a staged sweep in RUN_DIR: ``stages.json`` and the stage folders.

Stage 1 is Tune's experiment in RUN_DIR itself; stage ``k`` is its own Tune experiment
in ``RUN_DIR/stages/stage<k>/``. ``RUN_DIR/stages.json`` records each stage's status
(``running``/``done``), derived space and fixed config, so ``tune-jobs resume`` knows
where to continue.
"""

from __future__ import annotations

import json
from typing import Any

from tune_jobs.errors import UserError
from tune_jobs.spec.domains import Domain

__all__ = [
    "STAGES_DIR",
    "STAGES_FILE",
    "read_progress",
    "space_from_data",
    "stage_record",
    "write_progress",
]

#: Progress of a staged sweep, inside RUN_DIR.
STAGES_FILE = "stages.json"
#: Tune experiments of stages 2, 3, ... live below this folder of RUN_DIR.
STAGES_DIR = "stages"


def _space_to_data(space: dict[str, Domain]) -> dict[str, Any]:
    return {k: {d.kind: list(d.args)} for k, d in space.items()}


def space_from_data(data: dict[str, Any]) -> dict[str, Domain]:
    """Inverse of the ``space`` field written to ``stages.json``."""
    out = {}
    for key, value in data.items():
        ((kind, args),) = value.items()
        out[key] = Domain(kind, tuple(args))
    return out


def read_progress(run: Any) -> list[dict[str, Any]]:
    """The stage records of ``stages.json`` (empty if the run has none)."""
    if not run.exists(STAGES_FILE):
        return []
    try:
        return list(json.loads(run.read_bytes(STAGES_FILE))["stages"])
    except (ValueError, KeyError) as err:
        raise UserError(f"{run.path(STAGES_FILE)}: unreadable stage progress ({err})") from None


def write_progress(run: Any, records: list[dict[str, Any]]) -> None:
    """Rewrite ``stages.json`` atomically."""
    text = json.dumps({"stages": records}, indent=1, default=str)
    run.write_bytes(text.encode(), STAGES_FILE)


def stage_record(
    index: int,
    name: str,
    space: dict[str, Domain],
    config: dict[str, Any],
    locked: dict[str, Any],
    configs: int,
) -> dict[str, Any]:
    """One ``stages.json`` entry (status ``running``)."""
    return {
        "index": index,
        "name": name,
        "status": "running",
        "dir": "." if index == 1 else f"{STAGES_DIR}/stage{index}",
        "space": _space_to_data(space),
        "config": config,
        "locked": locked,
        "configs": configs,
    }
