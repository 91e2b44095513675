"""Run a training script as a subprocess per trial; its stdout lines are the results.

The argv is a list (never a shell string). Parameters are rendered where the argv has
``${args}`` (``--name=value`` each), ``${args_no_hyphens}`` (``name=value``),
``${args_no_boolean_flags}`` (as ``${args}``, but a true boolean is a bare ``--name``
and a false one is left out), ``${args_json}`` (one JSON argument) or
``${args_json_file}`` (the path of ``params.json`` written in the trial directory);
``${interpreter}`` is the worker's Python and ``${env}`` expands to nothing (the W&B
macros). The subprocess gets the trial's parameters as JSON in ``TUNE_JOBS_WANDB_CONFIG``;
with ``TUNE_JOBS_WANDB_SHIM=1`` in its env, ``import wandb`` finds the offline shim in
``trainables/wandb_shim`` first. Every stdout line that is a JSON object is a
result; with ``metrics_regex``, matching lines are results too. The process runs in
the trial directory with ``CUDA_VISIBLE_DEVICES`` from Ray; stdout and stderr are kept
there. When Tune stops the trial the process gets SIGTERM, then SIGKILL after a grace
period; if the worker dies, the kernel sends SIGTERM (``PR_SET_PDEATHSIG``).
"""

from __future__ import annotations

import collections
import ctypes
import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = [
    "ARGS_JSON_FILE",
    "SHIM_DIR",
    "CommandFailed",
    "make_command_trainable",
    "parse_line",
    "render_argv",
    "subprocess_env",
]

_STDERR_TAIL_LINES = 20

#: Directory put first on ``PYTHONPATH`` when the command's env sets
#: ``TUNE_JOBS_WANDB_SHIM=1``: it holds the offline ``wandb`` shim package.
SHIM_DIR = str(Path(__file__).resolve().parent / "wandb_shim")
#: File name ``${args_json_file}`` writes in the trial directory.
ARGS_JSON_FILE = "params.json"


class CommandFailed(RuntimeError):
    """The training command exited with a non-zero status."""


def render_argv(
    argv: list[str],
    params: dict[str, Any],
    trial_dir: str,
    project_dir: str,
    interpreter: str | None = None,
) -> list[str]:
    """Expand placeholders; relative paths that exist in the project are made absolute.

    ``params`` are flattened with dots for nested keys (``--optimizer.lr=0.01``).
    ``${args_json_file}`` writes ``params.json`` into ``trial_dir``. ``${interpreter}``
    becomes ``interpreter`` (default: this Python); ``${env}`` is dropped.
    """
    flat = _flatten(params)
    out: list[str] = []
    for token in argv:
        if token == "${args}":
            out += [f"--{k}={_fmt(v)}" for k, v in flat.items()]
        elif token == "${args_no_hyphens}":
            out += [f"{k}={_fmt(v)}" for k, v in flat.items()]
        elif token == "${args_no_boolean_flags}":
            for k, v in flat.items():
                if v is True:
                    out.append(f"--{k}")
                elif v is not False:
                    out.append(f"--{k}={_fmt(v)}")
        elif token == "${args_json}":
            out.append(json.dumps(params, sort_keys=True))
        elif token == "${args_json_file}":
            path = Path(trial_dir, ARGS_JSON_FILE)
            path.write_text(json.dumps(params, sort_keys=True), encoding="utf-8")
            out.append(str(path))
        elif token == "${env}":
            continue  # W&B's /usr/bin/env: the argv runs without a shell anyway
        elif token == "${interpreter}":
            out.append(interpreter or sys.executable)
        else:
            token = token.replace("${trial_dir}", trial_dir).replace("${project_dir}", project_dir)
            candidate = Path(project_dir, token)
            looks_like_path = "/" in token or token.endswith(".py")
            if looks_like_path and not os.path.isabs(token) and candidate.exists():
                out.append(str(candidate))
            else:
                out.append(token)
    return out


