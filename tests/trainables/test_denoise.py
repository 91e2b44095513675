"""The denoising autoencoder: blob diagnostics, config, data, dynamics, exact restore."""

from __future__ import annotations

import copy
import math
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
import torch

from trainables import denoise
from trainables._config import build_config
from trainables.denoise import PRESETS, DenoiseConfig, _epochs, _model, blob_diagnostics, make_data

_TIMING = ("samples_per_s", "training_time_s")


def _cfg(**overrides: Any) -> DenoiseConfig:
    return build_config(DenoiseConfig, {"preset": "tiny", **overrides}, PRESETS)


def _clustered_weights(
    n_clusters: int, hidden: int, d: int = 20, spread: float = 0.05, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Encoder (hidden, d) and decoder (d, hidden) whose units sit in ``n_clusters`` blobs."""
    rng = np.random.default_rng(seed)
    enc_centres = rng.standard_normal((n_clusters, d))
    dec_centres = rng.standard_normal((n_clusters, d))
    labels = np.arange(hidden) % n_clusters
    enc = enc_centres[labels] + spread * rng.standard_normal((hidden, d))
    dec = dec_centres[labels] + spread * rng.standard_normal((hidden, d))
    scale = rng.uniform(0.1, 2.0, (hidden, 1))  # norms must not matter
    return enc * scale, (dec * scale).T


def _strip(metrics: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in m.items() if k not in _TIMING} for m in metrics]


@pytest.fixture(autouse=True, scope="module")
def _one_thread() -> Iterator[None]:
    """Tiny matrices: one thread is fastest, and immune to a busy second core."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def tiny_run() -> tuple[list[dict[str, Any]], list[dict[str, Any] | None]]:
    """One tiny trial without Ray: metrics and (copied) checkpoints per epoch."""
    metrics, checkpoints = [], []
    for m, state in _epochs(_cfg()):
        metrics.append(m)
        checkpoints.append(copy.deepcopy(state))
    return metrics, checkpoints


# --- blob diagnostics -----------------------------------------------------------------


@pytest.mark.parametrize(("n_clusters", "hidden"), [(3, 24), (5, 30)])
def test_blob_diagnostics_finds_the_clusters(n_clusters: int, hidden: int) -> None:
    enc, dec = _clustered_weights(n_clusters, hidden)
    result = blob_diagnostics(enc, dec)
    assert result["n_clusters"] == n_clusters
    assert result["silhouette"] > 0.5
    assert blob_diagnostics(torch.from_numpy(enc), torch.from_numpy(dec)) == result


def test_blob_diagnostics_random_weights_have_no_structure() -> None:
    rng = np.random.default_rng(1)
    result = blob_diagnostics(rng.standard_normal((24, 64)), rng.standard_normal((64, 24)))
    assert 2 <= result["n_clusters"] <= 8
    assert result["silhouette"] < 0.2
    assert abs(result["weight_correlation"]) < 0.2


def test_weight_correlation() -> None:
    enc, _ = _clustered_weights(3, 12)
    assert blob_diagnostics(enc, enc.T)["weight_correlation"] == pytest.approx(1.0)
    assert blob_diagnostics(enc, -enc.T)["weight_correlation"] == pytest.approx(-1.0)


def test_blob_diagnostics_small_and_non_finite() -> None:
    enc, dec = _clustered_weights(2, 3)
    assert blob_diagnostics(enc, dec)["n_clusters"] == 2  # only k = 2 is possible
    enc[0, 0] = math.nan
    result = blob_diagnostics(enc, dec)
    assert result["n_clusters"] == 0 and math.isnan(result["silhouette"])


# --- config -----------------------------------------------------------------------------


def test_presets() -> None:
    assert {"tiny", "default", "reference"} <= set(PRESETS)
    for name in PRESETS:
        build_config(DenoiseConfig, {"preset": name}, PRESETS)
    ref = build_config(DenoiseConfig, {"preset": "reference"}, PRESETS)
    assert (ref.d, ref.n_train, ref.epochs, ref.batch_size, ref.lr) == (
        1024,
        300_000,
        12,
        10240,
        0.01,
    )
    assert ref.encoder_init_scale == ref.decoder_init_scale == 0.02
    tiny = _cfg(lr=0.01)
    assert tiny.d == 32 and tiny.lr == 0.01  # a key overrides its preset


def test_unknown_key_is_named() -> None:
    with pytest.raises(ValueError, match="learning_rate"):
        _cfg(learning_rate=0.1)
    with pytest.raises(ValueError, match="unknown preset"):
        build_config(DenoiseConfig, {"preset": "huge"}, PRESETS)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("hidden", 2),
        ("d", 0),
        ("n_blobs", 1),
        ("n_blobs", 40),
        ("epochs", 0),
        ("batch_size", 0),
        ("checkpoint_every", 0),
        ("optimizer", "rmsprop"),
        ("lr", 0.0),
        ("encoder_init_scale", -0.1),
        ("decoder_init_scale", 0.0),
        ("noise", -1.0),
        ("signal_prob", 0.0),
        ("signal_prob", 1.5),
        ("weight_decay", -0.1),
        ("d", "32"),
    ],
)
def test_bad_values_raise(key: str, value: Any) -> None:
    with pytest.raises(ValueError, match=key):
        _cfg(**{key: value})


