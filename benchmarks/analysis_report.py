"""Benchmark: ``load_run`` and the full ``tune-jobs report`` on a synthetic run of
1,000 trials x 1,000 results (targets: load <= 2 s, report <= 15 s).

Run: ``.venv/bin/python benchmarks/analysis_report.py [--trials N] [--results N]``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

__all__ = ["main"]


def main() -> None:
    """Synthesise the run, time each step, print a Markdown table."""
    from analysis.load import load_run
    from analysis.report import build_report
    from analysis.synthetic import synthesize_run

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--trials", type=int, default=1000)
    parser.add_argument("--results", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-report-") as tmp:
        run_dir = str(Path(tmp) / "run")
        start = time.perf_counter()
        synthesize_run(run_dir, n_trials=args.trials, n_results=args.results, seed=0)
        synth = time.perf_counter() - start

        start = time.perf_counter()
        run = load_run(run_dir)
        load = time.perf_counter() - start

        steps: dict[str, float] = {}
        start = time.perf_counter()
        build_report(run, Path(tmp) / "report", timings=steps)
        report = time.perf_counter() - start
        html_mb = (Path(tmp) / "report" / "report.html").stat().st_size / 1e6

        print(f"{args.trials} trials x {args.results} results: {len(run.metrics):,} rows")
        print("| step | seconds | target |")
        print("|---|---:|---:|")
        print(f"| synthesize_run (not timed against a target) | {synth:.2f} | |")
        print(f"| load_run | {load:.2f} | 2 |")
        for name, seconds in steps.items():
            print(f"| report: {name} | {seconds:.2f} | |")
        print(f"| report total (load_run excluded) | {report:.2f} | 15 |")
        print(f"report.html: {html_mb:.1f} MB")


if __name__ == "__main__":
    main()
