"""Tokenizers for the ``lm`` trainable: byte-level, or a byte-level BPE trained locally.

Both sit behind ``Tokenizer``: ``encode``/``decode`` (decoding what was encoded gives
the text back exactly, any unicode included), ``vocab_size``, ``eot_id`` (the id of
``<|endoftext|>``, which also marks story boundaries in the token files) and ``save``.
The literal text ``<|endoftext|>`` encodes to ``eot_id`` in both.

``save(dir)`` writes ``dir/tokenizer.json``: for BPE the HuggingFace ``tokenizers``
file (usable with that library directly), for bytes a small ``{"kind": "byte"}`` file.
``load_tokenizer(dir)`` reads either. Nothing is ever downloaded.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "EOT",
    "TOKENIZER_FILE",
    "BPETokenizer",
    "ByteTokenizer",
    "Tokenizer",
    "load_tokenizer",
    "train_bpe",
]

EOT = "<|endoftext|>"
"""The special end-of-text token; separates stories."""
TOKENIZER_FILE = "tokenizer.json"
"""The file ``save`` writes and ``load_tokenizer`` reads."""


class Tokenizer(ABC):
    """Text <-> token ids, with one special token ``<|endoftext|>``."""

    kind: str
    """``byte`` or ``bpe``."""

    @property
    @abstractmethod
    def vocab_size(self) -> int:
        """Number of token ids (all ids are in ``[0, vocab_size)``)."""

    @property
    @abstractmethod
    def eot_id(self) -> int:
        """The id of ``<|endoftext|>``."""

    @abstractmethod
    def encode(self, text: str) -> list[int]:
        """Token ids of ``text``; a literal ``<|endoftext|>`` becomes ``eot_id``."""

    @abstractmethod
    def decode(self, ids: Iterable[int]) -> str:
        """The text of ``ids`` (``eot_id`` decodes to ``<|endoftext|>``)."""

    @abstractmethod
    def save(self, directory: str | Path) -> Path:
        """Write ``directory/tokenizer.json`` (creating the directory); returns its path."""

    def encode_batch(self, texts: list[str]) -> list[list[int]]:
        """``encode`` of each text (BPE encodes in parallel)."""
        return [self.encode(t) for t in texts]

    def __repr__(self) -> str:
        return f"{type(self).__name__}(vocab_size={self.vocab_size}, eot_id={self.eot_id})"


class ByteTokenizer(Tokenizer):
    """UTF-8 bytes as ids 0..255, plus ``<|endoftext|>`` as id 256 (vocab_size 257)."""

    kind = "byte"

    @property
    def vocab_size(self) -> int:
        """257: the 256 byte values and ``<|endoftext|>``."""
        return 257

    @property
    def eot_id(self) -> int:
        """256."""
        return 256

    def encode(self, text: str) -> list[int]:
        """The UTF-8 bytes of ``text``, with each ``<|endoftext|>`` as 256."""
        ids: list[int] = []
        for i, part in enumerate(text.split(EOT)):
            if i:
                ids.append(self.eot_id)
            ids.extend(part.encode("utf-8"))
        return ids

    def decode(self, ids: Iterable[int]) -> str:
        """UTF-8 text of the byte ids (invalid sequences decode to U+FFFD)."""
        arr = np.fromiter(ids, dtype=np.int64)
        bad = arr[(arr < 0) | (arr > self.eot_id)]
        if bad.size:
            raise ValueError(f"ByteTokenizer: token id {bad[0]} outside [0, 257)")
        pieces = np.split(arr, np.flatnonzero(arr == self.eot_id))  # later pieces start at EOT
        texts = [pieces[0].astype(np.uint8).tobytes().decode("utf-8", errors="replace")]
        texts += [
            p[1:].astype(np.uint8).tobytes().decode("utf-8", errors="replace") for p in pieces[1:]
        ]
        return EOT.join(texts)

    def save(self, directory: str | Path) -> Path:
        """Write ``{"kind": "byte", ...}`` to ``directory/tokenizer.json``."""
        path = Path(directory) / TOKENIZER_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        meta = {"kind": "byte", "vocab_size": self.vocab_size, "eot": EOT, "eot_id": self.eot_id}
        path.write_text(json.dumps(meta, indent=2) + "\n")
        return path


class BPETokenizer(Tokenizer):
    """A HuggingFace ``tokenizers`` byte-level BPE with ``<|endoftext|>`` as a special token."""

    kind = "bpe"

    def __init__(self, hf_tokenizer: Any) -> None:
        """Wrap a ``tokenizers.Tokenizer`` that knows ``<|endoftext|>``."""
        eot = hf_tokenizer.token_to_id(EOT)
        if eot is None:
            raise ValueError(f"BPETokenizer: the tokenizer has no {EOT} token")
        self.hf = hf_tokenizer
        self._eot_id = int(eot)

    @property
    def vocab_size(self) -> int:
        """Tokens in the trained vocabulary, the special token included."""
        return int(self.hf.get_vocab_size(with_added_tokens=True))

    @property
    def eot_id(self) -> int:
        """The id of ``<|endoftext|>`` (0 for tokenizers from ``train_bpe``)."""
        return self._eot_id

    def encode(self, text: str) -> list[int]:
        """BPE ids of ``text``."""
        return list(self.hf.encode(text).ids)

    def encode_batch(self, texts: list[str]) -> list[list[int]]:
        """BPE ids of each text, encoded in parallel by ``tokenizers``."""
        return [list(e.ids) for e in self.hf.encode_batch(texts)]

    def decode(self, ids: Iterable[int]) -> str:
        """The text of ``ids``, special tokens kept."""
        return str(self.hf.decode(list(ids), skip_special_tokens=False))

    def save(self, directory: str | Path) -> Path:
        """Write the ``tokenizers`` JSON file to ``directory/tokenizer.json``."""
        path = Path(directory) / TOKENIZER_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        self.hf.save(str(path))
        return path


def _import_tokenizers() -> Any:
    try:
        import tokenizers
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "the BPE tokenizer needs the `tokenizers` package: pip install tokenizers"
        ) from exc
    return tokenizers


def train_bpe(
    texts: Iterable[str], vocab_size: int, length: int | None = None, show_progress: bool = False
) -> BPETokenizer:
    """Train a byte-level BPE with ``vocab_size`` tokens on ``texts``, locally.

    ``length`` (the number of texts, when known) sizes the progress bar. The vocabulary
    may come out smaller than ``vocab_size`` on a small corpus (no merges left).
    """
    if not 257 <= vocab_size <= 65536:
        raise ValueError(f"train_bpe: vocab_size must be in [257, 65536]; got {vocab_size}")
    tk = _import_tokenizers()
    hf = tk.Tokenizer(tk.models.BPE())
    hf.pre_tokenizer = tk.pre_tokenizers.ByteLevel(add_prefix_space=False)
    hf.decoder = tk.decoders.ByteLevel()
    trainer = tk.trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=[EOT],
        initial_alphabet=tk.pre_tokenizers.ByteLevel.alphabet(),
        show_progress=show_progress,
    )
    hf.train_from_iterator(_without_eot(texts), trainer=trainer, length=length)
    return BPETokenizer(hf)


def _without_eot(texts: Iterable[str]) -> Iterator[str]:
    """Texts with ``<|endoftext|>`` removed, so it never takes part in merges."""
    for text in texts:
        yield from text.split(EOT)


def load_tokenizer(directory: str | Path) -> Tokenizer:
    """The tokenizer ``save`` wrote to ``directory``; ``ValueError`` naming the path if none."""
    path = Path(directory) / TOKENIZER_FILE
    if not path.is_file():
        raise ValueError(f"no tokenizer at {path} (expected a file written by Tokenizer.save)")
    try:
        meta = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ValueError(f"unreadable tokenizer file {path}: {exc}") from exc
    if isinstance(meta, dict) and meta.get("kind") == "byte":
        return ByteTokenizer()
    if isinstance(meta, dict) and isinstance(meta.get("model"), dict):
        try:
            hf = _import_tokenizers().Tokenizer.from_file(str(path))
        except Exception as exc:  # tokenizers raises plain Exception on a bad file
            detail = " ".join(str(exc).split())[:200]
            raise ValueError(f"{path}: not a valid `tokenizers` BPE file ({detail})") from None
        try:
            return BPETokenizer(hf)
        except ValueError as exc:
            raise ValueError(f"{path}: {exc}") from None
    raise ValueError(f"{path}: neither a byte tokenizer nor a `tokenizers` BPE file")
