"""LM data: tokenizers, the built-in corpus, ``prepare`` (API and CLI), ``TokenData``."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.conftest import REPO
from trainables.lm.corpus import builtin_stories, pydoc_documents, pydoc_text
from trainables.lm.data import TokenData, builtin_data, open_data
from trainables.lm.prepare import iter_documents, main, val_count
from trainables.lm.tokenizer import (
    EOT,
    BPETokenizer,
    ByteTokenizer,
    Tokenizer,
    load_tokenizer,
    train_bpe,
)

TEXTS = [
    "",
    "Once upon a time, there was a cat.",
    "  leading and trailing spaces \t\n\n",
    "Héllo wörld, naïve café — “quotes” 🐱🚀 日本語のテキスト, emoji 👩‍👩‍👧",
    f"one{EOT}two {EOT}{EOT}\r\nthree",
]
STORIES = [
    "Once upon a time, there was a little girl named Lily.\nShe loved her red ball.",
    'Tom said, "Look! A big dog!" 🐶 The dog was happy.',
    "Naïve Zoë met a café owner.\r\nThey shared a croissant — 日本語 too.",
    "The end.",
    "A short one about a frog who liked to jump and jump and jump.",
]


@pytest.fixture(scope="module")
def bpe() -> BPETokenizer:
    return train_bpe(builtin_stories(200, seed=5) + TEXTS, vocab_size=400)


def _corpus(path: Path) -> Path:
    """TinyStories format: separators on their own lines, blank stories in between."""
    path.write_text("\n<|endoftext|>\n".join([*STORIES[:2], "  \n", *STORIES[2:]]) + "\n")
    return path


@pytest.mark.parametrize("kind", ["byte", "bpe"])
def test_tokenizer_round_trip(kind: str, bpe: BPETokenizer, tmp_path: Path) -> None:
    tok: Tokenizer = ByteTokenizer() if kind == "byte" else bpe
    for text in TEXTS:
        ids = tok.encode(text)
        assert all(0 <= i < tok.vocab_size for i in ids)
        assert tok.decode(ids) == text
    assert tok.encode(EOT) == [tok.eot_id]
    assert tok.encode_batch(TEXTS) == [tok.encode(t) for t in TEXTS]
    tok.save(tmp_path)
    loaded = load_tokenizer(tmp_path)
    assert (loaded.kind, loaded.vocab_size, loaded.eot_id) == (kind, tok.vocab_size, tok.eot_id)
    assert [loaded.encode(t) for t in TEXTS] == [tok.encode(t) for t in TEXTS]


def test_byte_tokenizer_ids() -> None:
    tok = ByteTokenizer()
    assert (tok.vocab_size, tok.eot_id) == (257, 256)
    assert tok.encode(f"é{EOT}a") == [0xC3, 0xA9, 256, 97]
    with pytest.raises(ValueError, match="257"):
        tok.decode([257])


def test_bpe_tokenizer(bpe: BPETokenizer) -> None:
    assert bpe.vocab_size == 400 and bpe.eot_id == 0
    story = builtin_stories(1, seed=99)[0]
    assert len(bpe.encode(story)) < len(story.encode()) / 2  # merges learned
    with pytest.raises(ValueError, match="vocab_size"):
        train_bpe(["text"], vocab_size=100)


def test_load_tokenizer_errors(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=str(tmp_path)):
        load_tokenizer(tmp_path)
    (tmp_path / "tokenizer.json").write_text('{"kind": "mystery"}')
    with pytest.raises(ValueError, match="neither"):
        load_tokenizer(tmp_path)


def test_builtin_stories_deterministic() -> None:
    stories = builtin_stories(50, seed=3)
    assert stories == builtin_stories(50, seed=3)
    assert builtin_stories(10, seed=3) == stories[:10]  # story i depends on (seed, i) only
    assert stories != builtin_stories(50, seed=4)
    assert len(set(stories)) == 50
    assert all(EOT not in s and s == s.strip() and len(s) > 200 for s in stories)
    assert builtin_stories(0) == []


def test_pydoc_text() -> None:
    docs = pydoc_documents()
    text = pydoc_text()
    assert len(docs) > 50 and len(text) > 100_000
    assert "Python" in text and EOT not in text


def test_iter_documents_and_val_count(tmp_path: Path) -> None:
    corpus = _corpus(tmp_path / "a.txt")
    assert list(iter_documents([corpus, corpus])) == STORIES + STORIES
    assert [val_count(n, 0.01) for n in (0, 1, 2, 100, 1000)] == [0, 0, 1, 1, 10]
    assert val_count(5, 0.0) == 0 and val_count(5, 0.99) == 4


@pytest.mark.parametrize("kind", ["byte", "bpe"])
def test_prepare_round_trip(kind: str, tmp_path: Path) -> None:
    corpus = _corpus(tmp_path / "stories.txt")
    args = [str(corpus), "--out", str(tmp_path / "out"), "--val-fraction", "0.4", "--quiet"]
    if kind == "bpe":
        args += ["--tokenizer", "bpe", "--vocab-size", "300"]
    assert main(args) == 0
    meta = json.loads((tmp_path / "out" / "meta.json").read_text())
    assert (meta["train_documents"], meta["val_documents"]) == (3, 2)
    data = TokenData.open(tmp_path / "out")
    assert data.tokenizer.kind == kind and data.vocab_size == meta["vocab_size"]
    train = np.fromfile(tmp_path / "out" / "train.bin", dtype="<u2")
    assert len(train) == meta["train_tokens"]
    assert data.tokenizer.decode(train.tolist()) == EOT.join(STORIES[:3])
    assert data.tokenizer.decode(data.tokens("val").tolist()) == EOT.join(STORIES[3:])
    assert int(np.sum(data.tokens("train") == data.eot_id)) == 2


def test_prepare_val_input_and_builtin(tmp_path: Path) -> None:
    corpus = _corpus(tmp_path / "train.txt")
    val = tmp_path / "val.txt"
    val.write_text("A validation story.\n<|endoftext|>\nAnother one.\n")
    args = [str(corpus), "--val-input", str(val), "--out", str(tmp_path / "a"), "--quiet"]
    assert main(args) == 0
    data = TokenData.open(tmp_path / "a")
    assert data.tokenizer.decode(data.tokens("train").tolist()) == EOT.join(STORIES)
    assert (
        data.tokenizer.decode(data.tokens("val").tolist())
        == f"A validation story.{EOT}Another one."
    )

    assert main(["--builtin", "20", "--seed", "2", "--out", str(tmp_path / "b"), "--quiet"]) == 0
    data = TokenData.open(tmp_path / "b")
    stories = builtin_stories(20, seed=2)
    assert data.tokenizer.decode(data.tokens("train").tolist()) == EOT.join(stories[:19])
    assert data.tokenizer.decode(data.tokens("val").tolist()) == stories[19]


def test_prepare_cli(tmp_path: Path) -> None:
    corpus = _corpus(tmp_path / "stories.txt")
    out = tmp_path / "out"

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "trainables.lm.prepare", *args]
        return subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=120)

    done = cli(str(corpus), "--out", str(out), "--tokenizer", "bpe", "--vocab-size", "280")
    assert done.returncode == 0, done.stderr
    assert "wrote" in done.stdout and "(bpe)" in done.stdout
    assert TokenData.open(out).vocab_size <= 280
    missing = cli(str(tmp_path / "nope.txt"), "--out", str(tmp_path / "x"))
    assert missing.returncode == 2
    assert missing.stderr.strip().splitlines() == [
        f"prepare: error: input file not found: {tmp_path / 'nope.txt'}"
    ]
    assert not (tmp_path / "x").exists()


def test_prepare_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    corpus = _corpus(tmp_path / "stories.txt")
    out = str(tmp_path / "out")
    assert main([str(corpus), "--out", out, "--quiet"]) == 0
    capsys.readouterr()
    cases = {
        "--overwrite": [str(corpus), "--out", out],
        "exactly one of": ["--out", str(tmp_path / "y")],
        "needs --tokenizer bpe": [str(corpus), "--out", str(tmp_path / "z"), "--vocab-size", "300"],
        "--val-fraction 0": ["--builtin", "1", "--out", str(tmp_path / "w")],
    }
    for message, args in cases.items():
        assert main(args) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and message in err[0], err
    assert main([str(corpus), "--out", out, "--overwrite", "--quiet"]) == 0


def test_get_batch_shapes_shift_and_determinism() -> None:
    data = builtin_data("byte", n_stories=100, seed=1)
    gen = torch.Generator().manual_seed(0)
    state = gen.get_state()
    x, y = data.get_batch("train", 8, 32, gen)
    assert x.shape == y.shape == (8, 32) and x.dtype == y.dtype == torch.int64
    assert torch.equal(x[:, 1:], y[:, :-1])
    windows = np.lib.stride_tricks.sliding_window_view(np.asarray(data.tokens("train")), 33)
    for row in torch.cat([x, y[:, -1:]], dim=1).numpy():  # each (x, y): one window of the data
        assert (windows == row).all(axis=1).any()
    later = [data.get_batch("train", 8, 32, gen) for _ in range(3)]
    gen.set_state(state)
    replay = [data.get_batch("train", 8, 32, gen) for _ in range(4)]
    for (a, b), (c, d) in zip([(x, y), *later], replay, strict=True):
        assert torch.equal(a, c) and torch.equal(b, d)
    vx, _ = data.get_batch("val", 2, 16, torch.Generator().manual_seed(0))
    assert int(vx.max()) < data.vocab_size


def test_builtin_data(tmp_path: Path) -> None:
    data = open_data("builtin")
    assert data is open_data("builtin:byte") and data.vocab_size == 257
    assert len(data.tokens("val")) > 10_000 and len(data.tokens("train")) > 1_000_000
    uncached = builtin_data.__wrapped__("byte", 100, 1)
    assert np.array_equal(builtin_data("byte", 100, 1).tokens("train"), uncached.tokens("train"))
    bpe = builtin_data("bpe", n_stories=200, vocab_size=300, cache_dir=str(tmp_path))
    assert bpe.vocab_size <= 300 and bpe.tokenizer.kind == "bpe"
    stories = builtin_stories(200)
    assert bpe.tokenizer.decode(bpe.tokens("val").tolist()) == EOT.join(stories[190:])
    again = builtin_data.__wrapped__("bpe", n_stories=200, vocab_size=300, cache_dir=str(tmp_path))
    assert again.source == bpe.source and len(list(tmp_path.iterdir())) == 1  # from the cache
    with pytest.raises(ValueError, match="vocab"):
        builtin_data("words")


def test_data_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValueError, match=re.escape(f"{tmp_path / 'none'} does not exist")):
        open_data(str(tmp_path / "none"))
    out = tmp_path / "data"
    args = [str(_corpus(tmp_path / "s.txt")), "--out", str(out), "--val-fraction", "0.2"]
    assert main([*args, "--quiet"]) == 0
    monkeypatch.setenv("TUNE_ORIG_WORKING_DIR", str(tmp_path))
    data = open_data("data")  # relative to where Tune started, not the trial directory
    assert data.source == str(out)
    too_short = f"{out}: the val split has 61 tokens, fewer than context + 1 = 1001"
    with pytest.raises(ValueError, match=re.escape(too_short)):
        data.get_batch("val", 2, 1000, torch.Generator())
    with pytest.raises(ValueError, match="unknown split"):
        data.get_batch("test", 2, 4, torch.Generator())

    meta = json.loads((out / "meta.json").read_text())
    (out / "meta.json").write_text(json.dumps({**meta, "vocab_size": 300}))
    with pytest.raises(ValueError, match="vocab mismatch"):
        TokenData.open(out)
    (out / "meta.json").write_text(json.dumps({**meta, "train_tokens": 1}))
    with pytest.raises(ValueError, match=r"train\.bin.*truncated"):
        TokenData.open(out)
    with open(out / "val.bin", "ab") as f:
        f.write(np.array([999], dtype="<u2").tobytes())
    (out / "meta.json").write_text(json.dumps({**meta, "val_tokens": meta["val_tokens"] + 1}))
    with pytest.raises(ValueError, match="vocab mismatch: val holds token id 999"):
        TokenData.open(out)
    (out / "meta.json").write_text("{not json")
    with pytest.raises(ValueError, match="unreadable meta"):
        TokenData.open(out)
    (out / "val.bin").unlink()
    with pytest.raises(ValueError, match=re.escape(f"{out} lacks val.bin")):
        TokenData.open(out)
