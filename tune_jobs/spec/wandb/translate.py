"""Translate a Weights & Biases sweep file into a raw tune-jobs spec (then validated as usual).

``translate_wandb(raw, source)`` maps ``method``, ``metric``, ``run_cap``,
``parameters``, ``early_terminate``, ``program``/``command``, ``name``,
``description``, ``project``/``entity``; anything else is a one-line ``SpecError``
naming the key and what is allowed (never silently dropped). The mapping table is in
docs/wandb.md.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from tune_jobs.errors import SpecError
from tune_jobs.nested import set_dotted
from tune_jobs.spec.convert import join_path, show
from tune_jobs.spec.wandb.params import grid_points, translate_parameters

__all__ = [
    "DEFAULT_COMMAND",
    "DEFAULT_NUM_SAMPLES",
    "MACROS",
    "MIN_ITER_RUNGS",
    "TOP_LEVEL_KEYS",
    "is_wandb_sweep",
    "sanitize_name",
    "translate_wandb",
]

#: Top-level keys of a W&B sweep file that are translated.
TOP_LEVEL_KEYS = (
    "program",
    "command",
    "method",
    "metric",
    "parameters",
    "early_terminate",
    "run_cap",
    "name",
    "description",
    "project",
    "entity",
)
METHODS = {"grid": "grid", "random": "random", "bayes": "hyperopt"}
#: W&B's command when the file has none.
DEFAULT_COMMAND = ["${env}", "${interpreter}", "${program}", "${args}"]
#: Macros a W&B ``command`` may use (``${program}`` is replaced here, the rest by the
#: command trainable).
MACROS = (
    "${env}",
    "${interpreter}",
    "${program}",
    "${args}",
    "${args_no_hyphens}",
    "${args_no_boolean_flags}",
    "${args_json}",
    "${args_json_file}",
)
#: With only ``min_iter``, ASHA's ``max_t`` is ``min_iter * eta**MIN_ITER_RUNGS``.
MIN_ITER_RUNGS = 10
#: Trials sampled by random/bayes sweeps without ``run_cap`` (W&B runs until stopped).
DEFAULT_NUM_SAMPLES = 10
_NAME_BAD = re.compile(r"[^A-Za-z0-9_.-]+")
_MACRO = re.compile(r"\$\{[^}]*\}")


def is_wandb_sweep(raw: Any) -> bool:
    """A parsed YAML document is a W&B sweep when its top level has ``method``."""
    return isinstance(raw, dict) and "method" in raw


def sanitize_name(text: str) -> str:
    """``text`` made a valid experiment name (letters, digits, ``_ . -``; starts alnum)."""
    cleaned = _NAME_BAD.sub("_", text.strip())
    return re.sub(r"^[^A-Za-z0-9]+", "", cleaned).rstrip("_")


def translate_wandb(raw: dict[str, Any], source: str) -> dict[str, Any]:
    """The raw tune-jobs spec (as if read from our YAML) for a W&B sweep mapping."""
    for key in raw:
        if key not in TOP_LEVEL_KEYS:
            raise SpecError(
                source,
                str(key),
                f"W&B sweep key not supported by tune-jobs; allowed: {', '.join(TOP_LEVEL_KEYS)}",
            )
    method = raw.get("method")
    if not isinstance(method, str) or method not in METHODS:
        raise SpecError(source, "method", f"got {show(method)}; allowed: {', '.join(METHODS)}")
    if "parameters" not in raw:
        raise SpecError(source, "parameters", "required by a W&B sweep")
    config, space = translate_parameters(raw["parameters"], method, source)

    out: dict[str, Any] = {"name": _name(raw, source)}
    description = _description(raw, source)
    if description:
        out["description"] = description
    out["trainable"] = _trainable(raw, source)
    stop = _metric(raw, source, out)
    if stop:
        out["stop"] = stop
    if config:
        nested: dict[str, Any] = {}
        for key, value in config.items():  # our config nests; dotted keys are for space
            set_dotted(nested, key, value)
        out["config"] = nested
    search: dict[str, Any] = {"algorithm": METHODS[method]}
    run_cap = _run_cap(raw, source)
    if method == "grid":
        if run_cap is not None:
            size, points = grid_points(space, run_cap)
            if run_cap < size:  # the first run_cap grid points, as named variants
                width = len(str(len(points) - 1))
                named = {f"grid_{i:0{width}d}": p for i, p in enumerate(points)}
                out["variants"] = {"include_reference": False, "named": named}
                search["num_samples"] = 0
                space = {}
    else:
        search["num_samples"] = run_cap if run_cap is not None else DEFAULT_NUM_SAMPLES
    if space:
        out["space"] = space
    out["search"] = search
    if "early_terminate" in raw:
        if "metric" not in out:
            raise SpecError(source, "early_terminate", "needs metric: {name: ..., goal: ...}")
        out["scheduler"] = _early_terminate(raw["early_terminate"], source)
    return out


def _name(raw: dict[str, Any], source: str) -> str:
    name = raw.get("name")
    if name is not None and not isinstance(name, str):
        raise SpecError(source, "name", f"expected a string; got {show(name)}")
    return sanitize_name(name or "") or sanitize_name(Path(source).stem) or "wandb_sweep"


def _description(raw: dict[str, Any], source: str) -> str:
    parts = []
    for key in ("description", "project", "entity"):
        value = raw.get(key)
        if value is not None and not isinstance(value, str):
            raise SpecError(source, key, f"expected a string; got {show(value)}")
    if raw.get("description"):
        parts.append(raw["description"].strip())
    origin = ", ".join(f"{k} {raw[k]}" for k in ("project", "entity") if raw.get(k))
    if origin:
        parts.append(f"(W&B {origin})")
    return " ".join(parts)


def _metric(raw: dict[str, Any], source: str, out: dict[str, Any]) -> dict[str, Any]:
    """Sets ``metric``/``mode`` in ``out``; returns the ``stop`` block for ``target``."""
    metric = raw.get("metric")
    if metric is None:
        return {}  # our spec requires one: `--set metric=NAME` still works after this
    if not isinstance(metric, dict):
        raise SpecError(source, "metric", f"expected {{name, goal, target}}; got {show(metric)}")
    for key in metric:
        if key not in ("name", "goal", "target"):
            raise SpecError(
                source, f"metric.{key}", "not supported by tune-jobs; allowed: name, goal, target"
            )
    name = metric.get("name")
    if not isinstance(name, str) or not name:
        raise SpecError(source, "metric.name", f"expected the metric's name; got {show(name)}")
    goal = metric.get("goal", "minimize")
    modes = {"minimize": "min", "maximize": "max"}
    if goal not in modes:
        raise SpecError(source, "metric.goal", f"got {show(goal)}; allowed: minimize, maximize")
    out["metric"], out["mode"] = name, modes[goal]
    if "target" not in metric:
        return {}
    target = metric["target"]
    if isinstance(target, bool) or not isinstance(target, (int, float)):
        raise SpecError(source, "metric.target", f"expected a number; got {show(target)}")
    return {"target": target, "stop_sweep_on_target": True}


def _run_cap(raw: dict[str, Any], source: str) -> int | None:
    cap = raw.get("run_cap")
    if cap is None:
        return None
    if isinstance(cap, bool) or not isinstance(cap, int) or cap < 1:
        raise SpecError(source, "run_cap", f"expected an integer >= 1; got {show(cap)}")
    return cap


def _trainable(raw: dict[str, Any], source: str) -> dict[str, Any]:
    command = raw.get("command", DEFAULT_COMMAND)
    if not isinstance(command, list) or not command:
        raise SpecError(source, "command", f"expected a non-empty list; got {show(command)}")
    program = raw.get("program")
    argv: list[str] = []
    for i, token in enumerate(command):
        path = join_path("command", i)
        if not isinstance(token, (str, int, float)) or isinstance(token, bool):
            raise SpecError(source, path, f"expected a string; got {show(token)}")
        token = str(token)
        for macro in _MACRO.findall(token):
            if macro not in MACROS:
                raise SpecError(
                    source, path, f"unknown macro {macro}; allowed: {', '.join(MACROS)}"
                )
        if "${program}" in token:
            token = token.replace("${program}", _program(program, source))
        argv.append(token)
    if not [t for t in argv if t != "${env}"]:
        raise SpecError(source, "command", "nothing to run once ${env} is dropped")
    return {"command": argv, "env": {"TUNE_JOBS_WANDB_SHIM": "1"}}


def _program(program: Any, source: str) -> str:
    """The program path: as given if it exists from the current directory (W&B's rule),
    else next to the sweep file (made absolute)."""
    if not isinstance(program, str) or not program:
        raise SpecError(source, "program", "required: the command uses ${program}")
    if Path(program).exists():
        return program
    beside = Path(source).resolve().parent / program
    if beside.exists():
        return str(beside)
    raise SpecError(
        source,
        "program",
        f"file not found: {program!r} (looked in the current directory and next to the sweep file)",
    )


def _early_terminate(et: Any, source: str) -> dict[str, Any]:
    """W&B hyperband -> ASHA (``time_attr: iterations``; one result = one W&B step)."""
    path = "early_terminate"
    if not isinstance(et, dict):
        raise SpecError(source, path, f"expected a mapping with type: hyperband; got {show(et)}")
    if et.get("type") != "hyperband":
        raise SpecError(source, f"{path}.type", f"got {show(et.get('type'))}; allowed: hyperband")
    allowed = ("type", "min_iter", "max_iter", "s", "eta", "strict")
    for key in et:
        if key not in allowed:
            raise SpecError(
                source, f"{path}.{key}", f"not supported; allowed: {', '.join(allowed)}"
            )
    for key in ("min_iter", "max_iter", "s"):
        value = et.get(key)
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int) or value < 1
        ):
            raise SpecError(source, f"{path}.{key}", f"expected an integer >= 1; got {show(value)}")
    eta = et.get("eta", 3)
    if isinstance(eta, bool) or not isinstance(eta, (int, float)) or eta <= 1:
        raise SpecError(source, f"{path}.eta", f"expected a number > 1; got {show(eta)}")
    if et.get("strict", True) is not True:
        raise SpecError(
            source,
            f"{path}.strict",
            "only strict: true is supported (ASHA always stops runs below the top 1/eta)",
        )
    scheduler: dict[str, Any] = {"type": "asha", "time_attr": "iterations", "reduction_factor": eta}
    if "max_iter" in et and "s" in et:
        # W&B's bands are max_iter / eta^i for i = 1..s: the first is the grace period.
        scheduler["grace_period"] = max(1, int(et["max_iter"] / eta ** et["s"]))
        scheduler["max_t"] = et["max_iter"]
    elif "min_iter" in et:
        scheduler["grace_period"] = et["min_iter"]
        # W&B's bands min_iter * eta^k never end and its runs are never cut short:
        # ASHA gets rungs up to min_iter * eta^MIN_ITER_RUNGS (so trials end on their own).
        scheduler["max_t"] = et.get("max_iter", et["min_iter"] * eta**MIN_ITER_RUNGS)
    else:
        raise SpecError(source, path, "needs min_iter, or max_iter with s")
    scheduler["brackets"] = 1
    return scheduler
