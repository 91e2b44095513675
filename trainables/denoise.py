"""Denoising autoencoder whose hidden units form blobs: the blob-structure experiment, built in.

Data model (synthetic, made in-process from ``data_seed``, the same for every trial):
``n_blobs`` directions ``mu_c`` of norm sqrt(d) pointing to the corners of a centred
regular simplex in a random ``n_blobs``-dimensional subspace of R^d (pairwise cosine
-1/(n_blobs-1)). A clean sample is ``x = a * mu_c`` with probability ``signal_prob`` (blob
``c`` uniform, amplitude ``a ~ U(0.5, 1.5)``), else ``x = 0``. The model sees
``x + noise * eps`` (``eps ~ N(0, I_d)``: fresh every batch, fixed for the test set) and
learns to reconstruct the clean ``x`` (mean squared error per coordinate). Signal per
coordinate is about 1, so the per-sample detection SNR is about ``a * sqrt(d) / noise``.

A one-hidden-layer ReLU autoencoder learns this by specialising each hidden unit to one
blob: its encoder row and decoder column both align with some ``mu_c``, so the per-unit
features (normalised encoder row, normalised decoder column) fall into ``n_blobs``
clusters. ``blob_diagnostics`` measures that (KMeans over k, best silhouette). Too high a
learning rate, too many units per blob (they spread into a ring in the simplex plane) or
too low an SNR blur the blobs.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from trainables._checkpoint import load_checkpoint, report, rng_state, set_rng_state
from trainables._config import build_config

__all__ = ["PRESETS", "DenoiseConfig", "blob_diagnostics", "make_data", "train"]


@dataclass
class DenoiseConfig:
    """Configuration of one ``denoise`` trial."""

    preset: str = "default"
    """Named starting point (``tiny``, ``default``, ``reference``); other keys override it."""
    seed: int = 0
    """Initialisation, batch-order and training-noise seed."""
    data_seed: int = 1234
    """Seed of the synthetic data (blob directions, test set); keep fixed across a sweep."""
    d: int = 256
    """Input dimension."""
    n_train: int = 50_000
    """Clean training samples (noise is drawn fresh every batch)."""
    n_test: int = 5_000
    """Test samples (clean and noisy, fixed by ``data_seed``)."""
    n_blobs: int = 3
    """Signal directions in the data model (>= 2): the clusters the hidden units form."""
    signal_prob: float = 0.25
    """Probability that a sample carries a signal (otherwise its clean value is 0)."""
    noise: float = 2.0
    """Standard deviation of the additive Gaussian noise per coordinate (signal: ~1)."""
    hidden: int = 24
    """Hidden units (at least 3, for the cluster diagnostics)."""
    optimizer: str = "adam"
    """``adam`` or ``sgd``."""
    lr: float = 0.003
    """Learning rate."""
    momentum: float = 0.9
    """SGD momentum (ignored by Adam)."""
    weight_decay: float = 0.0
    """Weight decay: decoupled for ``adam`` (AdamW), L2 in the gradient for ``sgd``."""
    batch_size: int = 256
    """Examples per step."""
    epochs: int = 10
    """Passes over the training set; one report per epoch."""
    encoder_init_scale: float = 0.02
    """Standard deviation of the encoder's normal weight init (biases start at 0)."""
    decoder_init_scale: float = 0.02
    """Standard deviation of the decoder's normal weight init (biases start at 0)."""
    checkpoint_every: int = 1
    """Epochs between checkpoints (the last epoch always checkpoints)."""

    def __post_init__(self) -> None:
        positive = ("d", "n_train", "n_test", "batch_size", "epochs")
        for name in (*positive, "checkpoint_every"):
            if getattr(self, name) < 1:
                raise ValueError(f"DenoiseConfig: {name} must be >= 1; got {getattr(self, name)}")
        if self.hidden < 3:
            raise ValueError(f"DenoiseConfig: hidden must be >= 3; got {self.hidden}")
        if self.optimizer not in ("adam", "sgd"):
            raise ValueError(
                f"DenoiseConfig: optimizer must be adam or sgd; got {self.optimizer!r}"
            )
        for name in ("lr", "encoder_init_scale", "decoder_init_scale"):
            if not getattr(self, name) > 0:
                raise ValueError(f"DenoiseConfig: {name} must be > 0; got {getattr(self, name)}")
        if not 2 <= self.n_blobs <= self.d:
            raise ValueError(f"DenoiseConfig: n_blobs must be in [2, d]; got {self.n_blobs}")
        if not 0.0 < self.signal_prob <= 1.0:
            raise ValueError(
                f"DenoiseConfig: signal_prob must be in (0, 1]; got {self.signal_prob}"
            )
        for name in ("noise", "momentum", "weight_decay"):
            if not getattr(self, name) >= 0:
                raise ValueError(f"DenoiseConfig: {name} must be >= 0; got {getattr(self, name)}")


