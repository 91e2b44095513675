"""Token data for the ``lm`` trainable: prepared directories and the built-in corpus.

A prepared directory (``python -m trainables.lm.prepare``) holds ``train.bin`` and
``val.bin`` (uint16 ids, read with ``np.memmap``: never loaded whole), ``meta.json`` and
``tokenizer.json``. ``open_data("builtin")`` needs no files: generated stories,
byte-level tokens, in memory (``builtin:bpe`` trains a small BPE once and caches it
under the system temp directory).

``get_batch`` draws start positions from a ``torch.Generator`` only, so saving and
restoring the generator's state reproduces the same batches.

``open_training_data(source, context, vocab_size)`` is what a trial opens: besides what
``open_data`` checks (missing files, truncated token files, every token id below the
tokenizer's vocabulary, meta.json agreeing with tokenizer.json) it fails before any
model is built if a split is too short for one window of ``context + 1`` tokens or the
model's vocabulary cannot hold the tokenizer's. Every error is one line naming the file.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import torch

from trainables.lm.corpus import builtin_stories
from trainables.lm.prepare import (
    META_FILE,
    SPLIT_FILES,
    encode_documents,
    prepare_documents,
    val_count,
)
from trainables.lm.tokenizer import (
    EOT,
    TOKENIZER_FILE,
    ByteTokenizer,
    Tokenizer,
    load_tokenizer,
    train_bpe,
)

__all__ = ["TokenData", "builtin_data", "check_data", "open_data", "open_training_data"]

_SCAN_CHUNK = 1 << 24  # token ids per step of the vocabulary scan (32 MiB of uint16)


class TokenData:
    """Train and validation token ids with their tokenizer; samples training batches."""

    def __init__(
        self,
        train: np.ndarray,
        val: np.ndarray,
        tokenizer: Tokenizer,
        meta: dict[str, Any],
        source: str,
        files: dict[str, str] | None = None,
    ) -> None:
        """Wrap 1-D uint16 id arrays (or memmaps); ``source`` names them in errors, and
        ``files`` (``train``, ``val``, ``meta``, ``tokenizer``: paths) their files."""
        self.splits = {"train": train, "val": val}
        self.tokenizer = tokenizer
        self.meta = meta
        self.source = source
        self.files = files or {}
        meta_file = self.files.get("meta", f"{source} meta")
        tokenizer_file = self.files.get("tokenizer", f"{source} tokenizer")
        if int(meta["vocab_size"]) != tokenizer.vocab_size:
            raise ValueError(
                f"{meta_file}: vocab mismatch: meta.json says vocab_size {meta['vocab_size']}, "
                f"the tokenizer ({tokenizer_file}) has {tokenizer.vocab_size}"
            )
        if int(meta["eot_id"]) != tokenizer.eot_id:
            raise ValueError(
                f"{meta_file}: meta.json says eot_id {meta['eot_id']}, the tokenizer "
                f"({tokenizer_file}) has {tokenizer.eot_id}"
            )
        for name, ids in self.splits.items():
            top = _max_id(ids)
            if top is not None and top >= self.vocab_size:
                raise ValueError(
                    f"{self.describe(name)}: vocab mismatch: {name} holds token id {top} "
                    f">= vocab_size {self.vocab_size} of {tokenizer_file} (token files and "
                    "tokenizer from different preparations?)"
                )

    def describe(self, split: str) -> str:
        """The file holding ``split`` (or the source's name when it is in memory)."""
        return self.files.get(split, f"{self.source} ({split})")

    @classmethod
    def open(cls, path: str | Path) -> TokenData:
        """Open a directory written by ``prepare``; ``ValueError`` naming what is wrong."""
        path = Path(path)
        if not path.is_dir():
            raise ValueError(
                f"data directory {path} does not exist (make one with "
                "`python -m trainables.lm.prepare`, or use data: builtin)"
            )
        needed = [*SPLIT_FILES.values(), META_FILE, TOKENIZER_FILE]
        missing = [name for name in needed if not (path / name).is_file()]
        if missing:
            raise ValueError(
                f"data directory {path} lacks {', '.join(missing)} (incomplete or not "
                "made by `python -m trainables.lm.prepare`)"
            )
        meta = _read_meta(path / META_FILE)
        arrays = {}
        for split, name in SPLIT_FILES.items():
            file = path / name
            size = file.stat().st_size
            expected = meta.get(f"{split}_tokens")
            if size % 2 or (expected is not None and size != 2 * int(expected)):
                raise ValueError(
                    f"{file}: {size} bytes, but meta.json says {expected} uint16 tokens "
                    "(truncated or from another preparation)"
                )
            arrays[split] = (
                np.memmap(file, dtype="<u2", mode="r") if size else np.zeros(0, dtype="<u2")
            )
        files = {split: str(path / name) for split, name in SPLIT_FILES.items()}
        files.update(meta=str(path / META_FILE), tokenizer=str(path / TOKENIZER_FILE))
        return cls(arrays["train"], arrays["val"], load_tokenizer(path), meta, str(path), files)

    @property
    def vocab_size(self) -> int:
        """Size of the vocabulary (every id is below it)."""
        return self.tokenizer.vocab_size

    @property
    def eot_id(self) -> int:
        """The id of ``<|endoftext|>`` (separates stories)."""
        return self.tokenizer.eot_id

    def tokens(self, split: str) -> np.ndarray:
        """All ids of ``split`` (``train`` or ``val``) as a 1-D uint16 array or memmap."""
        if split not in self.splits:
            raise ValueError(f"unknown split {split!r}; allowed: train, val")
        return self.splits[split]

    def get_batch(
        self, split: str, batch_size: int, context: int, generator: torch.Generator
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``batch_size`` random windows of ``split``: inputs x and targets y, (B, T) int64.

        ``y`` is ``x`` shifted by one token. Start positions come from ``generator``
        alone (uniform over the split; windows may cross story boundaries).
        """
        ids = self.tokens(split)
        if batch_size < 1 or context < 1:
            raise ValueError(f"batch_size and context must be >= 1; got {batch_size}, {context}")
        if len(ids) < context + 1:
            raise ValueError(
                f"{self.source}: the {split} split has {len(ids)} tokens, fewer than "
                f"context + 1 = {context + 1}; use a smaller context or more text"
            )
        starts = torch.randint(0, len(ids) - context, (batch_size,), generator=generator)
        index = starts.numpy()[:, None] + np.arange(context + 1)  # (B, T + 1)
        window = torch.from_numpy(np.array(ids[index], dtype=np.int64))
        return window[:, :-1].contiguous(), window[:, 1:].contiguous()

    def check_for_training(self, context: int, vocab_size: int = 0) -> None:
        """Raise a one-line ``ValueError`` naming the file unless a model with ``context``
        and ``vocab_size`` (0: the data's) can train and evaluate on this data."""
        if vocab_size and vocab_size < self.vocab_size:
            tokenizer_file = self.files.get("tokenizer", self.source)
            raise ValueError(
                f"{tokenizer_file}: vocab mismatch: the tokenizer has {self.vocab_size} tokens "
                f"but the model's vocab_size is {vocab_size}; set vocab_size to 0 (the "
                f"data's) or at least {self.vocab_size}"
            )
        for split, ids in self.splits.items():
            if len(ids) < context + 1:
                problem = "is empty" if not len(ids) else f"has only {len(ids)} tokens"
                raise ValueError(
                    f"{self.describe(split)}: the {split} split {problem}, fewer than "
                    f"context + 1 = {context + 1}; prepare more text (for val: a larger "
                    "--val-fraction or --val-input) or use a smaller context"
                )

    def __repr__(self) -> str:
        counts = ", ".join(f"{k}={len(v):,}" for k, v in self.splits.items())
        return (
            f"TokenData({self.source!r}, {self.tokenizer.kind}, vocab={self.vocab_size}, {counts})"
        )


def _max_id(ids: np.ndarray) -> int | None:
    """The largest id in ``ids`` (``None`` if empty), read in chunks: a memmap is scanned
    once, never loaded whole."""
    top = None
    for start in range(0, len(ids), _SCAN_CHUNK):
        chunk_max = int(np.asarray(ids[start : start + _SCAN_CHUNK]).max())
        top = chunk_max if top is None else max(top, chunk_max)
    return top


def _read_meta(file: Path) -> dict[str, Any]:
    try:
        meta = json.loads(file.read_text())
        meta["vocab_size"], meta["eot_id"] = int(meta["vocab_size"]), int(meta["eot_id"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"{file}: unreadable meta: {exc!r}") from exc
    if meta.get("dtype", "uint16") != "uint16":
        raise ValueError(f"{file}: dtype must be uint16; got {meta['dtype']!r}")
    return meta


@functools.lru_cache(maxsize=8)
def builtin_data(
    vocab: str = "byte",
    n_stories: int = 4000,
    seed: int = 0,
    vocab_size: int = 512,
    val_fraction: float = 0.05,
    cache_dir: str | None = None,
) -> TokenData:
    """The built-in corpus (``builtin_stories(n_stories, seed)``), tokenized.

    ``vocab="byte"``: in memory (about 0.5 MB per 1000 stories). ``vocab="bpe"``: a
    ``vocab_size`` BPE trained on the training stories, prepared once into a directory
    under ``cache_dir`` (default: the system temp directory) named by a hash of the
    text and parameters, then memory-mapped. The last ``val_fraction`` of the stories
    is the validation split. Results are cached per process.
    """
    if vocab not in ("byte", "bpe"):
        raise ValueError(f"builtin_data: vocab must be byte or bpe; got {vocab!r}")
    if n_stories < 2:
        raise ValueError(f"builtin_data: n_stories must be >= 2; got {n_stories}")
    stories = builtin_stories(n_stories, seed)
    n_val = val_count(n_stories, val_fraction) or 1
    train, val = stories[:-n_val], stories[-n_val:]
    name = f"builtin:{vocab}(n_stories={n_stories}, seed={seed})"
    if vocab == "byte":
        tokenizer = ByteTokenizer()
        arrays = [encode_documents(tokenizer, docs) for docs in (train, val)]
        meta = {
            "format": 1,
            "tokenizer": "byte",
            "vocab_size": tokenizer.vocab_size,
            "eot_id": tokenizer.eot_id,
            "dtype": "uint16",
            "train_tokens": len(arrays[0]),
            "val_tokens": len(arrays[1]),
            "train_documents": len(train),
            "val_documents": len(val),
            "sources": [name],
        }
        for arr in arrays:
            arr.flags.writeable = False
        return TokenData(arrays[0], arrays[1], tokenizer, meta, name)
    key = hashlib.sha256(f"{EOT.join(stories)}|{vocab_size}|{n_val}".encode()).hexdigest()[:16]
    root = Path(cache_dir or Path(tempfile.gettempdir()) / "tune-jobs-lm")
    target = root / f"builtin-bpe{vocab_size}-{key}"
    if not (target / META_FILE).is_file():
        root.mkdir(parents=True, exist_ok=True)
        scratch = Path(tempfile.mkdtemp(prefix=f"{target.name}.tmp-", dir=root))
        try:
            tokenizer = train_bpe(train, vocab_size, length=len(train))
            prepare_documents(scratch, train, val, tokenizer, sources=[name])
            os.replace(scratch, target)  # atomic; another process may have won the race
        except OSError:
            if not (target / META_FILE).is_file():
                raise
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    return TokenData.open(target)


def open_training_data(source: str, context: int, vocab_size: int = 0) -> TokenData:
    """``open_data(source)``, checked for a model with ``context`` and ``vocab_size``
    (0: the data's) before anything is built: one-line ``ValueError`` naming the file."""
    data = open_data(source)
    data.check_for_training(context, vocab_size)
    return data


def check_data(source: str, context: int, vocab_size: int = 0) -> None:
    """Check the data a config names without keeping it (``open_training_data``'s
    checks): for ``tune-jobs validate`` and other checks before a sweep."""
    open_training_data(source, context, vocab_size)


def open_data(source: str) -> TokenData:
    """Data named by a config's ``data`` key: a prepared directory or ``builtin``.

    ``builtin`` (= ``builtin:byte``) and ``builtin:bpe`` are the built-in corpus. A
    relative directory is resolved against the directory Ray Tune started in
    (``TUNE_ORIG_WORKING_DIR``), since trials run inside their own trial directories.
    """
    if source in ("builtin", "builtin:byte"):
        return builtin_data("byte")
    if source == "builtin:bpe":
        return builtin_data("bpe")
    path = Path(source).expanduser()
    if not path.is_absolute():
        path = Path(os.environ.get("TUNE_ORIG_WORKING_DIR", os.getcwd())) / path
    return TokenData.open(path)
