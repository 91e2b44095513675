"""Sweeps as Ray jobs: submit, follow, stop (``tune-jobs submit``).

A thin layer over ``ray.job_submission.JobSubmissionClient``. The working directory is
uploaded (``runtime_env.working_dir``, minus ``DEFAULT_EXCLUDES`` and .gitignore'd files)
and the job runs ``python -m tune_jobs run SPEC ...`` in it, so the uploaded ``tune_jobs``
and ``trainables`` are the ones imported on the cluster. Inside the job the supervisor sets
``RAY_ADDRESS``; ``tune-jobs run`` joins that cluster and never starts a second Ray.

The auth token travels as an ``Authorization: Bearer`` header (``resolve_token``).

Results on URI storage (``s3://...``): the job's driver needs the storage credentials.
They come from the submitting environment, never from the spec: when the job's RUN_DIR
is a URI, the ``STORAGE_ENV_VARS`` set here are forwarded into the job's
``runtime_env.env_vars`` (``storage_env``). Nodes with an instance role or a profile
need none of them.
"""

from __future__ import annotations

import asyncio
import os
import posixpath
import shlex
import sys
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from tune_jobs.errors import UserError
from tune_jobs.trial.user_code import PROTECT_HOOK

if TYPE_CHECKING:
    from ray.job_submission import JobSubmissionClient

__all__ = [
    "DEFAULT_EXCLUDES",
    "STORAGE_ENV_VARS",
    "SubmitRequest",
    "connect",
    "exit_code",
    "follow",
    "resolve_token",
    "stop_job",
    "storage_env",
    "submit",
]

DEFAULT_EXCLUDES: tuple[str, ...] = (
    ".git",
    ".venv",
    "venv",
    ".env",
    "/results",
    "/data",
    "/cluster/n",
    "__pycache__",
    "*.egg-info",
    ".ruff_cache",
    ".pytest_cache",
    "*.parquet",
    "events.out.tfevents.*",
    "*.ckpt",
    "*.pt",
)
"""Never uploaded with a job: results, virtualenvs, VCS, data, caches, checkpoints."""

STORAGE_ENV_VARS: tuple[str, ...] = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_DEFAULT_REGION",
    "AWS_REGION",
    "AWS_PROFILE",
    "AWS_EC2_METADATA_DISABLED",
)
"""Forwarded from the submitting environment to a job whose RUN_DIR is a URI."""


def storage_env(storage: str, environ: Mapping[str, str]) -> dict[str, str]:
    """The ``STORAGE_ENV_VARS`` set in ``environ``, if ``storage`` is a URI (else none)."""
    if "://" not in storage:
        return {}
    return {name: environ[name] for name in STORAGE_ENV_VARS if environ.get(name)}


@dataclass(frozen=True)
class SubmitRequest:
    """One sweep to run as a Ray job (the arguments of ``tune-jobs run`` plus upload)."""

    spec: str
    """The spec file; must lie inside ``working_dir`` (it is uploaded with it)."""
    name: str | None = None
    """Experiment name override (``--name``)."""
    storage: str | None = None
    """Storage override; on a cluster an absolute shared path or a URI (s3://...)."""
    overrides: tuple[str, ...] = ()
    """``--set KEY.PATH=VALUE`` overrides."""
    smoke: bool = False
    """Shrink the sweep (``--smoke``)."""
    fmt: str = "auto"
    """Spec format (``--format``)."""
    working_dir: str = "."
    """Directory uploaded as the job's working directory."""
    excludes: tuple[str, ...] = field(default=DEFAULT_EXCLUDES)
    """gitignore-style patterns left out of the upload."""
    resume_run_dir: str | None = None
    """When set, the job resumes this RUN_DIR instead of starting ``spec``."""
    environ: Mapping[str, str] | None = field(default=None, repr=False, compare=False)
    """Where storage credentials are forwarded from (``storage_env``); None: ``os.environ``."""

    def __post_init__(self) -> None:
        if not self.spec and not self.resume_run_dir:
            raise ValueError("a spec or a run dir to resume is required")
        if not Path(self.working_dir).is_dir():
            raise ValueError(f"working_dir {self.working_dir!r} is not a directory")

    def spec_in_working_dir(self) -> str:
        """The spec's path relative to ``working_dir`` (where the job will find it)."""
        root = Path(self.working_dir).resolve()
        path = Path(self.spec).resolve()
        if not path.is_file():
            raise UserError(f"{self.spec}: file not found")
        try:
            return path.relative_to(root).as_posix()
        except ValueError:
            raise UserError(
                f"{self.spec} is outside the uploaded working directory {root}; "
                "copy it there or submit from a directory that contains it"
            ) from None

    def entrypoint(self) -> str:
        """The job's shell command."""
        if self.resume_run_dir:
            return f"python -m tune_jobs resume {shlex.quote(self.resume_run_dir)}"
        args = ["python", "-m", "tune_jobs", "run", self.spec_in_working_dir()]
        if self.name:
            args += ["--name", self.name]
        if self.storage:
            args += ["--storage", self.storage]
        for item in self.overrides:
            args += ["--set", item]
        if self.smoke:
            args.append("--smoke")
        if self.fmt != "auto":
            args += ["--format", self.fmt]
        return shlex.join(args)

    def run_storage(self) -> str:
        """Where the job's results go: the RUN_DIR to resume, ``--storage``, or the
        spec's ``storage:`` (the spec is read for that only)."""
        if self.resume_run_dir:
            return self.resume_run_dir
        if self.storage:
            return self.storage
        from tune_jobs.spec import load_spec

        spec = load_spec(self.spec, list(self.overrides), smoke=self.smoke, fmt=self.fmt)
        return spec.storage

    def forwarded_env(self) -> dict[str, str]:
        """Storage credentials the job gets from the submitting environment."""
        environ = os.environ if self.environ is None else self.environ
        return storage_env(self.run_storage(), environ)

    def runtime_env(self) -> dict:
        """The job's ``runtime_env``: the working directory, with excludes, and for URI
        storage the ``STORAGE_ENV_VARS`` set where the job is submitted."""
        env: dict = {
            "working_dir": str(self.working_dir),
            "excludes": list(self.excludes),
            # The uploaded repo's own packages never shadow ours in trial workers.
            "worker_process_setup_hook": PROTECT_HOOK,
        }
        forwarded = self.forwarded_env()
        if forwarded:
            env["env_vars"] = forwarded
        return env


