"""Join the Ray cluster a sweep runs on, or start a local one (``init_ray``)."""

from __future__ import annotations

import os
import sys

from tune_jobs.ray_internals import check_ray_version
from tune_jobs.trial.user_code import PROTECT_HOOK, user_path

__all__ = ["init_ray"]


def init_ray(address: str | None) -> None:
    """Connect to the cluster at ``address`` (or ``RAY_ADDRESS``), else start a local Ray.

    Inside a Ray job (``tune-jobs submit``, ``ray job submit``) the job supervisor sets
    ``RAY_ADDRESS``: the job's cluster is joined with the job's own runtime env (its
    uploaded working dir), and a second Ray is never started. Outside a job, an explicit
    ``address`` or ``RAY_ADDRESS`` is joined; only with neither is a local Ray started.
    """
    import ray

    check_ray_version(ray.__version__)  # ray_internals was checked against one minor
    if ray.is_initialized():
        return
    # Project code imported by module name must import on workers too, without its
    # packages shadowing ours (tune_jobs.trial.user_code).
    runtime_env = {
        "env_vars": {"PYTHONPATH": user_path(os.getcwd(), os.environ.get("PYTHONPATH"))},
        "worker_process_setup_hook": PROTECT_HOOK,
    }
    if os.environ.get("RAY_JOB_CONFIG_JSON_ENV_VAR"):  # a Ray job's driver
        # The job's runtime env already ships the working dir; one passed here would
        # replace it. RAY_ADDRESS (set by the supervisor) points at the job's cluster.
        ray.init(address=address or os.environ.get("RAY_ADDRESS") or "auto", log_to_driver=True)
    elif address or os.environ.get("RAY_ADDRESS"):
        ray.init(
            address=address or os.environ["RAY_ADDRESS"],
            runtime_env=runtime_env,
            log_to_driver=True,
        )
    else:
        ray.init(
            include_dashboard=False,
            runtime_env=runtime_env,
            log_to_driver=True,
        )
        return
    context = ray.get_runtime_context()
    print(f"tune-jobs: joined the Ray cluster at {context.gcs_address}", file=sys.stderr)
