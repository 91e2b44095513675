"""``tune-jobs report``, ``best`` and ``export``: the analysis commands.

Each reads a RUN_DIR (local or URI) through ``analysis.load_run``; user mistakes (no
such run, no results yet, an unknown metric) raise ``UserError`` (one line, exit 2).
"""

from __future__ import annotations

import argparse
import posixpath
import sys
from pathlib import Path
from typing import Any

from tune_jobs.errors import UserError

__all__ = ["ANALYSIS_COMMANDS", "add_analysis_commands", "run_analysis_command"]

ANALYSIS_COMMANDS: frozenset[str] = frozenset({"report", "best", "export"})
"""Sub-command names this module handles."""


def add_analysis_commands(sub: argparse._SubParsersAction) -> None:
    """Register the analysis sub-commands on the ``tune-jobs`` parser."""
    report = sub.add_parser(
        "report",
        help="write a Markdown and a self-contained HTML report of a run",
        description="Write report.md (with PNGs) and report.html (plots embedded, tables "
        "sortable) for RUN_DIR: leaderboard, best config, importance, curves and the views "
        "that fit the sweep. Works while the sweep runs.",
    )
    report.add_argument("run_dir", help="the run directory (RUN_DIR), a path or URI")
    report.add_argument(
        "--out", help="output directory (default: RUN_DIR/report, or ./report-<name> for URIs)"
    )
    _objective_args(report)

    best = sub.add_parser(
        "best",
        help="print the best configuration as a spec; export it with its checkpoint",
        description="Print the best configuration as a spec fragment ready to re-run; with "
        "--export, write best.yaml, best.json, metadata.json and the trial's checkpoint "
        "(checkpoint/): the existing one that scored best on the metric, else the newest.",
    )
    best.add_argument("run_dir", help="the run directory (RUN_DIR), a path or URI")
    best.add_argument("--export", metavar="DIR", help="write the files into DIR")
    best.add_argument(
        "--top",
        type=_positive_int,
        default=1,
        metavar="K",
        help="the K best trials (with --export: one rank<NN>_<trial> directory each)",
    )
    best.add_argument(
        "--checkpoint",
        choices=("best", "latest"),
        default="best",
        help="which checkpoint --export copies: the trial's best-scoring one still on "
        "storage (default; keep them with the spec's keep_best_checkpoints) or its newest",
    )
    _objective_args(best)

    export = sub.add_parser(
        "export",
        help="export the per-trial summary (CSV)",
        description="Export the per-trial summary (leaderboard with parameters and final "
        "metrics), ranked by the metric.",
    )
    export.add_argument("run_dir", help="the run directory (RUN_DIR), a path or URI")
    export.add_argument("--csv", action="store_true", required=True, help="write CSV")
    export.add_argument("--out", metavar="FILE", help="CSV file (default: standard output)")
    _objective_args(export)


def _objective_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--metric", help="metric to rank by (default: the spec's metric)")
    parser.add_argument(
        "--mode", choices=("min", "max"), help="min or max (default: the spec's mode)"
    )


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1; got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1; got {value}")
    return value


def run_analysis_command(args: argparse.Namespace) -> int:
    """Run one of ``ANALYSIS_COMMANDS``; returns the exit code."""
    if args.command == "report":
        return _report(args)
    if args.command == "best":
        return _best(args)
    if args.command == "export":
        return _export(args)
    raise UserError(f"unknown analysis command {args.command!r}")


def _load(args: argparse.Namespace):
    """The run, checked: it exists; ``--metric``/``--mode`` override the spec's."""
    from tune_jobs.names import SPEC_FILE
    from tune_jobs.results.storage import RunStorage

    try:
        run_storage = RunStorage.open(args.run_dir)
        found = run_storage.exists(SPEC_FILE)
    except (OSError, ValueError) as err:
        raise UserError(f"{args.run_dir}: cannot open: {err}") from None
    if not found:
        raise UserError(f"{args.run_dir}: not a tune-jobs run directory (no {SPEC_FILE})")
    from analysis.load import load_run

    run = load_run(args.run_dir)
    metric = args.metric or run.metric
    mode = args.mode or run.mode or "min"
    if not metric:
        raise UserError(f"{args.run_dir}: the spec names no metric; pass --metric")
    if not run.trials.empty and metric not in run.trials.columns:
        from analysis._checks import metric_columns

        known = sorted(metric_columns(run.trials))
        raise UserError(
            f"unknown metric {metric!r} in {args.run_dir}; known: {', '.join(known) or 'none'}"
        )
    return run, metric, mode


def _ranked(run: Any, metric: str, mode: str, top: int | None = None):
    """Trials with a value for ``metric``, best first (``UserError`` if none yet)."""
    from analysis.ranking import leaderboard

    if run.trials.empty or run.trials[metric].notna().sum() == 0:
        raise UserError(f"{_source(run)}: no results for {metric!r} yet")
    return leaderboard(run.trials, metric, mode, top=top, objective=run.objective(metric, mode))


def _source(run: Any) -> str:
    return str(getattr(run, "run_dir", None) or "RUN_DIR")


def _report(args: argparse.Namespace) -> int:
    run, metric, mode = _load(args)
    from analysis.report import build_report

    out = Path(args.out) if args.out else _default_report_dir(args.run_dir)
    written = build_report(run, out, metric=metric, mode=mode)
    for path in written:
        print(f"wrote {path}")
    return 0


def _default_report_dir(run_dir: str) -> Path:
    if "://" in run_dir:
        name = posixpath.basename(run_dir.rstrip("/")) or "run"
        return Path.cwd() / f"report-{name}"
    return Path(run_dir) / "report"


def _best(args: argparse.Namespace) -> int:
    from analysis.export import best_config, export_ranked, spec_fragment

    run, metric, mode = _load(args)
    ranked = _ranked(run, metric, mode, top=args.top)
    for rank, (_, row) in enumerate(ranked.iterrows(), start=1):
        header = f"rank {rank}: trial {row['trial_id']}, {metric}={row[metric]:.6g} ({mode})"
        if rank > 1:
            print("---")
        print(spec_fragment(best_config(row), run.spec or {}, header))
    if args.export:
        written = export_ranked(
            args.run_dir,
            ranked,
            args.export,
            metric,
            mode,
            run.spec or {},
            checkpoint=args.checkpoint,
        )
        missing = [m["trial_id"] for m in written if m["checkpoint"] is None]
        print(f"exported {len(written)} configuration(s) to {args.export}", file=sys.stderr)
        if missing:
            print(f"no checkpoint found for trial(s): {', '.join(missing)}", file=sys.stderr)
    return 0


def _export(args: argparse.Namespace) -> int:
    from analysis.export import write_summary_csv

    run, metric, mode = _load(args)
    ranked = _ranked(run, metric, mode)
    text = write_summary_csv(ranked, args.out)
    if args.out:
        print(f"wrote {args.out} ({len(ranked)} trials)")
    else:
        sys.stdout.write(text)
    return 0
