"""TensorBoard event files are readable with TensorBoard's own reader while trials run."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins.hparams import plugin_data_pb2

from tests.conftest import run_spec_in_process

pytestmark = pytest.mark.slow


def _accumulators(tb_root: Path) -> dict[str, EventAccumulator]:
    out = {}
    for run in sorted(p for p in tb_root.glob("*") if p.is_dir()):
        acc = EventAccumulator(str(run))
        acc.Reload()
        out[run.name] = acc
    return out


def test_scalars_and_hparams_visible_mid_run(ray_local: None, tmp_path: Path) -> None:
    n = 30
    spec = {
        "name": "tb_live",
        "trainable": "tests/fixtures/user_trainables.py:counter",
        "metric": "score",
        "config": {"n": n, "sleep_s": 0.3, "ckpt_every": 100},
        "space": {"x": {"grid": [0.25, 0.5]}},
        "search": {"algorithm": "grid"},
    }
    done = threading.Event()
    outcome: dict = {}

    def sweep() -> None:
        outcome["result"] = run_spec_in_process(tmp_path, spec)
        done.set()

    thread = threading.Thread(target=sweep, daemon=True)
    thread.start()
    tb_root = tmp_path / "results" / "tb_live" / "tensorboard"
    seen_mid_run = None
    deadline = time.time() + 120
    while time.time() < deadline and not done.is_set():
        if tb_root.exists():
            accs = _accumulators(tb_root)
            steps = [
                len(a.Scalars("score")) for a in accs.values() if "score" in a.Tags()["scalars"]
            ]
            if len(steps) == 2 and all(0 < s < n for s in steps):
                seen_mid_run = steps
                break
        time.sleep(0.5)
    assert seen_mid_run is not None, "no scalars were readable while the trials ran"
    assert not done.is_set()
    thread.join(timeout=180)
    assert outcome["result"].statuses == {"TERMINATED": 2}

    accs = _accumulators(tb_root)
    assert len(accs) == 2
    for acc in accs.values():
        events = acc.Scalars("score")
        assert [e.step for e in events] == list(range(1, n + 1))
        # HParams: the session start info carries the searched and fixed parameters.
        content = acc.PluginTagToContent("hparams")
        start = plugin_data_pb2.HParamsPluginData.FromString(
            content["_hparams_/session_start_info"]
        )
        hparams = start.session_start_info.hparams
        assert hparams["x"].number_value in (0.25, 0.5)
        assert hparams["n"].number_value == n
        experiment = plugin_data_pb2.HParamsPluginData.FromString(content["_hparams_/experiment"])
        assert [m.name.tag for m in experiment.experiment.metric_infos] == ["score"]
        # The values follow the trial's own x (first value = x*100 + 1).
        x = hparams["x"].number_value
        assert events[0].value == pytest.approx(x * 100 + 1)