def resolve_token(token_file: str | None, environ: Mapping[str, str]) -> str | None:
    """The auth token to send: ``token_file``, else Ray's own sources when
    ``RAY_AUTH_MODE=token`` (``RAY_AUTH_TOKEN``, ``RAY_AUTH_TOKEN_PATH``, ``~/.ray/auth_token``).
    """
    if token_file:
        return _read_token(token_file)
    if environ.get("RAY_AUTH_MODE", "").lower() != "token":
        return None
    if environ.get("RAY_AUTH_TOKEN"):
        return environ["RAY_AUTH_TOKEN"].strip()
    path = environ.get("RAY_AUTH_TOKEN_PATH") or os.path.expanduser("~/.ray/auth_token")
    return _read_token(path)


def _read_token(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8").strip()
    except OSError as err:
        raise UserError(f"cannot read the auth token file {path}: {err.strerror}") from None


def connect(address: str, token: str | None) -> JobSubmissionClient:
    """A jobs API client for ``address`` (``http://127.0.0.1:8265``) sending ``token``."""
    from ray.job_submission import JobSubmissionClient

    if "://" not in address:
        raise UserError(
            f"--address must be the jobs API URL, e.g. http://127.0.0.1:8265; got {address}"
        )
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    with _user_errors(address):
        return JobSubmissionClient(address, headers=headers)


def submit(client: JobSubmissionClient, request: SubmitRequest, address: str) -> str:
    """Submit ``request``; returns the job id."""
    what = request.resume_run_dir or request.name or Path(request.spec).stem
    job_id = f"tune-jobs-{_slug(posixpath.basename(what))}-{uuid.uuid4().hex[:8]}"
    runtime_env = request.runtime_env()
    if runtime_env.get("env_vars"):  # names only, never values
        names = ", ".join(sorted(runtime_env["env_vars"]))
        print(f"tune-jobs: forwarding {names} to the job (storage is a URI)", file=sys.stderr)
    with _user_errors(address):
        return client.submit_job(
            entrypoint=request.entrypoint(),
            submission_id=job_id,
            runtime_env=runtime_env,
            entrypoint_num_cpus=0,
            metadata={"tune_jobs": "1", "spec": request.spec or "", "resume": what},
        )


def follow(client: JobSubmissionClient, job_id: str, address: str, out: TextIO = sys.stdout) -> str:
    """Print the job's logs until it ends; returns its final status (``SUCCEEDED``...)."""

    async def tail() -> None:
        async for chunk in client.tail_job_logs(job_id):
            out.write(chunk)
            out.flush()

    with _user_errors(address):
        asyncio.run(tail())
        return str(client.get_job_status(job_id).value)


def stop_job(client: JobSubmissionClient, job_id: str, address: str) -> bool:
    """Ask the cluster to stop ``job_id``; False if it had already ended."""
    with _user_errors(address):
        return bool(client.stop_job(job_id))


def exit_code(status: str) -> int:
    """Exit code for a job's final status: 0 succeeded, 130 stopped, 1 otherwise."""
    return {"SUCCEEDED": 0, "STOPPED": 130}.get(status, 1)


def _slug(text: str) -> str:
    cleaned = "".join(c if c.isalnum() or c in "-_" else "-" for c in text.lower())
    return cleaned.strip("-")[:40] or "sweep"


class _user_errors:
    """Turn connection and auth failures of the jobs API into one-line ``UserError``s."""

    def __init__(self, address: str) -> None:
        self.address = address

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type | None, err: BaseException | None, tb: object) -> bool:
        if err is None or isinstance(err, UserError):
            return False
        from ray.exceptions import AuthenticationError

        text = str(err)
        if isinstance(err, AuthenticationError) or "status code 401" in text:
            refused = "refused the token" if "failed" in text or "403" in text else "needs a token"
            raise UserError(
                f"the Ray cluster at {self.address} {refused}: pass --token-file PATH or set "
                "RAY_AUTH_MODE=token with RAY_AUTH_TOKEN_PATH (the cluster's `ray get-auth-token`)"
            ) from None
        if isinstance(err, ConnectionError | OSError) or "Failed to connect" in text:
            raise UserError(
                f"cannot reach the Ray jobs API at {self.address}: is the cluster up and "
                "its dashboard forwarded (`ray dashboard cluster/aws.yaml`)?"
            ) from None
        if isinstance(err, RuntimeError) and "does not exist" in text:
            raise UserError(f"no such job on {self.address}: {text.splitlines()[0]}") from None
        return False
