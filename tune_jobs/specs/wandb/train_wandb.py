"""A W&B-instrumented training script for the example sweep files (NumPy, CPU, seconds).

An MLP (``layers`` hidden layers of width ``d_model``) classifies two interleaved
spirals; each epoch logs ``loss``, ``val_loss``, ``accuracy`` and ``n_params`` with
``wandb.log``. Under tune-jobs, ``import wandb`` gets the offline shim; with the real
``wandb`` installed it runs the same way under ``wandb agent``.
"""

from __future__ import annotations

import itertools

import numpy as np
import wandb

DEFAULTS = {
    "lr": 0.05,
    "optimizer": "adam",
    "d_model": 32,
    "layers": 2,
    "weight_decay": 0.0,
    "batch_size": 64,
    "epochs": 20,
    "seed": 0,
}


def spirals(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``n`` points of two spirals with labels 0/1."""
    t = np.sqrt(rng.uniform(0.05, 1.0, n)) * 3 * np.pi
    y = rng.integers(0, 2, n)
    sign = np.where(y == 1, 1.0, -1.0)
    x = np.stack([sign * t * np.cos(t), sign * t * np.sin(t)], axis=1) / 10
    return x + 0.05 * rng.standard_normal((n, 2)), y


def main() -> None:
    """Train and log one metric row per epoch."""
    run = wandb.init(project="tune-jobs-examples", config=DEFAULTS)
    cfg = wandb.config
    rng = np.random.default_rng(int(cfg.seed))
    x_train, y_train = spirals(512, rng)
    x_val, y_val = spirals(256, rng)
    model = dict(cfg.get("model") or {})  # nested W&B parameters arrive as a dict
    d_model, layers = int(model.get("d_model", cfg.d_model)), int(model.get("layers", cfg.layers))
    sizes = [2] + [d_model] * layers + [2]
    weights = [rng.standard_normal((a, b)) * np.sqrt(2.0 / a) for a, b in itertools.pairwise(sizes)]
    biases = [np.zeros(b) for b in sizes[1:]]
    params = weights + biases
    n_params = int(sum(p.size for p in params))
    moments = [(np.zeros_like(p), np.zeros_like(p)) for p in params]

    def forward(x: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
        acts = [x]
        for i, (w, b) in enumerate(zip(weights, biases, strict=False)):
            z = acts[-1] @ w + b
            acts.append(np.maximum(z, 0) if i < len(weights) - 1 else z)
        logits = acts.pop()
        return acts, logits

    def loss_and_probs(logits: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
        z = logits - logits.max(axis=1, keepdims=True)
        p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
        return float(-np.log(p[np.arange(len(y)), y] + 1e-12).mean()), p

    step = 0
    for epoch in range(int(cfg.epochs)):
        order = rng.permutation(len(y_train))
        for start in range(0, len(order), int(cfg.batch_size)):
            idx = order[start : start + int(cfg.batch_size)]
            acts, logits = forward(x_train[idx])
            _, p = loss_and_probs(logits, y_train[idx])
            grad = p
            grad[np.arange(len(idx)), y_train[idx]] -= 1
            grad /= len(idx)
            grads_w, grads_b = [], []
            for i in reversed(range(len(weights))):
                grads_w.insert(0, acts[i].T @ grad + cfg.weight_decay * weights[i])
                grads_b.insert(0, grad.sum(axis=0))
                if i:
                    grad = (grad @ weights[i].T) * (acts[i] > 0)
            step += 1
            for j, (prm, g) in enumerate(zip(params, grads_w + grads_b, strict=False)):
                if cfg.optimizer == "adam":
                    m, v = moments[j]
                    m[:] = 0.9 * m + 0.1 * g
                    v[:] = 0.999 * v + 0.001 * g * g
                    prm -= cfg.lr * (m / (1 - 0.9**step)) / (np.sqrt(v / (1 - 0.999**step)) + 1e-8)
                else:
                    prm -= cfg.lr * g
        train_loss, _ = loss_and_probs(forward(x_train)[1], y_train)
        val_loss, p_val = loss_and_probs(forward(x_val)[1], y_val)
        accuracy = float((p_val.argmax(axis=1) == y_val).mean())
        wandb.log(
            {
                "epoch": epoch,
                "loss": train_loss,
                "val_loss": val_loss,
                "accuracy": accuracy,
                "n_params": n_params,
            }
        )
    run.summary["best_accuracy"] = accuracy
    wandb.finish()


if __name__ == "__main__":
    main()
