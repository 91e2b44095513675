"""Per-parameter answers: the median per value picks the winner we built in, censored
time-to-target runs count as not reached, and the report shows the answer."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis import load_run
from analysis.answers import answer, categorical_params, per_value
from analysis.report.sections import build_sections
from analysis.report.views_answers import per_parameter_answers
from analysis.run import SweepRun
from analysis.synthetic import synthesize_run
from tune_jobs.cli.app import main

ORTH = "config/orthogonalization"


def _ttt_trials() -> pd.DataFrame:
    """6 runs each: newton_schulz reaches the target in 40-45 s, polar_express in 55-60 s
    but one of its runs never does; one crashed run and one still running."""
    rows = []
    for i in range(6):
        rows.append({"status": "TERMINATED", ORTH: "newton_schulz", "t": 40.0 + i})
        rows.append({"status": "TERMINATED", ORTH: "polar_express", "t": 55.0 + i})
    rows[-1]["t"] = np.nan  # a polar_express run that never reached the target: censored
    rows.append({"status": "ERROR", ORTH: "newton_schulz", "t": np.nan})
    rows.append({"status": "RUNNING", ORTH: "polar_express", "t": np.nan})
    frame = pd.DataFrame(rows).rename(columns={"t": "time_to_target_s"})
    return frame.assign(trial_id=[f"t{i:02d}" for i in range(len(frame))])


def test_time_to_target_winner_and_censored_runs() -> None:
    table = per_value(_ttt_trials(), "time_to_target_s", ORTH)
    assert table["value"].tolist() == ["newton_schulz", "polar_express"]
    ns, pe = table.iloc[0], table.iloc[1]
    assert (ns["runs"], ns["reached"], ns["not_reached"], ns["failed"]) == (6, 6, 0, 1)
    assert (pe["runs"], pe["reached"], pe["not_reached"], pe["running"]) == (6, 5, 1, 1)
    assert ns["median"] == pytest.approx(42.5)
    # polar_express: 55..59 and one censored (inf): the median of 6 is (57 + 58) / 2.
    assert pe["median"] == pytest.approx(57.5) and pe["median_reached"] == pytest.approx(57.0)
    line = answer(table, ORTH, "time_to_target_s")
    assert line.startswith("`orthogonalization`: **newton_schulz** reaches the target fastest")
    assert "median 42.5 s, reached in 6 of 6 runs" in line
    assert "polar_express: median 57.5 s, reached in 5 of 6 runs" in line


def test_a_value_rarely_reaching_the_target_cannot_win_on_its_few_runs() -> None:
    # "fast" reaches the target in 10 s, but in only 2 of 6 runs; "steady" in 50 s, always.
    times = {"fast": [10, 11, np.nan, np.nan, np.nan, np.nan], "steady": [50] * 6}
    trials = pd.DataFrame(
        [
            {"status": "TERMINATED", "config/x": k, "time_to_target_s": t}
            for k, v in times.items()
            for t in v
        ]
    )
    table = per_value(trials, "time_to_target_s", "config/x")
    assert table["value"].tolist() == ["steady", "fast"]
    assert np.isinf(table.iloc[1]["median"])
    line = answer(table, "config/x", "time_to_target_s")
    assert "**steady** reaches the target fastest" in line
    assert "fast: not reached, reached in 2 of 6 runs" in line
    nobody = trials.assign(time_to_target_s=np.nan)
    line = answer(per_value(nobody, "time_to_target_s", "config/x"), "config/x", "time_to_target_s")
    assert "no value reaches the target in at least half of its runs" in line


@pytest.mark.parametrize("mode", ["min", "max"])
def test_final_metric_winner_by_mode_with_diverged_runs(mode: str) -> None:
    rng = np.random.default_rng(0)
    rows = []
    for momentum, centre in ((0.85, 3.0), (0.9, 2.5), (0.95, 2.0)):
        for _ in range(5):
            rows.append(
                {
                    "status": "TERMINATED",
                    "config/momentum": momentum,
                    "loss": centre + rng.normal(0, 0.05),
                }
            )
    rows.append({"status": "DIVERGED", "config/momentum": 0.95, "loss": np.nan})
    trials = pd.DataFrame(rows)
    table = per_value(trials, "loss", "config/momentum", mode)
    expected = [0.95, 0.9, 0.85] if mode == "min" else [0.85, 0.9, 0.95]
    assert table["value"].tolist() == expected
    top = table.iloc[0]
    truth = trials[(trials["config/momentum"] == expected[0]) & (trials["status"] == "TERMINATED")]
    assert top["median"] == pytest.approx(truth["loss"].median()) and top["runs"] == 5
    assert table.set_index("value").loc[0.95, "diverged"] == 1
    word = "lowest" if mode == "min" else "highest"
    assert f"**{expected[0]:g}** gives the {word} `loss`" in answer(
        table, "config/momentum", "loss", mode
    )


def test_overlapping_values_are_not_a_clear_win() -> None:
    trials = pd.DataFrame(
        {"config/b": [8] * 4 + [16] * 4, "loss": [1.0, 2.0, 3.0, 4.0, 1.2, 2.2, 3.2, 4.2]}
    )
    line = answer(per_value(trials, "loss", "config/b"), "config/b", "loss")
    assert "**8** gives the lowest" in line and "Not a clear win" in line


def test_categorical_params_of_a_spec() -> None:
    spec = {
        "space": {
            "lr": {"loguniform": [1e-4, 1e-2]},
            "orthogonalization": {"choice": ["newton_schulz", "polar_express"]},
            "optimizer": {"adam": {"grid": [0.9, 0.99]}},
        }
    }
    columns = ["config/lr", "config/optimizer.adam", "config/orthogonalization"]
    assert categorical_params(spec, columns) == [
        "config/optimizer.adam",
        "config/orthogonalization",
    ]


def test_one_factor_answers_use_the_reference_and_its_runs_only() -> None:
    # lr=0.02 is best among the one-factor runs; the named "fast" combination changes
    # the batch size too and would win if it were (wrongly) counted under lr=0.04.
    rows = [
        ("reference", 0.01, 1024, 0, 0.30),
        ("reference_seed1", 0.01, 1024, 1, 0.32),
        ("lr=0.005", 0.005, 1024, 0, 0.40),
        ("lr=0.02", 0.02, 1024, 0, 0.20),
        ("lr=0.04", 0.04, 1024, 0, 0.50),
        ("fast", 0.04, 2048, 0, 0.01),
    ]
    trials = pd.DataFrame(
        rows, columns=["variant", "config/lr", "config/batch_size", "config/seed", "test_loss"]
    )
    trials = trials.assign(status="TERMINATED", trial_id=[f"t{i}" for i in range(len(rows))])
    spec = {"variants": {"one_factor": {"lr": [0.005, 0.02, 0.04]}}}
    run = SweepRun(
        "r", trials, pd.DataFrame(), "test_loss", "min", spec, ["config/lr", "config/batch_size"]
    )
    section = per_parameter_answers(run, "test_loss", "min")
    assert section is not None
    line = next(t for t in section.text if t.startswith("`lr`"))
    assert "**0.02** gives the lowest `test_loss` (median 0.2, 1 run)" in line
    assert "0.01: median 0.31, 2 runs" in line  # the reference and its re-run with seed 1
    assert "0.04: median 0.5, 1 run" in line  # not the fast combination
    table = section.tables[0].frame
    assert table["runs"].sum() == 5


def test_report_answers_the_time_to_target_question(tmp_path: Path, capsys) -> None:
    run_dir = tmp_path / "ttt"
    synthesize_run(str(run_dir), n_trials=30, n_results=15, seed=5, target=1.6, diverge_lr=None)
    run = load_run(str(run_dir))
    # Ground truth computed here, independently: censored runs count as infinite time.
    times = run.trials["time_to_target_s"].astype(float).fillna(np.inf)
    medians = times.groupby(run.trials["config/width"]).median()
    assert np.isfinite(medians.min())
    winner = int(medians.idxmin())
    assert main(["report", str(run_dir), "--metric", "time_to_target_s"]) == 0
    capsys.readouterr()
    md = (run_dir / "report" / "report.md").read_text()
    assert "## Per-parameter answers" in md
    line = next(x for x in md.splitlines() if x.startswith("`width`"))
    assert f"**{winner}** reaches the target fastest (median {medians.min():.3g} s" in line
    assert "`batch_size`" in md and "`depth`" in md


def test_report_when_no_run_reached_the_target_yet() -> None:
    # No trial reached val_loss <= 1.0, so trials.parquet has no time_to_target_s column;
    # momentum 0.9 got closest (best val_loss 1.2 vs 1.5).
    trials = pd.DataFrame(
        {
            "trial_id": ["a", "b", "c", "d"],
            "status": "TERMINATED",
            "config/momentum": [0.9, 0.9, 0.95, 0.95],
            "config/lr": [0.01, 0.02, 0.01, 0.02],
            "val_loss": [1.25, 1.3, 1.5, 1.6],
            "time_total_s": [10.0, 11.0, 12.0, 13.0],
            "training_iteration": 3,
        }
    )
    metrics = pd.DataFrame(
        {
            "trial_id": np.repeat(trials["trial_id"], 3),
            "training_iteration": np.tile([1, 2, 3], 4),
            "time_total_s": np.tile([3.0, 6.0, 9.0], 4),
            "val_loss": [2.0, 1.2, 1.25, 2.0, 1.2, 1.3, 2.0, 1.5, 1.5, 2.0, 1.5, 1.6],
        }
    )
    spec = {
        "metric": "time_to_target_s",
        "space": {"momentum": {"choice": [0.9, 0.95]}, "lr": {"loguniform": [1e-3, 1e-1]}},
        "stop": {"target": 1.0, "target_metric": "val_loss"},
    }
    params = ["config/momentum", "config/lr"]
    run = SweepRun("r", trials, metrics, "time_to_target_s", "min", spec, params)
    sections = {s.key: s for s in build_sections(run, "time_to_target_s", "min").sections}
    assert "0 of 4 trials reached the target" in sections["time_to_target"].text[0]
    line = sections["answers"].text[1]
    assert line.startswith("`momentum`: no value reaches the target")
    assert "Closest to the target: **0.9** gives the lowest `best_val_loss` (median 1.2" in line
    assert "`val_loss`, the metric compared with the target" in sections["curves"].text[0]
    assert [f.key for f in sections["curves"].figures] == [
        "learning_curves",
        "learning_curves_time",
    ]
