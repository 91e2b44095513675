"""Turn text files into the token files the ``lm`` trainable reads. Nothing is downloaded.

    python -m trainables.lm.prepare TinyStoriesV2-GPT4-train.txt --out data/tinystories \\
        --tokenizer bpe --vocab-size 10000 --val-input TinyStoriesV2-GPT4-valid.txt
    python -m trainables.lm.prepare --builtin 20000 --out data/builtin

Input is TinyStories format: stories separated by ``<|endoftext|>``; each story is
stripped of surrounding whitespace and empty ones are dropped (a file without the
separator is one story). The validation split is ``--val-input``, or else the last
``--val-fraction`` of the stories. Output, in ``--out``: ``train.bin`` and ``val.bin``
(little-endian uint16 ids; the stories of a split joined by ``<|endoftext|>``),
``tokenizer.json`` and ``meta.json`` (written last: a directory without it is incomplete).
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from trainables.lm.tokenizer import EOT, ByteTokenizer, Tokenizer, train_bpe

__all__ = [
    "META_FILE",
    "SPLIT_FILES",
    "count_documents",
    "encode_documents",
    "iter_documents",
    "main",
    "prepare_documents",
    "val_count",
]

META_FILE = "meta.json"
"""Vocabulary, tokenizer kind and token counts of a prepared directory."""
SPLIT_FILES = {"train": "train.bin", "val": "val.bin"}
"""Token file of each split."""
_DTYPE = np.dtype("<u2")
_BATCH = 1024  # stories per encode call
_CHUNK = 1 << 20  # characters per read


def iter_documents(paths: Iterable[str | Path]) -> Iterator[str]:
    """The stories of the files in order: split on ``<|endoftext|>``, stripped, non-empty.

    Streams: memory stays bounded by the longest story, not the file size.
    """
    for path in paths:
        with open(path, encoding="utf-8", newline="") as f:
            buffer = ""
            while chunk := f.read(_CHUNK):
                parts = (buffer + chunk).split(EOT)
                buffer = parts.pop()
                yield from (s for p in parts if (s := p.strip()))
            if tail := buffer.strip():
                yield tail


def count_documents(paths: Iterable[str | Path]) -> int:
    """How many stories ``iter_documents`` yields (one pass over the files)."""
    return sum(1 for _ in iter_documents(paths))


def val_count(n_documents: int, val_fraction: float) -> int:
    """Stories for validation: ``round(n * fraction)``, at least 1, leaving at least 1."""
    if not 0 <= val_fraction < 1:
        raise ValueError(f"val_fraction must be in [0, 1); got {val_fraction}")
    if val_fraction == 0 or n_documents < 2:
        return 0
    return min(n_documents - 1, max(1, round(n_documents * val_fraction)))


def _encode_batch(tokenizer: Tokenizer, docs: list[str]) -> list[np.ndarray]:
    if isinstance(tokenizer, ByteTokenizer):  # fast path: the ids are the UTF-8 bytes
        return [np.frombuffer(d.encode("utf-8"), dtype=np.uint8) for d in docs]
    return [np.asarray(ids, dtype=np.int64) for ids in tokenizer.encode_batch(docs)]


def encode_documents(tokenizer: Tokenizer, docs: Iterable[str]) -> np.ndarray:
    """All of ``docs`` as one uint16 array, joined by ``eot_id`` (in memory)."""
    parts: list[np.ndarray] = []
    eot = np.array([tokenizer.eot_id], dtype=_DTYPE)
    for batch in _batches(docs):
        for arr in _encode_batch(tokenizer, batch):
            if parts:
                parts.append(eot)
            parts.append(arr.astype(_DTYPE))
    return np.concatenate(parts) if parts else np.zeros(0, dtype=_DTYPE)


def _batches(docs: Iterable[str]) -> Iterator[list[str]]:
    it = iter(docs)
    while batch := list(itertools.islice(it, _BATCH)):
        yield batch


class _Progress:
    """tqdm when installed, else a counter on stderr every 10,000 stories."""

    def __init__(self, total: int | None, enabled: bool) -> None:
        self.count, self.enabled, self.bar = 0, enabled, None
        if enabled:
            try:
                from tqdm import tqdm

                self.bar = tqdm(total=total, unit=" stories", desc="encode", file=sys.stderr)
            except ImportError:
                pass

    def update(self, n: int) -> None:
        self.count += n
        if self.bar is not None:
            self.bar.update(n)
        elif self.enabled and self.count // 10_000 > (self.count - n) // 10_000:
            print(f"encoded {self.count:,} stories", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def prepare_documents(
    out: str | Path,
    train_docs: Iterable[str],
    val_docs: Iterable[str],
    tokenizer: Tokenizer,
    sources: Sequence[str] = (),
    total: int | None = None,
    progress: bool = False,
) -> dict[str, Any]:
    """Encode ``train_docs`` then ``val_docs`` into ``out``; returns the meta written.

    Writes ``train.bin``, ``val.bin``, ``tokenizer.json`` and finally ``meta.json``.
    ``val_docs`` may continue the same iterator as ``train_docs`` (it is read after).
    ``total`` (stories in both) sizes the progress bar.
    """
    if tokenizer.vocab_size > 65536:
        raise ValueError(f"vocab_size {tokenizer.vocab_size} does not fit uint16 token files")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / META_FILE).unlink(missing_ok=True)
    eot = np.array([tokenizer.eot_id], dtype=_DTYPE)
    meta: dict[str, Any] = {
        "format": 1,
        "tokenizer": tokenizer.kind,
        "vocab_size": tokenizer.vocab_size,
        "eot_id": tokenizer.eot_id,
        "dtype": "uint16",
    }
    bar = _Progress(total, progress)
    try:
        for split, docs in (("train", train_docs), ("val", val_docs)):
            tokens = documents = 0
            with open(out / SPLIT_FILES[split], "wb") as f:
                for batch in _batches(docs):
                    parts: list[np.ndarray] = []
                    for arr in _encode_batch(tokenizer, batch):
                        if documents:
                            parts.append(eot)
                        parts.append(arr.astype(_DTYPE))
                        documents += 1
                    data = np.concatenate(parts)
                    f.write(data.tobytes())
                    tokens += data.size
                    bar.update(len(batch))
            meta[f"{split}_tokens"], meta[f"{split}_documents"] = tokens, documents
    finally:
        bar.close()
    meta["sources"] = list(sources)
    tokenizer.save(out)
    (out / META_FILE).write_text(json.dumps(meta, indent=2) + "\n")
    return meta


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m trainables.lm.prepare",
        description="Tokenize text files (stories separated by <|endoftext|>) into "
        "train.bin/val.bin/meta.json for the lm trainable. Nothing is downloaded.",
    )
    p.add_argument("inputs", nargs="*", metavar="INPUT", help="text files (UTF-8)")
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--tokenizer", choices=("byte", "bpe"), default="byte")
    p.add_argument("--vocab-size", type=int, help="BPE vocabulary size (default 10000)")
    p.add_argument("--val-fraction", type=float, default=0.01, help="last stories held out")
    p.add_argument("--val-input", nargs="+", metavar="FILE", help="validation files instead")
    p.add_argument("--builtin", type=int, metavar="N", help="N generated stories, not INPUT")
    p.add_argument("--pydoc", action="store_true", help="Python's help topics, not INPUT")
    p.add_argument("--seed", type=int, default=0, help="seed of --builtin stories")
    p.add_argument("--overwrite", action="store_true", help="replace an existing output")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def _fail(message: str) -> int:
    print(f"prepare: error: {message}", file=sys.stderr)
    return 2


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (2 for usage and input errors)."""
    from trainables.lm.corpus import builtin_stories, pydoc_documents

    args = _parser().parse_args(argv)
    out = Path(args.out)
    given = sum((bool(args.inputs), args.builtin is not None, args.pydoc))
    if given != 1:
        return _fail("give exactly one of INPUT files, --builtin N or --pydoc")
    if args.vocab_size is not None and args.tokenizer != "bpe":
        return _fail("--vocab-size needs --tokenizer bpe")
    vocab_size = 10000 if args.vocab_size is None else args.vocab_size
    if args.tokenizer == "bpe" and not 257 <= vocab_size <= 65536:
        return _fail(f"--vocab-size must be in [257, 65536]; got {vocab_size}")
    if not 0 <= args.val_fraction < 1:
        return _fail(f"--val-fraction must be in [0, 1); got {args.val_fraction}")
    if args.builtin is not None and args.builtin < 1:
        return _fail(f"--builtin needs at least 1 story; got {args.builtin}")
    for path in [*args.inputs, *(args.val_input or [])]:
        if not Path(path).is_file():
            return _fail(f"input file not found: {path}")
    if (out / META_FILE).exists() and not args.overwrite:
        return _fail(f"{out} already holds prepared data (use --overwrite to replace it)")

    stories: list[str] | None = None  # in memory (--builtin, --pydoc); files stream
    if args.pydoc:
        stories, sources = pydoc_documents(), ["pydoc_data.topics"]
    elif args.builtin is not None:
        stories = builtin_stories(args.builtin, args.seed)
        sources = [f"builtin_stories(n_stories={args.builtin}, seed={args.seed})"]
    else:
        sources = [str(Path(p).resolve()) for p in args.inputs]
    try:
        n_docs = len(stories) if stories is not None else count_documents(args.inputs)
        n_val = count_documents(args.val_input) if args.val_input else 0
    except UnicodeDecodeError as exc:
        return _fail(f"input is not UTF-8 text: {exc}")
    docs = iter(stories) if stories is not None else iter_documents(args.inputs)
    if args.val_input:
        n_train, val_docs = n_docs, iter_documents(args.val_input)
        sources += [f"val:{Path(p).resolve()}" for p in args.val_input]
    else:
        n_val = val_count(n_docs, args.val_fraction)
        n_train, val_docs = n_docs - n_val, docs  # val continues after the train stories
    if n_train == 0:
        return _fail("no stories in the input")
    if args.val_input and n_val == 0:
        return _fail(f"no stories in the --val-input file(s): {', '.join(args.val_input)}")
    if n_val == 0 and args.val_fraction > 0 and not args.val_input:
        return _fail(f"only {n_docs} story: give --val-input FILE or --val-fraction 0")

    tokenizer: Tokenizer = ByteTokenizer()
    if args.tokenizer == "bpe":
        texts = iter(stories) if stories is not None else iter_documents(args.inputs)
        print(f"training BPE ({vocab_size} tokens) on {n_train:,} stories", file=sys.stderr)
        tokenizer = train_bpe(
            itertools.islice(texts, n_train), vocab_size, n_train, show_progress=not args.quiet
        )
    meta = prepare_documents(
        out,
        itertools.islice(docs, n_train),
        val_docs,
        tokenizer,
        sources=sources,
        total=n_train + n_val,
        progress=not args.quiet,
    )
    print(
        f"wrote {out}: train {meta['train_tokens']:,} tokens ({meta['train_documents']:,} "
        f"stories), val {meta['val_tokens']:,} tokens ({meta['val_documents']:,} stories), "
        f"vocab {meta['vocab_size']:,} ({meta['tokenizer']})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