PRESETS: dict[str, dict[str, Any]] = {
    "default": {},
    "tiny": {
        "d": 32,
        "n_train": 2000,
        "n_test": 500,
        "noise": 2.0,
        "hidden": 12,
        "lr": 0.003,
        "batch_size": 16,
        "epochs": 5,
    },
    # The reference experiment: d=1024, n_train=300k, 12 epochs, batch 10240, lr 0.01, init
    # 0.02. The seed states neither width nor noise: hidden 24 and noise 4 (SNR ~8) are ours.
    "reference": {
        "d": 1024,
        "n_train": 300_000,
        "n_test": 10_000,
        "noise": 4.0,
        "hidden": 24,
        "batch_size": 10240,
        "epochs": 12,
        "lr": 0.01,
        "encoder_init_scale": 0.02,
        "decoder_init_scale": 0.02,
    },
}


def make_data(
    cfg: DenoiseConfig,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Blob directions (n_blobs, d), clean train set (n_train, d), clean and noisy test
    sets (n_test, d); all from ``cfg.data_seed`` alone."""
    gen = torch.Generator().manual_seed(cfg.data_seed)
    q, _ = torch.linalg.qr(torch.randn(cfg.d, cfg.n_blobs, generator=gen))  # (d, n_blobs)
    simplex = torch.eye(cfg.n_blobs) - 1.0 / cfg.n_blobs  # (n_blobs, n_blobs), rows sum to 0
    simplex = simplex / simplex.norm(dim=1, keepdim=True)
    mu = simplex @ q.T * math.sqrt(cfg.d)  # (n_blobs, d): norm sqrt(d), cos -1/(n_blobs-1)

    def clean(n: int) -> torch.Tensor:
        blob = torch.randint(0, cfg.n_blobs, (n,), generator=gen)  # (n,)
        amplitude = 0.5 + torch.rand(n, 1, generator=gen)  # (n, 1) in [0.5, 1.5)
        on = torch.rand(n, 1, generator=gen) < cfg.signal_prob  # (n, 1)
        return amplitude * on * mu[blob]  # (n, d)

    x_train, x_test = clean(cfg.n_train), clean(cfg.n_test)
    noisy_test = x_test + cfg.noise * torch.randn(cfg.n_test, cfg.d, generator=gen)
    return mu, x_train, x_test, noisy_test


def _model(cfg: DenoiseConfig) -> nn.Sequential:
    model = nn.Sequential(nn.Linear(cfg.d, cfg.hidden), nn.ReLU(), nn.Linear(cfg.hidden, cfg.d))
    with torch.no_grad():
        nn.init.normal_(model[0].weight, std=cfg.encoder_init_scale)  # (hidden, d)
        nn.init.normal_(model[2].weight, std=cfg.decoder_init_scale)  # (d, hidden)
        nn.init.zeros_(model[0].bias)
        nn.init.zeros_(model[2].bias)
    return model


def _optimizer(cfg: DenoiseConfig, model: nn.Module) -> torch.optim.Optimizer:
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(
            model.parameters(), lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay
        )
    return torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)


def _unit_rows(w: np.ndarray) -> np.ndarray:
    return w / np.maximum(np.linalg.norm(w, axis=1, keepdims=True), 1e-12)


def blob_diagnostics(encoder_w: Any, decoder_w: Any, max_k: int = 8, seed: int = 0) -> dict:
    """Cluster the hidden units by their weights: ``n_clusters``, ``silhouette``,
    ``weight_correlation``.

    ``encoder_w`` is (hidden, d) and ``decoder_w`` (d, hidden), as in ``nn.Linear``
    (torch tensors or arrays). Unit i's feature is concat(encoder row i / |row|, decoder
    column i / |column|); KMeans (fixed seed, 4 inits) for k in 2..min(max_k, hidden-1),
    and the k with the best silhouette wins. ``weight_correlation`` is the Pearson
    correlation of encoder row i with decoder column i, averaged over units. Non-finite
    weights give ``n_clusters`` 0 and NaN scores.
    """
    from sklearn.cluster import KMeans
    from sklearn.metrics import silhouette_score

    enc = np.asarray(torch.as_tensor(encoder_w).detach().cpu(), dtype=np.float64)
    dec = np.asarray(torch.as_tensor(decoder_w).detach().cpu(), dtype=np.float64).T
    if not (np.isfinite(enc).all() and np.isfinite(dec).all()):
        return {"n_clusters": 0, "silhouette": math.nan, "weight_correlation": math.nan}
    # Pearson correlation = cosine of the centred vectors; both (hidden, d).
    enc_c = _unit_rows(enc - enc.mean(axis=1, keepdims=True))
    dec_c = _unit_rows(dec - dec.mean(axis=1, keepdims=True))
    correlation = float((enc_c * dec_c).sum(axis=1).mean())
    features = np.concatenate([_unit_rows(enc), _unit_rows(dec)], axis=1)  # (hidden, 2d)
    best_k, best_score = 1, 0.0
    for k in range(2, min(max_k, len(features) - 1) + 1):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # fewer distinct points than k
            labels = KMeans(n_clusters=k, n_init=4, random_state=seed).fit_predict(features)
        if not 2 <= len(np.unique(labels)) < len(features):
            continue
        score = float(silhouette_score(features, labels))
        if score > best_score + 1e-12 or best_k == 1:
            best_k, best_score = k, score
    return {"n_clusters": best_k, "silhouette": best_score, "weight_correlation": correlation}


def _epochs(
    cfg: DenoiseConfig, state: dict[str, Any] | None = None
) -> Iterator[tuple[dict[str, Any], dict[str, Any] | None]]:
    """Train, yielding (metrics, checkpoint or None) after every epoch; no Ray involved.

    ``state`` is a checkpoint this function yielded earlier: training continues exactly
    from it. A checkpoint holds live tensors: save or copy it before the next step.
    """
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    _, x_train, x_test, y_test = (t.to(device) for t in make_data(cfg))
    torch.manual_seed(cfg.seed)  # model init and training noise (global CPU/CUDA RNG)
    batch_gen = torch.Generator().manual_seed(cfg.seed)  # batch order
    model = _model(cfg).to(device)
    optimizer = _optimizer(cfg, model)
    epoch = 0
    if state is not None:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        epoch = state["epoch"]
        set_rng_state(state["rng"], batch_gen)

    started = time.perf_counter()
    while epoch < cfg.epochs:
        model.train()
        epoch_start = time.perf_counter()
        order = torch.randperm(cfg.n_train, generator=batch_gen).to(device)  # (n_train,)
        loss_sum = torch.zeros((), device=device)
        batches = 0
        for begin in range(0, cfg.n_train, cfg.batch_size):
            x = x_train[order[begin : begin + cfg.batch_size]]  # clean (B, d)
            noisy = x + cfg.noise * torch.randn(x.shape, device=device)  # (B, d)
            loss = nn.functional.mse_loss(model(noisy), x)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            loss_sum += loss.detach()
            batches += 1
        train_loss = loss_sum.item() / batches  # one sync per epoch
        epoch_time = time.perf_counter() - epoch_start
        epoch += 1
        model.eval()
        with torch.no_grad():
            test_loss = nn.functional.mse_loss(model(y_test), x_test).item()
        diverged = not (math.isfinite(train_loss) and math.isfinite(test_loss))
        blobs = blob_diagnostics(model[0].weight, model[2].weight)
        metrics = {
            "epoch": epoch,
            "train_loss": train_loss,
            "test_loss": test_loss,
            **blobs,
            "n_blobs": cfg.n_blobs,  # the true count, so a report can judge n_clusters
            "samples_per_s": cfg.n_train / max(epoch_time, 1e-9),
            "training_time_s": time.perf_counter() - started,
            "device": device.type,
            "diverged": diverged,
        }
        last = epoch >= cfg.epochs
        checkpoint = None
        if (epoch % cfg.checkpoint_every == 0 or last) and not diverged:
            checkpoint = {
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "epoch": epoch,
                "rng": rng_state(batch_gen),
                "config": cfg.__dict__,
            }
        yield metrics, checkpoint
        if diverged:
            return


def train(config: dict[str, Any]) -> None:
    """Train one trial, reporting once per epoch.

    Metrics: ``epoch``, ``train_loss`` (mean over the epoch), ``test_loss``,
    ``n_clusters``, ``silhouette``, ``weight_correlation`` (see ``blob_diagnostics``),
    ``n_blobs`` (the data's true cluster count, constant), ``samples_per_s`` (training
    steps only), ``training_time_s`` (since this attempt started or restored),
    ``device``, ``diverged``.
    """
    cfg = build_config(DenoiseConfig, config, PRESETS)
    for metrics, checkpoint in _epochs(cfg, load_checkpoint()):
        report(metrics, checkpoint)
