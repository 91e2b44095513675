"""``tune-jobs submit``: sweeps as Ray jobs on a cluster.

``tune-jobs submit SPEC --address URL [--follow]`` validates the spec here, uploads the
working directory and prints the job id; ``--stop JOB_ID`` stops a job; ``--resume RUN_DIR``
resumes a stopped sweep as a new job. The jobs API URL comes from ``--address`` or an
``http(s)://`` ``RAY_ADDRESS``; the auth token from ``--token-file`` or, with
``RAY_AUTH_MODE=token``, from Ray's own token sources.
"""

from __future__ import annotations

import argparse
import os
import posixpath
import sys

from tune_jobs.errors import UserError

__all__ = ["CLUSTER_COMMANDS", "add_cluster_commands", "run_cluster_command"]

CLUSTER_COMMANDS: frozenset[str] = frozenset({"submit"})
"""Sub-command names this module handles."""


def add_cluster_commands(sub: argparse._SubParsersAction) -> None:
    """Register the cluster sub-commands on the ``tune-jobs`` parser."""
    p = sub.add_parser(
        "submit",
        help="run a sweep as a Ray job on a cluster (or stop / resume one)",
        description="Submit a sweep as a Ray job: uploads the working directory (without "
        "results, virtualenvs, .git, data) and runs `tune-jobs run SPEC` on the cluster. "
        "Results must go to storage the cluster's nodes share (an absolute path or s3://).",
    )
    p.add_argument("spec", nargs="?", help="the sweep spec (YAML), inside the working dir")
    p.add_argument(
        "--address",
        help="the cluster's jobs API, e.g. http://127.0.0.1:8265 (default: an http:// RAY_ADDRESS)",
    )
    p.add_argument("--follow", action="store_true", help="print the job's logs until it ends")
    p.add_argument("--name", help="experiment name (RUN_DIR = <storage>/<name>)")
    p.add_argument("--storage", help="shared results path or URI, as the cluster sees it")
    p.add_argument(
        "--set", dest="overrides", action="append", default=[], metavar="KEY.PATH=VALUE",
        help="override a spec value; repeatable",
    )  # fmt: skip
    p.add_argument("--smoke", action="store_true", help="shrink to a run of under a minute")
    p.add_argument("--format", dest="fmt", choices=("auto", "spec", "wandb"), default="auto")
    p.add_argument("--working-dir", default=".", help="directory to upload (default: .)")
    p.add_argument("--token-file", help="auth token file (default: Ray's, see cluster/README.md)")
    action = p.add_mutually_exclusive_group()
    action.add_argument("--stop", metavar="JOB_ID", help="stop a submitted job")
    action.add_argument("--resume", metavar="RUN_DIR", help="resume a stopped sweep as a job")


def run_cluster_command(args: argparse.Namespace) -> int:
    """Run one of ``CLUSTER_COMMANDS``; returns the exit code."""
    from tune_jobs.execution import jobs

    address = _address(args.address)
    client = jobs.connect(address, jobs.resolve_token(args.token_file, os.environ))
    if args.stop:
        stopped = jobs.stop_job(client, args.stop, address)
        print(f"{args.stop}: {'stop requested' if stopped else 'already ended'}")
        if args.follow:
            return jobs.exit_code(jobs.follow(client, args.stop, address))
        return 0
    request = _request(args)
    job_id = jobs.submit(client, request, address)
    print(f"submitted job {job_id}")
    print(f"  logs:   ray job logs --address {address} --follow {job_id}")
    print(f"  stop:   tune-jobs submit --stop {job_id} --address {address}")
    if not args.follow:
        return 0
    status = jobs.follow(client, job_id, address)
    print(f"job {job_id}: {status}", file=sys.stderr)
    return jobs.exit_code(status)


def _address(given: str | None) -> str:
    address = given or os.environ.get("RAY_ADDRESS", "")
    if "://" not in address:
        raise UserError("--address http://HOST:8265 (the cluster's jobs API) is required")
    return address


def _request(args: argparse.Namespace):
    from tune_jobs.execution.jobs import SubmitRequest

    if args.resume:
        if args.spec:
            raise UserError("give either SPEC or --resume RUN_DIR, not both")
        _check_shared(args.resume, "--resume RUN_DIR")
        print(f"resuming {args.resume} (tune-jobs status {args.resume})")
        return SubmitRequest(spec="", resume_run_dir=args.resume, working_dir=args.working_dir)
    if not args.spec:
        raise UserError("a SPEC to submit is required (or --stop JOB_ID / --resume RUN_DIR)")
    if not os.path.isdir(args.working_dir):
        raise UserError(f"--working-dir {args.working_dir}: not a directory")
    request = SubmitRequest(
        spec=args.spec, name=args.name, storage=args.storage, overrides=tuple(args.overrides),
        smoke=args.smoke, fmt=args.fmt, working_dir=args.working_dir,
    )  # fmt: skip
    run_dir = _validate(request)
    print(f"RUN_DIR on the cluster: {run_dir}")
    print(f"  resume: tune-jobs resume {run_dir}  (or submit --resume {run_dir})")
    return request


def _validate(request) -> str:
    """Check the spec here (fail before uploading); returns the job's RUN_DIR."""
    from tune_jobs.spec import load_spec

    request.spec_in_working_dir()
    spec = load_spec(
        request.spec, list(request.overrides), smoke=request.smoke, name=request.name,
        storage=request.storage, fmt=request.fmt,
    )  # fmt: skip
    _check_shared(spec.storage, "storage")
    return posixpath.join(spec.storage.rstrip("/"), spec.name)


def _check_shared(path: str, what: str) -> None:
    if "://" not in path and not os.path.isabs(path):
        raise UserError(
            f"{what} {path!r} is a relative path: on the cluster it would land in the job's "
            "temporary working directory; pass --storage /shared/path or s3://bucket/prefix"
        )
