"""Benchmark ``tune-jobs run`` against a plain ``ray.tune.Tuner(...).fit()`` with Tune's defaults.

Run from the repository root with the project's venv active::

    python benchmarks/sweep_overhead.py                # 200 trials x 10 results, --repeats 2
    python benchmarks/sweep_overhead.py --quick        # tiny sizes: checks the script works

(a) Sweep overhead. ``--trials`` trivial trials (``benchmarks/trivial.py:train``, ``x`` ~
uniform(0, 1)) of ``--results`` results each, one CPU per trial. "ours" is the console
script ``tune-jobs run SPEC`` (spec written to a temp dir; reuse_actors defaults to True;
Tune's CSV/JSON/TBX loggers off, our Parquet + TensorBoard sinks on). "tune" is this script
re-run as a child (``--child sweep``) that builds the same sweep with ``Tuner(...).fit()``
and Tune's defaults (reuse_actors=False, default loggers on). Each run is a fresh
subprocess, so each starts its own Ray; wall time is the subprocess's whole lifetime,
Ray start-up included. Both start Ray with the same ``ray.init`` arguments tune-jobs uses
(no dashboard, PYTHONPATH in the runtime env), so only the Tune set-up differs. Runs
alternate ours, tune, ours, tune, ... (``--repeats`` pairs); the table gives each run,
the medians and the ratio tune/ours (above 1: ours is faster).

(b) Result throughput. One trial (``train_fast``) calls ``tune.report`` ``--throughput-results``
times with 5 float metrics plus ``t = time.perf_counter()`` taken in the trainable. A
function trainable's ``report`` waits until the driver has taken the previous result, so
the trainable's pace is the driver's (callbacks included). Both ways the rate is computed
identically from the recorded results: (rows - 1) / (last t - first t), reading ``t`` from
RUN_DIR/metrics (Parquet) for ours and from the trial's result.json for Tune's loggers.
Rows written are counted from the same files and compared with the number reported.

Every row also shows how busy the machine was with other work while the run lasted:
Ray sessions started by someone else, and CPU seconds of processes outside this
benchmark's process tree (sampled every 2 s). Both should be ~0 for a clean figure.
``--workdir DIR`` keeps the specs, logs and results; ``--repeats 0`` runs only (b).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TRIVIAL = ROOT / "benchmarks" / "trivial.py"


def _child_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("RAY_ADDRESS", "PYTHONPATH")}
    env.pop("TUNE_DISABLE_AUTO_CALLBACK_LOGGERS", None)  # Tune's defaults in the child
    env["PYTHONPATH"] = str(ROOT)
    return env


def _ray_sessions() -> set[str]:
    return {p.name for p in Path(tempfile.gettempdir(), "ray").glob("session_2*")}


def _cpu_outside_tree() -> dict[int, float]:
    """CPU seconds so far of each process that is not this script or a descendant of it."""
    import psutil

    info = {p.pid: p.info for p in psutil.process_iter(["ppid", "cpu_times"])}
    out: dict[int, float] = {}
    for pid, i in info.items():
        cur, hops = pid, 0
        while cur and cur != os.getpid() and hops < 50:
            cur, hops = info.get(cur, {}).get("ppid"), hops + 1
        if cur != os.getpid() and i["cpu_times"] is not None:
            out[pid] = i["cpu_times"].user + i["cpu_times"].system
    return out


def _run(cmd: list[str], log: Path) -> tuple[float | None, int, float]:
    """Run ``cmd`` from the repo root: (wall s or None if it failed, foreign Ray sessions,
    CPU s used meanwhile by processes outside this benchmark, sampled every 2 s).

    Foreign Ray sessions (Ray instances other than the run's own started meanwhile) and
    other CPU seconds measure someone else's load on the machine: a clean run has ~0 of both.
    """
    before, cpu0 = _ray_sessions(), _cpu_outside_tree()
    cpu = dict(cpu0)
    start = time.perf_counter()
    with log.open("w") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=_child_env(), stdout=out, stderr=out)
        while proc.poll() is None:
            cpu.update(_cpu_outside_tree())
            time.sleep(2.0)
    elapsed = time.perf_counter() - start
    other = sum(v - cpu0.get(pid, 0.0) for pid, v in cpu.items())
    foreign = max(0, len(_ray_sessions() - before) - 1)
    if proc.returncode != 0:
        tail = log.read_text(errors="replace")[-1500:]
        print(f"FAILED: {' '.join(cmd)} exited {proc.returncode}; {log}:\n{tail}", flush=True)
        return None, foreign, other
    return elapsed, foreign, other


def _write_spec(work: Path, name: str, body: str) -> Path:
    path = work / f"{name}.yaml"
    common = f"name: {name}\nmetric: loss\nmode: min\nresources: {{cpu: 1}}\n"
    path.write_text(common + f"storage: {work / 'ours'}\n" + body)
    return path


Run = tuple[float | None, int, float, list[float]]  # wall s, foreign sessions, other CPU s, t


def run_ours(work: Path, name: str, trainable: str, body: str) -> Run:
    """``tune-jobs run`` on a spec; the results are read back from RUN_DIR/metrics."""
    spec = _write_spec(work, name, f"trainable: {TRIVIAL}:{trainable}\n" + body)
    wall, foreign, other = _run(["tune-jobs", "run", str(spec)], work / f"ours-{name}.log")
    try:
        import pandas as pd

        frame = pd.read_parquet(work / "ours" / name / "metrics")
        ts = frame["t"].tolist() if "t" in frame else [0.0] * len(frame)
    except (OSError, ValueError):
        ts = []
    return wall, foreign, other, ts


def run_tune(work: Path, name: str, child_args: list[str]) -> Run:
    """This script as a ``--child``; results read back from each trial's result.json."""
    cmd = [sys.executable, __file__, "--storage", str(work / "tune"), "--name", name]
    wall, foreign, other = _run(cmd + child_args, work / f"tune-{name}.log")
    ts = []
    for path in sorted((work / "tune" / name).glob("*/result.json")):
        for line in path.read_text().splitlines():
            if line.strip():
                ts.append(float(json.loads(line).get("t", 0.0)))
    return wall, foreign, other, ts


def _rate(ts: list[float]) -> float | None:
    ts = sorted(ts)
    return (len(ts) - 1) / (ts[-1] - ts[0]) if len(ts) > 1 and ts[-1] > ts[0] else None


def child(args: argparse.Namespace) -> None:
    """The "tune" variant: the same sweep with ``Tuner(...).fit()`` and Tune's defaults."""
    import ray
    from ray import tune

    from benchmarks import trivial

    ray.init(
        include_dashboard=False,
        runtime_env={"env_vars": {"PYTHONPATH": str(ROOT)}},
        log_to_driver=True,
    )
    if args.child == "sweep":
        fn, space = trivial.train, {"x": tune.uniform(0, 1), "n": args.results}
        samples = args.trials
    else:
        fn, space, samples = trivial.train_fast, {"n": args.throughput_results}, 1
    tune.Tuner(
        tune.with_resources(fn, {"cpu": 1}),
        param_space=space,
        tune_config=tune.TuneConfig(num_samples=samples),
        run_config=tune.RunConfig(name=args.name, storage_path=args.storage),
    ).fit()


def _fmt(x: float | None, spec: str = ".1f") -> str:
    return "" if x is None else format(x, spec)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--trials", type=int, default=200)
    p.add_argument("--results", type=int, default=10, help="results per trial in (a)")
    p.add_argument("--repeats", type=int, default=2, help="(ours, tune) pairs in (a)")
    p.add_argument("--throughput-results", type=int, default=20000)
    p.add_argument("--quick", action="store_true", help="tiny sizes, to check the script")
    p.add_argument("--workdir", help="keep specs, logs and results here (default: temp, removed)")
    p.add_argument("--child", choices=["sweep", "tput"], help=argparse.SUPPRESS)
    p.add_argument("--storage", help=argparse.SUPPRESS)
    p.add_argument("--name", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        child(args)
        return 0
    if args.quick:
        args.trials, args.results, args.repeats, args.throughput_results = 4, 3, 1, 300
    work = Path(args.workdir or tempfile.mkdtemp(prefix="tune-jobs-bench-")).resolve()
    work.mkdir(parents=True, exist_ok=True)
    print(f"work dir: {work}", flush=True)

    header = (
        "| run | variant | wall s | rows written | foreign Ray sessions | other CPU s |\n"
        "|---|---|---|---|---|---|"
    )
    sweep_body = f"config: {{n: {args.results}}}\nspace: {{x: {{uniform: [0, 1]}}}}\n"
    sweep_body += f"search: {{algorithm: random, num_samples: {args.trials}}}\n"
    sweep_args = ["--child", "sweep", "--trials", str(args.trials), "--results", str(args.results)]
    expected = args.trials * args.results
    walls: dict[str, list[float]] = {"ours": [], "tune": []}
    lines = [header]
    for rep in range(1, args.repeats + 1):
        for variant in ("ours", "tune"):
            name = f"sweep-{rep}"
            if variant == "ours":
                wall, foreign, other, ts = run_ours(work, name, "train", sweep_body)
            else:
                wall, foreign, other, ts = run_tune(work, name, sweep_args)
            if wall is not None:
                walls[variant].append(wall)
            row = f"| {rep} | {variant} | {_fmt(wall) or 'failed'} | {len(ts)} of {expected} "
            lines.append(row + f"| {foreign} | {other:.1f} |")
            print(lines[-1], flush=True)
    med = {k: statistics.median(v) if v else None for k, v in walls.items()}
    ratio = med["tune"] / med["ours"] if med["tune"] and med["ours"] else None
    print(f"\n## (a) Sweep overhead: {args.trials} trials x {args.results} results, 1 CPU each\n")
    print("\n".join(lines))
    print(
        f"\nmedian ours: {_fmt(med['ours'])} s; median tune: {_fmt(med['tune'])} s; "
        f"ratio tune/ours: {_fmt(ratio, '.2f')}"
    )

    n = args.throughput_results
    ours = run_ours(work, "tput", "train_fast", f"config: {{n: {n}}}\n")
    tune = run_tune(work, "tput", ["--child", "tput", "--throughput-results", str(n)])
    print(f"\n## (b) Result throughput: 1 trial, {n} results of 5 floats + t\n")
    print("| variant | wall s | rows written | results/s | foreign Ray sessions | other CPU s |")
    print("|---|---|---|---|---|---|")
    for label, (wall, foreign, other, ts) in (("ours", ours), ("Tune defaults", tune)):
        rate = _fmt(_rate(ts), ".0f")
        row = f"| {label} | {_fmt(wall) or 'failed'} | {len(ts)} of {n} | {rate} "
        print(row + f"| {foreign} | {other:.1f} |")
    if not args.workdir:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
