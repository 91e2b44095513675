"""Load: many short trials through ``tune_jobs.execution.tuner.run_sweep`` on a local
multi-node cluster.

Run from the repository root with the project's venv active::

    python benchmarks/load_sweep.py                          # 500 trials x 100 results
    python benchmarks/load_sweep.py --trials 40 --results 10 # small: checks the script

A trivial function trainable (``quick``: ``--results`` calls of ``tune.report``, no
checkpoint, no sleep) runs ``--trials`` times (random search over one ``x``; the spec's
defaults otherwise, so ``reuse_actors`` is on) on a ``cluster/local/`` cluster (a head
with ``--head-cpus`` CPUs and ``--workers`` workers of ``--worker-cpus``; one CPU per
trial). ``--embedded`` runs on a local Ray started by the runner instead.

This process is the driver: it calls ``run_sweep`` itself, so a background thread can
sample its resident memory (``/proc/self/status`` VmRSS) every ``--sample-s`` seconds,
next to the number of trials whose function has returned (each writes a file into a
``done/`` dir as its last act). The report gives trials, results, wall time of the sweep,
the rows found in the Parquet ``metrics/`` dataset (each ``(trial_id, training_iteration)``
must be there exactly once), the driver's peak RSS (the largest sample while the sweep
ran, and VmHWM after the rows were checked) and its RSS after every ``--every`` finished
trials, with the growth per 100 finished trials (least squares over those samples).
``--tracemalloc`` also prints where traced Python memory grew (by file and by line).
``--workdir`` keeps the run and every sample (``rss.csv``); else a temp dir is used and
removed at the end.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script: `cluster`, `tune_jobs`, `analysis`
    sys.path.insert(0, str(ROOT))

__all__ = ["RowCheck", "check_rows", "load_spec_dict", "main", "quick"]


def quick(config: dict[str, Any]) -> None:
    """Report ``config["n"]`` results as fast as Tune takes them, then mark the trial done."""
    import uuid

    from ray import tune

    x = float(config["x"])
    for i in range(int(config["n"])):
        tune.report({"value": x * i, "i": i})
    done_dir = config.get("done_dir")
    if done_dir:
        Path(done_dir, uuid.uuid4().hex).touch()


def load_spec_dict(
    trials: int, results: int, storage: str, done_dir: str | None = None, name: str = "load"
) -> dict[str, Any]:
    """The sweep spec (as a dict for YAML): ``trials`` x ``quick`` with ``results`` each."""
    if trials < 1 or results < 1:
        raise ValueError(f"need trials >= 1 and results >= 1; got {trials}, {results}")
    config: dict[str, Any] = {"n": results}
    if done_dir is not None:
        config["done_dir"] = done_dir
    return {
        "name": name,
        "trainable": f"{Path(__file__).resolve()}:quick",
        "metric": "value",
        "mode": "max",
        "config": config,
        "space": {"x": {"uniform": [0.0, 1.0]}},
        "search": {"algorithm": "random", "num_samples": trials, "seed": 0},
        "scheduler": {"type": "fifo"},
        "resources": {"cpu": 1},
        "storage": storage,
    }


@dataclass
class RowCheck:
    """What the Parquet tables of a finished load run hold."""

    rows: int
    """Rows in ``metrics/`` (raw, every attempt)."""
    unique: int
    """Distinct ``(trial_id, training_iteration)`` pairs among them."""
    clean_rows: int
    """Rows of the clean view (``analysis.load_metrics``)."""
    trials: int
    """Rows of ``trials.parquet``."""
    statuses: dict[str, int] = field(default_factory=dict)
    complete: bool = False
    """Every trial TERMINATED with iterations 1..results, each exactly once."""


def check_rows(run_dir: str, trials: int, results: int) -> RowCheck:
    """Count and check the rows of ``run_dir`` against ``trials`` x ``results``."""
    from analysis import load_metrics, load_trials

    raw = load_metrics(run_dir, clean=False)
    clean = load_metrics(run_dir)
    table = load_trials(run_dir)
    statuses = table["status"].value_counts().to_dict() if not table.empty else {}
    if raw.empty:
        return RowCheck(0, 0, 0, len(table), statuses)
    unique = len(raw[["trial_id", "training_iteration"]].drop_duplicates())
    per_trial = raw.groupby("trial_id")["training_iteration"].agg(["min", "max", "count"])
    complete = (
        len(raw) == unique == len(clean) == trials * results
        and statuses == {"TERMINATED": trials}
        and len(per_trial) == trials
        and bool((per_trial == [1, results, results]).all(axis=None))
    )
    return RowCheck(len(raw), unique, len(clean), len(table), statuses, complete)


class RssSampler(threading.Thread):
    """Samples this process's RSS and the count of finished trials in the background."""

    def __init__(self, done_dir: Path, every_s: float, snapshot_every: int = 0) -> None:
        super().__init__(name="rss-sampler", daemon=True)
        self.done_dir = done_dir
        self.every_s = every_s
        self.samples: list[tuple[float, int, int]] = []  # (seconds, finished, rss bytes)
        self.snapshot_every = snapshot_every
        """With tracemalloc on: a snapshot at each multiple of this many finished trials."""
        self.snapshots: list[tuple[int, Any]] = []  # (finished, tracemalloc.Snapshot)
        self._halt = threading.Event()
        self._t0 = time.monotonic()

    def run(self) -> None:
        while not self._halt.is_set():
            self.sample()
            self._halt.wait(self.every_s)

    def sample(self) -> None:
        """Take one sample now."""
        finished = sum(1 for _ in os.scandir(self.done_dir))
        self.samples.append((time.monotonic() - self._t0, finished, _status_kb("VmRSS") << 10))
        if self.snapshot_every and finished >= self.snapshot_every * (len(self.snapshots) + 1):
            import tracemalloc

            self.snapshots.append((finished, tracemalloc.take_snapshot()))

    def stop(self) -> None:
        """Stop sampling (after one last sample)."""
        self._halt.set()
        self.join()
        self.sample()

    def at_milestones(self, every: int) -> list[tuple[int, float, int]]:
        """``(finished, seconds, rss)`` at the first sample reaching each multiple of
        ``every`` finished trials (and at the start)."""
        out: list[tuple[int, float, int]] = []
        next_mark = 0
        for seconds, finished, rss in self.samples:
            if finished >= next_mark:
                out.append((finished, seconds, rss))
                next_mark = (finished // every + 1) * every
        return out


def _status_kb(key: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


def _slope_per_100(points: list[tuple[int, float, int]]) -> float | None:
    """Least-squares RSS growth in MiB per 100 finished trials."""
    xs = [float(p[0]) for p in points]
    ys = [p[2] / 2**20 for p in points]
    if len(xs) < 3 or max(xs) == min(xs):
        return None
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    cov = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
    var = sum((x - mx) ** 2 for x in xs)
    return 100.0 * cov / var


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=500, help="trials (default 500)")
    parser.add_argument("--results", type=int, default=100, help="results per trial (100)")
    parser.add_argument("--workers", type=int, default=1, help="worker nodes (default 1)")
    parser.add_argument("--worker-cpus", type=int, default=2, help="CPUs per worker (2)")
    parser.add_argument("--head-cpus", type=int, default=0, help="CPUs of the head (0)")
    parser.add_argument("--embedded", action="store_true", help="local Ray, no cluster")
    parser.add_argument("--every", type=int, default=50, help="RSS every N finished trials")
    parser.add_argument("--sample-s", type=float, default=0.5, help="sampling period (s)")
    parser.add_argument("--workdir", help="keep the cluster dir, spec and results here")
    parser.add_argument(
        "--tracemalloc",
        action="store_true",
        help="trace the driver's Python allocations; print where memory grew between the "
        "first and the last --every milestone (slows the driver down)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the load sweep and print the report; exit code 1 if rows are missing."""
    args = _parser().parse_args(argv)
    if args.trials < 1 or args.results < 1 or args.every < 1 or args.sample_s <= 0:
        print("load_sweep: --trials, --results, --every and --sample-s must be positive")
        return 2
    work = Path(args.workdir or tempfile.mkdtemp(prefix="tj-load-")).resolve()
    work.mkdir(parents=True, exist_ok=True)
    cluster = None
    try:
        if not args.embedded:
            from cluster.local import LocalCluster, WorkerSpec

            specs = [WorkerSpec(num_cpus=args.worker_cpus)] * args.workers
            t0 = time.monotonic()
            cluster = LocalCluster(work / "cluster", specs, head_cpus=args.head_cpus).start()
            print(f"cluster up in {time.monotonic() - t0:.1f} s: {cluster.gcs_address}")
            os.environ.update(cluster.client_env())
        return _run(args, work, cluster)
    finally:
        sys.stdout.flush()
        if cluster is not None:
            import ray

            ray.shutdown()  # else Ray's core worker aborts the process once the GCS is gone
            cluster.stop()
        if not args.workdir:
            shutil.rmtree(work, ignore_errors=True)


def _run(args: argparse.Namespace, work: Path, cluster: Any) -> int:
    import yaml

    from tune_jobs.execution.tuner import run_sweep
    from tune_jobs.plan.run_plan import make_plan
    from tune_jobs.spec import load_spec

    done = work / "done"
    shutil.rmtree(done, ignore_errors=True)
    done.mkdir()
    storage = work / "results"
    shutil.rmtree(storage / "load", ignore_errors=True)
    raw = load_spec_dict(args.trials, args.results, str(storage), str(done))
    path = work / "load.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    plan = make_plan(load_spec(path, []), str(path))
    load_before = os.getloadavg()
    if args.tracemalloc:
        import tracemalloc

        tracemalloc.start(8)
    sampler = RssSampler(done, args.sample_s, args.every if args.tracemalloc else 0)
    sampler.start()
    t0 = time.monotonic()
    outcome = run_sweep(plan, cluster.gcs_address if cluster is not None else None)
    wall = time.monotonic() - t0
    sampler.stop()
    load_after = os.getloadavg()
    with open(work / "rss.csv", "w") as out:  # every sample, for a closer look
        out.write("seconds,finished_trials,rss_bytes\n")
        out.writelines(f"{t:.2f},{n},{rss}\n" for t, n, rss in sampler.samples)
    check = check_rows(outcome.run_dir, args.trials, args.results)
    marks = sampler.at_milestones(args.every)
    slope = _slope_per_100([m for m in marks if m[0] > 0])
    where = "embedded local Ray" if cluster is None else (
        f"local cluster: head {args.head_cpus} CPU + {args.workers} x {args.worker_cpus} CPU"
    )  # fmt: skip
    expected = args.trials * args.results
    print(f"\nload sweep on {where}; load average before {load_before}, after {load_after}")
    peak = max(rss for _, _, rss in sampler.samples) / 2**20
    print(
        "| trials | results | wall s | results/s | Parquet rows | distinct (trial, it) "
        "| clean rows | all present once | driver peak RSS MiB (sweep / with check) |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---|---:|")
    print(
        f"| {args.trials} | {expected} | {wall:.1f} | {expected / wall:.0f} | {check.rows} "
        f"| {check.unique} | {check.clean_rows} | {'yes' if check.complete else 'NO'} "
        f"| {peak:.0f} / {_status_kb('VmHWM') / 1024:.0f} |"
    )
    print(f"statuses: {check.statuses}")
    print("\n| finished trials | at s | driver RSS MiB |\n|---:|---:|---:|")
    for finished, seconds, rss in marks:
        print(f"| {finished} | {seconds:.1f} | {rss / 2**20:.1f} |")
    if slope is not None:
        print(f"\nRSS growth (least squares over the samples above): {slope:+.2f} MiB "
              "per 100 finished trials")  # fmt: skip
    if len(sampler.snapshots) >= 2:
        _print_growth(sampler.snapshots[0], sampler.snapshots[-1])
    return 0 if check.complete else 1


def _print_growth(first: tuple[int, Any], last: tuple[int, Any], top: int = 15) -> None:
    """Where traced Python memory grew between two snapshots, by file and by line."""
    (n0, snap0), (n1, snap1) = first, last
    print(f"\ntraced Python memory growth from {n0} to {n1} finished trials:")
    for key in ("filename", "lineno"):
        stats = snap1.compare_to(snap0, key)
        print(f"\n| {key} | growth KiB | per 100 trials KiB |\n|---|---:|---:|")
        for stat in stats[:top]:
            where = str(stat.traceback[0])
            where = where.split("site-packages/")[-1].replace(str(ROOT) + "/", "")
            kib = stat.size_diff / 1024
            print(f"| {where} | {kib:+.0f} | {100 * kib / max(n1 - n0, 1):+.0f} |")


if __name__ == "__main__":
    raise SystemExit(main())