def parse_line(line: str, pattern: re.Pattern[str] | None) -> dict[str, Any] | None:
    """The metrics in one stdout line, or ``None`` if it carries none."""
    text = line.strip()
    if text.startswith("{") and text.endswith("}"):
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            value = None
        if isinstance(value, dict):
            return value
    if pattern is not None:
        match = pattern.search(text)
        if match:
            return {k: _number(v) for k, v in match.groupdict().items() if v is not None}
    return None


def make_command_trainable(
    argv: list[str],
    metrics_regex: str | None,
    env: dict[str, str],
    terminate_grace_s: float,
) -> Callable[[dict[str, Any]], None]:
    """A Tune function trainable that runs ``argv`` for each trial."""

    def command_trainable(config: dict[str, Any]) -> None:
        from ray import tune

        pattern = re.compile(metrics_regex) if metrics_regex else None
        trial_dir = os.getcwd()  # Tune runs each trial in its own directory
        project_dir = os.environ.get("TUNE_ORIG_WORKING_DIR", trial_dir)
        context = tune.get_context()
        child_env = subprocess_env(
            env,
            config,
            project_dir,
            trial_id=context.get_trial_id() or "",
            trial_name=context.get_trial_name() or "",
        )
        command = render_argv(argv, config, trial_dir, project_dir)
        if command and command[0] in ("python", "python3"):
            command[0] = sys.executable  # the worker's interpreter, with its packages
        stderr_path = Path(trial_dir, "stderr.log")
        with (
            open(Path(trial_dir, "stdout.log"), "a") as stdout_log,
            open(stderr_path, "a") as stderr_log,
        ):
            process = subprocess.Popen(
                command,
                cwd=trial_dir,
                env=child_env,
                stdout=subprocess.PIPE,
                stderr=stderr_log,
                text=True,
                bufsize=1,
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )
            try:
                assert process.stdout is not None
                for line in process.stdout:
                    stdout_log.write(line)
                    metrics = parse_line(line, pattern)
                    if metrics is not None:
                        tune.report(metrics)  # raises SystemExit when Tune stops us
                code = process.wait()
            finally:
                _terminate(process, terminate_grace_s)
        if code != 0:
            tail = _tail(stderr_path)
            raise CommandFailed(f"command exited with status {code}: {tail}")

    return command_trainable


def subprocess_env(
    env: dict[str, str],
    params: dict[str, Any],
    project_dir: str,
    trial_id: str = "",
    trial_name: str = "",
    base: dict[str, str] | None = None,
) -> dict[str, str]:
    """The training subprocess's environment.

    ``base`` (default ``os.environ``) plus the spec's ``env``; the project directory
    on ``PYTHONPATH`` (after the W&B shim when ``TUNE_JOBS_WANDB_SHIM=1``); the
    trial's parameters as JSON in ``TUNE_JOBS_WANDB_CONFIG``; trial id and name.
    """
    out = {**(os.environ if base is None else base), **env}
    out["TUNE_JOBS_PROJECT_DIR"] = project_dir
    out["TUNE_JOBS_WANDB_CONFIG"] = json.dumps(params, sort_keys=True, default=str)
    out["TUNE_JOBS_TRIAL_ID"] = trial_id
    out["TUNE_JOBS_TRIAL_NAME"] = trial_name
    shim = SHIM_DIR if out.get("TUNE_JOBS_WANDB_SHIM") == "1" else None
    out["PYTHONPATH"] = os.pathsep.join(p for p in (shim, project_dir, out.get("PYTHONPATH")) if p)
    return out


def _terminate(process: subprocess.Popen[str], grace_s: float) -> None:
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    except ProcessLookupError:
        pass


def _die_with_parent() -> None:
    """In the child: get SIGTERM if the Ray worker that started us dies (Linux)."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _tail(path: Path) -> str:
    lines = collections.deque(path.read_text(errors="replace").splitlines(), _STDERR_TAIL_LINES)
    text = " | ".join(line.strip() for line in lines if line.strip())
    return text[-1000:] or "(no stderr output)"


def _flatten(params: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in params.items():
        name = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, dict):
            out.update(_flatten(value, name))
        else:
            out[name] = value
    return out


def _fmt(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, (list, dict)):
        return json.dumps(value)
    return str(value)


def _number(text: str) -> Any:
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return text
