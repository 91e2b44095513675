"""``tune-jobs best`` / ``export`` on a real tiny sweep's RUN_DIR (Ray Tune checkpoints)."""

from __future__ import annotations

import filecmp
import json
from pathlib import Path

import pandas as pd
import pytest
import yaml

from tests.conftest import run_spec_in_process
from tune_jobs.cli.app import main

pytestmark = pytest.mark.slow

X1 = [-3.0, 0.0, 3.0, 6.0, 9.0]


@pytest.fixture(scope="module")
def branin_run(ray_local: None, tmp_path_factory: pytest.TempPathFactory) -> str:
    """Five noiseless Branin trials, 3 iterations each, a checkpoint at every report."""
    outcome = run_spec_in_process(
        tmp_path_factory.mktemp("best"),
        {
            "name": "best_branin",
            "trainable": "branin",
            "metric": "value",
            "mode": "min",
            "config": {"iterations": 3, "noise": 0.0, "x2": 2.5},
            "space": {"x1": {"grid": X1}},
            "search": {"algorithm": "grid"},
            "checkpoints_to_keep": 2,
            "resources": {"cpu": 1},
        },
    )
    assert outcome.statuses == {"TERMINATED": len(X1)}
    return str(outcome.run_dir)


def _trials(run_dir: str) -> pd.DataFrame:
    return pd.read_parquet(Path(run_dir) / "trials.parquet")


def _latest_source_checkpoint(run_dir: str, trial_id: str) -> Path:
    found = sorted((Path(run_dir) / trial_id).glob("checkpoint_*"))
    assert found, f"no checkpoint for {trial_id}"
    return found[-1]


def _same_tree(a: Path, b: Path) -> None:
    files_a = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    files_b = sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    assert files_a == files_b and files_a
    for rel in files_a:
        assert filecmp.cmp(a / rel, b / rel, shallow=False), rel


def test_best_prints_a_spec_fragment_of_the_best_trial(
    branin_run: str, capsys: pytest.CaptureFixture[str]
) -> None:
    trials = _trials(branin_run)
    expected = trials.loc[trials["value"].idxmin()]
    assert main(["best", branin_run]) == 0
    fragment = yaml.safe_load(capsys.readouterr().out)
    assert fragment["trainable"] == "branin"
    assert fragment["metric"] == "value" and fragment["mode"] == "min"
    assert fragment["config"] == {
        "iterations": 3,
        "noise": 0.0,
        "x2": 2.5,
        "x1": expected["config/x1"],
    }


def test_best_export_copies_the_latest_checkpoint_with_metadata(
    branin_run: str, tmp_path: Path
) -> None:
    import torch

    trials = _trials(branin_run)
    expected = trials.loc[trials["value"].idxmin()]
    out = tmp_path / "best"
    assert main(["best", branin_run, "--export", str(out)]) == 0

    meta = json.loads((out / "metadata.json").read_text())
    assert meta["trial_id"] == expected["trial_id"]
    assert meta["metric"] == "value" and meta["mode"] == "min"
    assert meta["value"] == pytest.approx(expected["value"])
    assert meta["config"]["x1"] == expected["config/x1"]
    assert meta["source_run_dir"] == branin_run
    assert meta["iteration"] == 3  # the last report checkpoints
    source = _latest_source_checkpoint(branin_run, expected["trial_id"])
    assert meta["checkpoint_name"] == source.name
    _same_tree(source, out / "checkpoint")
    state = torch.load(out / "checkpoint" / "checkpoint.pt", weights_only=False)
    assert state["iteration"] == meta["iteration"]

    assert json.loads((out / "best.json").read_text()) == meta["config"]
    assert yaml.safe_load((out / "best.yaml").read_text())["config"] == meta["config"]


def test_best_top_k_exports_k_distinct_trials_in_rank_order(
    branin_run: str, tmp_path: Path
) -> None:
    trials = _trials(branin_run).sort_values("value")
    out = tmp_path / "top"
    assert main(["best", branin_run, "--export", str(out), "--top", "3"]) == 0

    dirs = sorted(p for p in out.iterdir() if p.is_dir())
    assert [d.name for d in dirs] == [
        f"rank{i:02d}_{tid}" for i, tid in enumerate(trials["trial_id"].head(3), start=1)
    ]
    metas = [json.loads((d / "metadata.json").read_text()) for d in dirs]
    assert len({m["trial_id"] for m in metas}) == 3
    assert [m["rank"] for m in metas] == [1, 2, 3]
    assert [m["value"] for m in metas] == pytest.approx(list(trials["value"].head(3)))
    for d, m in zip(dirs, metas, strict=True):
        _same_tree(_latest_source_checkpoint(branin_run, m["trial_id"]), d / "checkpoint")
    assert [m["trial_id"] for m in json.loads((out / "top.json").read_text())] == [
        m["trial_id"] for m in metas
    ]


def test_export_csv_reads_back_and_matches_trials(branin_run: str, tmp_path: Path) -> None:
    out = tmp_path / "summary.csv"
    assert main(["export", branin_run, "--csv", "--out", str(out)]) == 0
    summary = pd.read_csv(out)
    trials = _trials(branin_run).sort_values("value").reset_index(drop=True)
    assert list(summary["trial_id"]) == list(trials["trial_id"])
    assert summary["value"].to_numpy() == pytest.approx(trials["value"].to_numpy())
    assert summary["config/x1"].to_numpy() == pytest.approx(trials["config/x1"].to_numpy())


def test_keep_best_checkpoints_exports_the_best_scoring_checkpoint(
    ray_local: None, tmp_path: Path
) -> None:
    """``score`` rises with every iteration and the mode is min: the best checkpoint is
    the first. Ray keeps the two best plus the newest (for resume); ``best --export``
    copies the best one, ``--checkpoint latest`` the newest."""
    outcome = run_spec_in_process(
        tmp_path,
        {
            "name": "keep_best",
            "trainable": "tests/fixtures/user_trainables.py:counter",
            "metric": "score",
            "mode": "min",
            "config": {"n": 6, "ckpt_every": 1, "x": 0.0},
            "checkpoints_to_keep": 2,
            "keep_best_checkpoints": True,
        },
    )
    run_dir = str(outcome.run_dir)
    (trial_id,) = _trials(run_dir)["trial_id"]
    source = Path(run_dir) / trial_id
    kept = sorted(p.name for p in source.glob("checkpoint_*"))
    assert kept == ["checkpoint_000000", "checkpoint_000001", "checkpoint_000005"]

    out = tmp_path / "best"
    assert main(["best", run_dir, "--export", str(out)]) == 0
    meta = json.loads((out / "metadata.json").read_text())
    assert (meta["checkpoint_choice"], meta["checkpoint_name"]) == ("best", "checkpoint_000000")
    assert meta["iteration"] == 1
    _same_tree(source / "checkpoint_000000", out / "checkpoint")

    latest = tmp_path / "latest"
    assert main(["best", run_dir, "--export", str(latest), "--checkpoint", "latest"]) == 0
    meta = json.loads((latest / "metadata.json").read_text())
    assert (meta["checkpoint_choice"], meta["checkpoint_name"]) == ("latest", "checkpoint_000005")
    assert meta["iteration"] == 6
    _same_tree(source / "checkpoint_000005", latest / "checkpoint")