# --- data ---------------------------------------------------------------------------------


def test_data_is_deterministic_by_data_seed() -> None:
    first, again = make_data(_cfg()), make_data(_cfg(seed=5))  # trial seed plays no part
    for a, b in zip(first, again, strict=True):
        assert torch.equal(a, b)
    other = make_data(_cfg(data_seed=99))
    assert not torch.equal(first[0], other[0]) and not torch.equal(first[1], other[1])


def test_data_model() -> None:
    cfg = _cfg(n_train=20_000)
    mu, x_train, x_test, noisy_test = make_data(cfg)
    assert mu.shape == (3, 32) and x_train.shape == (20_000, 32)
    assert x_test.shape == noisy_test.shape == (cfg.n_test, 32)
    assert torch.allclose(mu.norm(dim=1), torch.full((3,), math.sqrt(32)))
    cos = (mu @ mu.T) / 32
    assert torch.allclose(
        cos, torch.tensor([[1.0, -0.5, -0.5], [-0.5, 1.0, -0.5], [-0.5, -0.5, 1.0]]), atol=1e-5
    )
    on = x_train.abs().sum(dim=1) > 0
    assert on.float().mean().item() == pytest.approx(cfg.signal_prob, abs=0.02)
    # every signal sample is a positive multiple of one blob direction
    cos_x = (x_train[on] @ mu.T) / (x_train[on].norm(dim=1, keepdim=True) * math.sqrt(32))
    assert torch.allclose(cos_x.max(dim=1).values, torch.ones(int(on.sum())), atol=1e-5)
    residual = (noisy_test - x_test).std().item()
    assert residual == pytest.approx(cfg.noise, rel=0.05)


# --- training -----------------------------------------------------------------------------


def test_tiny_training_learns_and_forms_blobs(tiny_run: tuple[list, list]) -> None:
    metrics, _ = tiny_run
    cfg = _cfg()
    assert [m["epoch"] for m in metrics] == list(range(1, cfg.epochs + 1))
    losses = [m["test_loss"] for m in metrics]
    assert losses[-1] < losses[0]
    _, _, x_test, _ = make_data(cfg)
    assert losses[-1] < 0.5 * x_test.pow(2).mean().item()  # far better than predicting 0
    torch.manual_seed(cfg.seed)
    init = _model(cfg)
    assert blob_diagnostics(init[0].weight, init[2].weight)["silhouette"] < 0.2
    last = metrics[-1]
    assert last["n_clusters"] == 3 and last["silhouette"] > 0.5
    assert last["weight_correlation"] > 0.5
    assert last["device"] in ("cpu", "cuda") and last["diverged"] is False


def test_units_align_with_the_blobs(tiny_run: tuple[list, list]) -> None:
    _, checkpoints = tiny_run
    mu = make_data(_cfg())[0]
    enc = checkpoints[-1]["model"]["0.weight"]  # (hidden, d)
    cos = (enc / enc.norm(dim=1, keepdim=True)) @ (mu / mu.norm(dim=1, keepdim=True)).T
    best = cos.max(dim=1)
    assert set(best.indices.tolist()) == {0, 1, 2}  # every blob has units
    assert (best.values > 0.8).float().mean() >= 0.75  # most units point at one blob


def test_same_seed_same_metrics_and_exact_restore(tiny_run: tuple[list, list]) -> None:
    metrics, checkpoints = tiny_run
    assert all(set(c) == {"model", "optimizer", "epoch", "rng", "config"} for c in checkpoints)
    again = [m for m, _ in _epochs(_cfg())]
    assert _strip(again) == _strip(metrics)
    restored = [m for m, _ in _epochs(_cfg(), copy.deepcopy(checkpoints[1]))]
    assert _strip(restored) == _strip(metrics[2:])


def test_checkpoint_every() -> None:
    saved = [c is not None for _, c in _epochs(_cfg(checkpoint_every=2))]
    assert saved == [False, True, False, True, True]


def test_divergence_ends_cleanly() -> None:
    results = list(_epochs(_cfg(optimizer="sgd", lr=1e8, encoder_init_scale=1.0)))
    metrics, state = results[-1]
    assert metrics["diverged"] is True and state is None
    assert len(results) < _cfg().epochs


def test_train_reports_through_report(monkeypatch: pytest.MonkeyPatch) -> None:
    reports: list[tuple[dict[str, Any], dict[str, Any] | None]] = []
    monkeypatch.setattr(denoise, "report", lambda m, s=None: reports.append((m, copy.deepcopy(s))))
    monkeypatch.setattr(denoise, "load_checkpoint", lambda: None)
    denoise.train({"preset": "tiny", "epochs": 2})
    assert [m["epoch"] for m, _ in reports] == [1, 2]
    assert reports[-1][1] is not None and reports[-1][1]["epoch"] == 2
    expected = {
        "epoch",
        "train_loss",
        "test_loss",
        "n_clusters",
        "silhouette",
        "weight_correlation",
        "n_blobs",
        "samples_per_s",
        "training_time_s",
        "device",
        "diverged",
    }
    assert set(reports[0][0]) == expected
    assert reports[0][0]["n_blobs"] == 3  # the data's true cluster count, for the report
