"""The analytic trainables: known optima, range checks, shrinking noise, exact restore."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from trainables import analytic
from trainables.analytic import (
    BRANIN_MINIMIZERS,
    BRANIN_MINIMUM,
    HARTMANN6_MINIMIZER,
    HARTMANN6_MINIMUM,
    branin,
    branin_value,
    hartmann6,
    hartmann6_value,
)

Trainable = Callable[[dict[str, Any]], None]


def _run(
    monkeypatch: pytest.MonkeyPatch,
    fn: Trainable,
    config: dict[str, Any],
    restore: dict[str, Any] | None = None,
) -> tuple[list[dict[str, Any]], list[dict[str, Any] | None]]:
    """Run ``fn`` without Ray: collect reports and checkpoints, optionally restoring."""
    metrics: list[dict[str, Any]] = []
    checkpoints: list[dict[str, Any] | None] = []

    def report(m: dict[str, Any], state: dict[str, Any] | None = None) -> None:
        metrics.append(m)
        checkpoints.append(copy.deepcopy(state))

    monkeypatch.setattr(analytic, "report", report)
    monkeypatch.setattr(analytic, "load_checkpoint", lambda: copy.deepcopy(restore))
    fn(config)
    return metrics, checkpoints


@pytest.mark.parametrize("point", BRANIN_MINIMIZERS)
def test_branin_minimizers(point: tuple[float, float]) -> None:
    assert branin_value(*point) == pytest.approx(BRANIN_MINIMUM, abs=1e-5)


def test_branin_elsewhere_is_higher() -> None:
    grid = [branin_value(x1, x2) for x1 in np.linspace(-5, 10, 31) for x2 in np.linspace(0, 15, 31)]
    assert min(grid) >= BRANIN_MINIMUM - 1e-6


def test_hartmann6_minimizer() -> None:
    assert hartmann6_value(HARTMANN6_MINIMIZER) == pytest.approx(HARTMANN6_MINIMUM, abs=1e-4)
    rng = np.random.default_rng(0)
    assert min(hartmann6_value(x) for x in rng.random((500, 6))) > HARTMANN6_MINIMUM
    with pytest.raises(ValueError, match="6 coordinates"):
        hartmann6_value([0.5] * 5)


@pytest.mark.parametrize(
    ("fn", "config"),
    [
        (branin, {"x1": -5.1}),
        (branin, {"x1": 10.5}),
        (branin, {"x2": -0.1}),
        (branin, {"x2": 15.01}),
        (hartmann6, {"x3": 1.5}),
        (hartmann6, {"x6": -0.01}),
        (branin, {"iterations": 0}),
        (branin, {"noise": -1.0}),
        (hartmann6, {"report_every": 0}),
        (hartmann6, {"x7": 0.5}),
        (branin, {"x1": "far"}),
    ],
)
def test_bad_config_raises(fn: Trainable, config: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        fn(config)


def test_reports_at_the_optimum(monkeypatch: pytest.MonkeyPatch) -> None:
    x1, x2 = BRANIN_MINIMIZERS[1]
    metrics, checkpoints = _run(monkeypatch, branin, {"x1": x1, "x2": x2})
    assert len(metrics) == 1 and checkpoints[0] is not None
    m = metrics[0]
    assert m["iteration"] == 1 and m["value"] == m["true_value"]
    assert m["regret"] == pytest.approx(0.0, abs=1e-5)
    assert set(checkpoints[0]) == {"iteration", "rng", "config"}

    point = dict(zip(("x1", "x2", "x3", "x4", "x5", "x6"), HARTMANN6_MINIMIZER, strict=True))
    metrics, _ = _run(monkeypatch, hartmann6, {**point, "preset": "tiny"})
    assert metrics[0]["value"] == pytest.approx(HARTMANN6_MINIMUM, abs=1e-4)


def test_report_and_checkpoint_cadence(monkeypatch: pytest.MonkeyPatch) -> None:
    config = {"iterations": 10, "report_every": 3, "checkpoint_every": 2, "noise": 1.0}
    metrics, checkpoints = _run(monkeypatch, branin, config)
    assert [m["iteration"] for m in metrics] == [3, 6, 9, 10]
    assert [c is not None for c in checkpoints] == [False, True, False, True]


def test_noise_shrinks_with_iterations(monkeypatch: pytest.MonkeyPatch) -> None:
    first, last = [], []
    for seed in range(200):
        metrics, _ = _run(
            monkeypatch,
            hartmann6,
            {"seed": seed, "noise": 1.0, "iterations": 100, "report_every": 99},
        )
        assert [m["iteration"] for m in metrics] == [99, 100]
        true_value = metrics[-1]["true_value"]
        last.append(metrics[-1]["value"] - true_value)
        single, _ = _run(monkeypatch, hartmann6, {"seed": seed, "noise": 1.0})
        first.append(single[0]["value"] - true_value)
    ratio = np.std(first) / np.std(last)
    assert 7 < ratio < 14


def test_same_seed_same_values(monkeypatch: pytest.MonkeyPatch) -> None:
    config = {"iterations": 5, "noise": 0.5, "seed": 3}
    a, _ = _run(monkeypatch, branin, config)
    b, _ = _run(monkeypatch, branin, config)
    c, _ = _run(monkeypatch, branin, {**config, "seed": 4})
    assert a == b and a != c


@pytest.mark.parametrize("fn", [branin, hartmann6])
def test_restore_continues_exactly(monkeypatch: pytest.MonkeyPatch, fn: Trainable) -> None:
    config = {"iterations": 12, "noise": 2.0, "seed": 7, "report_every": 2, "checkpoint_every": 2}
    full, checkpoints = _run(monkeypatch, fn, config)
    assert len(full) == 6
    state = checkpoints[1]  # after the second report (iteration 4)
    assert state is not None and state["iteration"] == 4
    resumed, _ = _run(monkeypatch, fn, config, restore=state)
    assert resumed == full[2:]
