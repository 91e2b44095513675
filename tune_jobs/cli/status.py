"""``tune-jobs status RUN_DIR``: trials by state (per stage), rows written, one table with
each trial's latest progress, best so far, and with ``repeats`` the configurations ranked
by their median over repeats.

The per-trial table is the sweep's live "diagnose" view, read from ``trials.parquet``
(which holds each trial's latest reported values, rewritten while the sweep runs): the
trial's searched parameters, its iteration, training time, latest metric, throughput
(the first of ``THROUGHPUT_COLUMNS`` the trainable reports), GPU utilisation and memory
(``gpu_util_pct``, ``gpu_mem_gb``) when reported, and how long ago its last result
came. A running trial silent for longer than ``max(stall_after_s, 5 x its last
iteration time)`` is flagged ``STALLED?``.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable
from typing import Any

import pandas as pd
import yaml

from tune_jobs.errors import UserError
from tune_jobs.names import ACTIVE_STATUSES, ERROR, PENDING, RUNNING, SPEC_FILE
from tune_jobs.results.ranking import Objective, best_trial, rank_trials, summary_lines
from tune_jobs.results.storage import RunStorage

__all__ = [
    "DEFAULT_STALL_AFTER_S",
    "THROUGHPUT_COLUMNS",
    "print_status",
    "status_lines",
    "trial_table",
    "watch_status",
]

#: Throughput metrics the table looks for, in this order (the first one reported wins).
THROUGHPUT_COLUMNS = (
    "tokens_per_s",
    "samples_per_s",
    "examples_per_s",
    "images_per_s",
    "steps_per_s",
    "throughput",
)
#: A running trial without a result for this long (and 5 x its last iteration) is flagged.
DEFAULT_STALL_AFTER_S = 300.0
#: Finished trials shown in the table by default (running and pending are always shown).
_FINISHED_SHOWN = 10
_MAX_PARAMS = 4
_GPU_HEADERS = {"gpu_util_pct": "gpu %", "gpu_mem_gb": "gpu mem"}


def print_status(
    run_dir: str,
    *,
    show_all: bool = False,
    stall_after_s: float = DEFAULT_STALL_AFTER_S,
) -> int:
    """Print a summary of ``run_dir``; works while the sweep runs. Returns exit code 0."""
    print("\n".join(status_lines(run_dir, show_all=show_all, stall_after_s=stall_after_s)))
    return 0


def watch_status(
    run_dir: str,
    every_s: float,
    *,
    show_all: bool = False,
    stall_after_s: float = DEFAULT_STALL_AFTER_S,
    sleep: Callable[[float], None] = time.sleep,
    rounds: int | None = None,
) -> int:
    """Reprint the status every ``every_s`` seconds until Ctrl-C (or ``rounds`` times).

    On a terminal the screen is cleared before each refresh. Returns exit code 0.
    """
    if not every_s > 0:
        raise UserError(f"--watch: the refresh interval must be > 0 seconds; got {every_s:g}")
    done = 0
    try:
        while rounds is None or done < rounds:
            lines = status_lines(run_dir, show_all=show_all, stall_after_s=stall_after_s)
            if sys.stdout.isatty():
                sys.stdout.write("\033[2J\033[H")
            stamp = time.strftime("%H:%M:%S")
            print(f"[{stamp}, every {every_s:g} s; Ctrl-C to stop]")
            print("\n".join(lines), flush=True)
            done += 1
            if rounds is None or done < rounds:
                sleep(every_s)
    except KeyboardInterrupt:
        print()
    return 0


def status_lines(
    run_dir: str,
    *,
    show_all: bool = False,
    stall_after_s: float = DEFAULT_STALL_AFTER_S,
    now: float | None = None,
) -> list[str]:
    """The status of ``run_dir`` as lines of text (``now``: epoch seconds, for ages)."""
    from analysis.load import clean_view, load_metrics, load_trials

    if not stall_after_s >= 0:
        raise UserError(f"--stall-after: must be >= 0 seconds; got {stall_after_s:g}")
    run = RunStorage.open(run_dir)
    if not run.exists(SPEC_FILE):
        raise UserError(f"{run_dir}: not a tune-jobs run directory (no {SPEC_FILE})")
    spec = yaml.safe_load(run.read_bytes(SPEC_FILE)) or {}
    metric, mode = spec.get("metric"), spec.get("mode", "min")
    trials = load_trials(run_dir)
    raw = load_metrics(run_dir, clean=False)
    clean = clean_view(raw)  # read once: --watch rereads every few seconds
    shown = run.root if run.is_local else run_dir  # a URI keeps its query (endpoint)
    out = [f"run: {shown}  ({spec.get('name')}, {mode} {metric})"]
    if trials.empty:
        out.append("trials: none recorded yet")
    else:
        counts = trials["status"].value_counts().sort_index()
        out.append(
            f"trials: {len(trials)} (" + ", ".join(f"{n} {s}" for s, n in counts.items()) + ")"
        )
    if spec.get("stages"):
        out += _stage_lines(run, trials)
    out.append(f"results: {len(raw)} rows written, {len(clean)} in the clean view")
    if not trials.empty:
        out.append("")
        out += trial_table(
            trials,
            spec,
            now=time.time() if now is None else now,
            stall_after_s=stall_after_s,
            show_all=show_all,
        )
        out.append("")
    objective = Objective.from_spec_dict(spec)
    best = best_trial(trials, objective) if metric in trials.columns else None
    if best is not None:
        params = {
            c.removeprefix("config/"): best[c]
            for c in trials.columns
            if c.startswith("config/") and pd.notna(best[c])
        }
        variant = best.get("variant")
        label = f" [{variant}]" if isinstance(variant, str) else ""
        where = f"trial {best['trial_id']}{label} ({best['status']})"
        out.append(f"best so far: {metric}={best[metric]:.6g} {where}")
        out.append("  " + ", ".join(f"{k}={v}" for k, v in params.items()))
    repeats = spec.get("repeats") or 1
    n = repeats.get("n", 1) if isinstance(repeats, dict) else int(repeats)
    if n > 1 and not trials.empty and "config_id" in trials.columns:
        seed_key = repeats.get("seed_key", "seed") if isinstance(repeats, dict) else "seed"
        out += summary_lines(trials, objective, seed_key)
    errored = trials[trials["status"] == ERROR] if not trials.empty else trials
    for _, row in errored.iterrows():
        out.append(f"error: trial {row['trial_id']}: {row['error']}")
    return out


def trial_table(
    trials: pd.DataFrame,
    spec: dict[str, Any],
    *,
    now: float,
    stall_after_s: float = DEFAULT_STALL_AFTER_S,
    show_all: bool = False,
) -> list[str]:
    """One row per trial: parameters, iteration, time, metric, throughput, GPU, last result.

    Running and pending trials come first, then the finished ones best first (at most
    ``_FINISHED_SHOWN`` of them unless ``show_all``). Ends with a line per stalled trial.
    """
    from analysis.run import param_columns_of

    metric = spec.get("metric")
    rate = next((c for c in THROUGHPUT_COLUMNS if _has_numbers(trials, c)), None)
    params = param_columns_of(trials, spec)[:_MAX_PARAMS]
    gpu = [c for c in _GPU_HEADERS if _has_numbers(trials, c)]
    with_variant = "variant" in trials and trials["variant"].notna().any()

    active = trials[trials["status"].isin(ACTIVE_STATUSES)]
    active = active.assign(_key=active["status"].map(ACTIVE_STATUSES.index)).sort_values(
        ["_key", "trial_id"]
    )
    finished = rank_trials(
        trials[~trials["status"].isin(ACTIVE_STATUSES)], Objective.from_spec_dict(spec)
    )
    hidden = 0 if show_all else max(0, len(finished) - _FINISHED_SHOWN)
    rows = pd.concat([active, finished.iloc[: len(finished) - hidden]])

    header = ["trial", "status"] + (["variant"] if with_variant else [])
    header += [p.removeprefix("config/") for p in params] + ["iter", "elapsed"]
    header += [str(metric)] if metric else []
    header += [rate.replace("_per_s", "/s")] if rate else []
    header += [_GPU_HEADERS[c] for c in gpu]
    header += ["last result", "note"]
    body: list[list[str]] = []
    stalled: list[str] = []
    for _, row in rows.iterrows():
        cells = [str(row["trial_id"]), str(row["status"])]
        if with_variant:
            cells.append(row["variant"] if isinstance(row.get("variant"), str) else "")
        cells += [_param(row.get(p)) for p in params]
        cells += [_int(row.get("training_iteration")), _duration(row.get("time_total_s"))]
        if metric:
            cells.append(_number(row.get(metric)))
        if rate:
            cells.append(_rate(row.get(rate)))
        if "gpu_util_pct" in gpu:
            cells.append(_fixed(row.get("gpu_util_pct"), "{:.0f}"))
        if "gpu_mem_gb" in gpu:
            cells.append(_fixed(row.get("gpu_mem_gb"), "{:.1f} GB"))
        age, note = _age_and_note(row, now, stall_after_s)
        cells += [age, note]
        if note.startswith("STALLED"):
            stalled.append(str(row["trial_id"]))
        body.append(cells)
    text_columns = {0, 1, len(header) - 2, len(header) - 1} | ({2} if with_variant else set())
    lines = _render(header, body, text_columns)
    if hidden:
        lines.append(f"... {hidden} more finished trials (--all shows them)")
    if stalled:
        lines.append(
            f"stalled?: {', '.join(stalled)} reported nothing for over "
            f"{_duration(stall_after_s)} (or 5x their last iteration): a hung trial, a slow "
            "evaluation, or a sweep driver that is gone (then: tune-jobs resume RUN_DIR); "
            "see each trial's directory (`path` in trials.parquet)"
        )
    return lines


def _age_and_note(row: pd.Series, now: float, stall_after_s: float) -> tuple[str, str]:
    """``("12s ago", "")``, or a note: no result yet, STALLED?, diverged."""
    status = row["status"]
    stamp = _float(row.get("timestamp"))
    age = now - stamp if stamp is not None else None
    shown = f"{_duration(max(age, 0.0))} ago" if age is not None else "-"
    if status == PENDING:
        return "-", ""
    if status != RUNNING:
        return shown, ""
    if age is None:
        return "-", "no result yet"
    iteration = _float(row.get("time_this_iter_s")) or 0.0
    if age > max(stall_after_s, 5.0 * iteration):
        return shown, "STALLED?"
    return shown, ""


def _render(header: list[str], body: list[list[str]], text_columns: set[int]) -> list[str]:
    """Columns padded to their widest cell; numbers right-aligned, ``text_columns`` and
    columns with any non-number left-aligned."""
    widths = [max(len(r[i]) for r in [header, *body]) for i in range(len(header))]
    numeric = [
        i not in text_columns and bool(body) and all(_looks_numeric(r[i]) for r in body)
        for i in range(len(header))
    ]

    def line(cells: list[str]) -> str:
        parts = [
            c.rjust(w) if num else c.ljust(w)
            for c, w, num in zip(cells, widths, numeric, strict=True)
        ]
        return "  ".join(parts).rstrip()

    return [line(header), *(line(r) for r in body)]


def _looks_numeric(text: str) -> bool:
    return text in ("", "-") or text[0].isdigit() or (text[0] in "-+." and len(text) > 1)


def _has_numbers(frame: pd.DataFrame, column: str) -> bool:
    if column not in frame:
        return False
    return bool(pd.to_numeric(frame[column], errors="coerce").notna().any())


def _float(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _number(value: Any) -> str:
    """5 significant digits; ``-`` when not reported yet (or NaN: see the status)."""
    number = _float(value) if not isinstance(value, bool) else None
    return "-" if number is None else f"{number:.5g}"


def _int(value: Any) -> str:
    number = _float(value)
    return "-" if number is None else str(int(number))


def _fixed(value: Any, fmt: str) -> str:
    number = _float(value)
    return "-" if number is None else fmt.format(number)


def _rate(value: Any) -> str:
    """``12.3k``, ``1.52M``, ``512``: a throughput, 3 significant digits."""
    number = _float(value)
    if number is None:
        return "-"
    for scale, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(number) >= scale:
            return f"{number / scale:.3g}{suffix}"
    return f"{number:.3g}"


def _duration(value: Any) -> str:
    """``42s``, ``5m02s``, ``1h07m``, ``3d04h``."""
    seconds = _float(value)
    if seconds is None:
        return "-"
    total = round(seconds)
    if total < 60:
        return f"{total}s"
    if total < 3600:
        return f"{total // 60}m{total % 60:02d}s"
    if total < 48 * 3600:
        return f"{total // 3600}h{total % 3600 // 60:02d}m"
    return f"{total // 86400}d{total % 86400 // 3600:02d}h"


def _param(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _stage_lines(run: RunStorage, trials: pd.DataFrame) -> list[str]:
    """One line per stage: its status in ``stages.json``, trial counts, locked values."""
    from tune_jobs.results.stage_progress import read_progress

    out: list[str] = []
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
        out.append(f"{line} ({shown})")
        if record.get("locked"):
            out.append("    locked: " + ", ".join(f"{k}={v}" for k, v in record["locked"].items()))
        if index > 1:
            for key, value in record.get("space", {}).items():
                ((kind, args),) = value.items()
                out.append(f"    {key}: {kind}{args}")
    return out
