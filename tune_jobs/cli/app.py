"""The ``tune-jobs`` command line: run, validate, resume, status and trainables here; report,
best and export in ``cli.analysis``, submit in ``cli.cluster``.

User mistakes (bad spec, bad flag, missing run) print one line and exit with code 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from tune_jobs.cli.analysis import ANALYSIS_COMMANDS, add_analysis_commands, run_analysis_command
from tune_jobs.cli.cluster import CLUSTER_COMMANDS, add_cluster_commands, run_cluster_command
from tune_jobs.errors import UserError

if TYPE_CHECKING:
    from tune_jobs.api import SweepResult

__all__ = ["main"]

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2 (argparse's own convention)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def _build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="tune-jobs",
        description="Run hyperparameter sweeps from YAML specs on Ray Tune; results in "
        "Parquet and TensorBoard.",
    )
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    def spec_args(p: argparse.ArgumentParser) -> None:
        p.add_argument("spec", help="the sweep spec (YAML)")
        p.add_argument("--name", help="experiment name (RUN_DIR = <storage>/<name>)")
        p.add_argument("--storage", help="results directory or URI (s3://...)")
        p.add_argument(
            "--set",
            dest="overrides",
            action="append",
            default=[],
            metavar="KEY.PATH=VALUE",
            help="override a spec value (YAML value), e.g. --set config.max_steps=50; repeatable",
        )
        p.add_argument(
            "--grid",
            dest="grids",
            action="append",
            default=[],
            metavar="PARAM=V1,V2,...",
            help="search PARAM (a key of the spec's space) over exactly these values, e.g. "
            "--grid lr=1e-4,3e-4,6e-4; repeatable",
        )
        p.add_argument(
            "--smoke", action="store_true", help="shrink to a run of under a minute (docs/spec.md)"
        )
        p.add_argument(
            "--format",
            dest="fmt",
            choices=("auto", "spec", "wandb"),
            default="auto",
            help="spec format: auto (a top-level `method:` means a W&B sweep file, "
            "docs/wandb.md), spec, or wandb",
        )
        p.add_argument(
            "--fail-fast",
            action="store_true",
            help="stop the whole sweep at the first trial error (sets fail_fast: true, "
            "max_failures: 0); by default failed trials are recorded and the sweep goes on",
        )

    run = sub.add_parser("run", help="run a sweep", description="Run a sweep from a spec.")
    spec_args(run)
    run.add_argument(
        "--address", help="Ray cluster address (default: RAY_ADDRESS, else a local Ray)"
    )

    validate = sub.add_parser(
        "validate",
        help="check a spec and print the plan (starts no Ray, except with --pilot)",
        description="Validate a spec and print the resolved plan and its budget; starts no "
        "Ray, except with --pilot.",
    )
    spec_args(validate)
    cost = validate.add_mutually_exclusive_group()
    cost.add_argument(
        "--cost-per-iteration",
        type=float,
        metavar="SECONDS",
        help="seconds one iteration (reported result) takes: adds GPU-hours and wall time",
    )
    cost.add_argument(
        "--pilot",
        action="store_true",
        help="measure the cost: run one trial for a few iterations on a local Ray first",
    )

    resume = sub.add_parser(
        "resume",
        help="continue an interrupted sweep",
        description="Continue an interrupted sweep from its last snapshot.",
    )
    resume.add_argument("run_dir", help="the run directory (RUN_DIR)")
    resume.add_argument("--address", help="Ray cluster address")

    status = sub.add_parser(
        "status",
        help="trials by state, a row per trial (metric, throughput, GPU, stalled?), best so far",
        description="Summarise a run directory, while it runs or after: trials by state, "
        "rows written, one row per trial (searched parameters, iteration, training time, "
        "latest metric, throughput, GPU utilisation and memory when reported, age of the "
        "last result, STALLED? flags) and the best so far.",
    )
    status.add_argument("run_dir", help="the run directory (RUN_DIR)")
    status.add_argument(
        "--watch",
        type=float,
        metavar="N",
        help="refresh every N seconds until Ctrl-C",
    )
    status.add_argument(
        "--all", dest="show_all", action="store_true", help="list every finished trial"
    )
    status.add_argument(
        "--stall-after",
        type=float,
        default=300.0,
        metavar="SECONDS",
        help="flag a running trial silent this long (and 5x its last iteration) as "
        "STALLED? (default: 300)",
    )

    trainables = sub.add_parser(
        "trainables",
        help="list the built-in trainables, or one's config keys",
        description="List the built-in trainables a spec can name; with NAME, its config keys.",
    )
    trainables.add_argument("name", nargs="?", help="a built-in trainable to describe")
    add_analysis_commands(sub)
    add_cluster_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``tune-jobs`` console script; returns the exit code."""
    args = _build_parser().parse_args(argv)
    try:
        return _dispatch(args)
    except UserError as err:
        print(f"tune-jobs: error: {err}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("tune-jobs: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # output piped into `head` and the like
        sys.stderr.close()
        return EXIT_OK


def _dispatch(args: argparse.Namespace) -> int:
    if args.command in ANALYSIS_COMMANDS:
        return run_analysis_command(args)
    if args.command in CLUSTER_COMMANDS:
        return run_cluster_command(args)
    if args.command == "trainables":
        return _print_trainables(args.name)
    if args.command == "status":
        from tune_jobs.cli.status import print_status, watch_status

        options = {"show_all": args.show_all, "stall_after_s": args.stall_after}
        if args.watch is not None:
            return watch_status(args.run_dir, args.watch, **options)
        return print_status(args.run_dir, **options)
    from tune_jobs import api

    if args.command == "resume":
        return _report(api.resume(args.run_dir, address=args.address))
    overrides = list(args.overrides)
    if args.fail_fast:
        overrides += ["fail_fast=true", "max_failures=0"]
    options = {
        "storage": args.storage,
        "name": args.name,
        "overrides": overrides,
        "smoke": args.smoke,
        "grids": list(args.grids),
        "fmt": args.fmt,
    }
    if args.command == "validate":
        from tune_jobs.execution.pilot import pilot_budget_lines

        plan = api.validate(args.spec, **options)
        print("\n".join(plan.describe()))
        print("\n".join(pilot_budget_lines(plan, args.cost_per_iteration, args.pilot)))
        print("ok: spec is valid")
        return EXIT_OK
    return _report(api.run(args.spec, address=args.address, **options))


def _print_trainables(name: str | None) -> int:
    from trainables import BUILTIN_TRAINABLES, load_config_class
    from trainables.describe import describe_config

    if name is None:
        width = max(len(n) for n in BUILTIN_TRAINABLES)
        for key, entry in sorted(BUILTIN_TRAINABLES.items()):
            print(f"{key:<{width}}  {entry.summary}")
        print("\n`tune-jobs trainables NAME` lists a trainable's config keys.")
        return EXIT_OK
    if name not in BUILTIN_TRAINABLES:
        allowed = ", ".join(sorted(BUILTIN_TRAINABLES))
        raise UserError(f"unknown trainable {name!r}; allowed: {allowed}")
    entry = BUILTIN_TRAINABLES[name]
    print(f"{name}: {entry.summary}\nusual metric: {entry.default_metric}")
    config_class, presets = load_config_class(name)
    if config_class is None:
        return EXIT_OK
    if presets:
        print("presets: " + ", ".join(presets))
    print("config keys (spec `config:` / `space:`, or --set config.KEY=VALUE):")
    for field in describe_config(config_class):
        print(f"  {field.name} ({field.type}, default {field.default!r}): {field.doc}")
    return EXIT_OK


def _report(result: SweepResult) -> int:
    from tune_jobs.execution.tuner import FAIL_FAST

    counts = ", ".join(f"{n} {s}" for s, n in sorted(result.statuses.items())) or "no trials"
    if result.stop_reason == FAIL_FAST:
        print(f"\nsweep stopped at the first trial error (fail_fast): {counts}")
        print(f"the error: tune-jobs status {result.run_dir}")
        print("no further trials were started; fix the cause and run the sweep again")
        return EXIT_FAILED
    if not result.finished:
        print(f"\nsweep interrupted: {counts}")
        print(f"state saved; continue with: tune-jobs resume {result.run_dir}")
        return EXIT_INTERRUPTED
    print(f"\nsweep finished: {counts}")
    best = result.best
    if best is not None:
        print(f"best trial: {best.trial_id} ({best.value})")
    print(f"results: {result.run_dir}  (trials.parquet, metrics/, tensorboard/)")
    if "://" in result.run_dir:  # TensorBoard reads s3:// but not pyarrow's query options
        base = result.run_dir.split("?", 1)[0]
        print(f"watch:   tensorboard --logdir {base}/tensorboard  (endpoint: docs/storage.md)")
    else:
        print(f"watch:   tensorboard --logdir {result.run_dir}")
    return EXIT_FAILED if result.all_failed else EXIT_OK


if __name__ == "__main__":
    raise SystemExit(main())
