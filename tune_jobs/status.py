"""``tune-jobs status RUN_DIR``: trials by state (per stage), best so far, rows written,
and with ``repeats`` the configurations ranked by their median over repeats."""

from __future__ import annotations

import pandas as pd
import yaml

from tune_jobs.errors import UserError
from tune_jobs.layout import SPEC_FILE
from tune_jobs.storage import RunStorage

__all__ = ["print_status"]


def print_status(run_dir: str) -> int:
    """Print a summary of ``run_dir``; works while the sweep runs. Returns exit code 0."""
    from analysis.load import load_metrics, load_trials

    run = RunStorage.open(run_dir)
    if not run.exists(SPEC_FILE):
        raise UserError(f"{run_dir}: not a tune-jobs run directory (no {SPEC_FILE})")
    spec = yaml.safe_load(run.read_bytes(SPEC_FILE)) or {}
    metric, mode = spec.get("metric"), spec.get("mode", "min")
    trials = load_trials(run_dir)
    raw = load_metrics(run_dir, clean=False)
    clean = load_metrics(run_dir, clean=True) if not raw.empty else raw
    shown = run.root if run.is_local else run_dir  # a URI keeps its query (endpoint)
    print(f"run: {shown}  ({spec.get('name')}, {mode} {metric})")
    if trials.empty:
        print("trials: none recorded yet")
    else:
        counts = trials["status"].value_counts().sort_index()
        print(f"trials: {len(trials)} (" + ", ".join(f"{n} {s}" for s, n in counts.items()) + ")")
    if spec.get("stages"):
        _print_stages(run, trials)
    print(f"results: {len(raw)} rows written, {len(clean)} in the clean view")
    if not trials.empty and metric in trials.columns and trials[metric].notna().any():
        ranked = trials.dropna(subset=[metric]).sort_values(metric, ascending=mode == "min")
        best = ranked.iloc[0]
        params = {
            c.removeprefix("config/"): best[c]
            for c in trials.columns
            if c.startswith("config/") and pd.notna(best[c])
        }
        variant = best.get("variant")
        label = f" [{variant}]" if isinstance(variant, str) else ""
        where = f"trial {best['trial_id']}{label} ({best['status']})"
        print(f"best so far: {metric}={best[metric]:.6g} {where}")
        print("  " + ", ".join(f"{k}={v}" for k, v in params.items()))
    repeats = spec.get("repeats") or 1
    n = repeats.get("n", 1) if isinstance(repeats, dict) else int(repeats)
    if n > 1 and not trials.empty and "config_id" in trials.columns:
        from tune_jobs.repeats import Objective, summary_lines

        seed_key = repeats.get("seed_key", "seed") if isinstance(repeats, dict) else "seed"
        for line in summary_lines(trials, Objective.from_spec_dict(spec), seed_key):
            print(line)
    errored = trials[trials["status"] == "ERROR"] if not trials.empty else trials
    for _, row in errored.iterrows():
        print(f"error: trial {row['trial_id']}: {row['error']}")
    return 0


def _print_stages(run: RunStorage, trials: pd.DataFrame) -> None:
    """One line per stage: its status in ``stages.json``, trial counts, locked values."""
    from tune_jobs.stages import read_progress

    stage_of = (
        trials["stage"].fillna(1).astype(int)
        if "stage" in trials.columns
        else pd.Series(1, index=trials.index)
    )
    for record in read_progress(run):
        index = record["index"]
        mine = trials[stage_of == index] if not trials.empty else trials
        counts = mine["status"].value_counts().sort_index() if not mine.empty else {}
        shown = ", ".join(f"{n} {s}" for s, n in counts.items()) or "none yet"
        line = f"  stage {index} ({record['name']}, {record['status']}): {len(mine)} trials"
        print(f"{line} ({shown})")
        if record.get("locked"):
            print("    locked: " + ", ".join(f"{k}={v}" for k, v in record["locked"].items()))
        if index > 1:
            for key, value in record.get("space", {}).items():
                ((kind, args),) = value.items()
                print(f"    {key}: {kind}{args}")
