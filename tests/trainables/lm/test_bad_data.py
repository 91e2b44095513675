"""Bad data for the ``lm`` trainable: one clear line naming the file, before training.

Each case prepares a real directory with ``python -m trainables.lm.prepare``'s ``main``
(byte tokenizer: fast), breaks it the way it breaks in practice, and opens it the way a
trial does (``open_training_data``).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

import trainables.lm.data as lm_data
from trainables.lm.corpus import builtin_stories
from trainables.lm.data import TokenData, check_data, open_training_data
from trainables.lm.prepare import main
from trainables.lm.tokenizer import train_bpe

CONTEXT = 32


def _prepare(tmp_path: Path, *args: str, name: str = "data") -> Path:
    out = tmp_path / name
    assert main([*args, "--out", str(out), "--quiet"]) == 0
    return out


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """20 built-in stories, byte tokens: train ~11k tokens, val ~600."""
    return _prepare(tmp_path, "--builtin", "20")


def _one_line_error(source: str, context: int = CONTEXT, vocab_size: int = 0) -> str:
    with pytest.raises(ValueError) as err:
        open_training_data(source, context, vocab_size)
    message = str(err.value)
    assert "\n" not in message and len(message) < 400, message
    return message


def test_good_data_passes(data_dir: Path) -> None:
    data = open_training_data(str(data_dir), CONTEXT)
    assert data.vocab_size == 257 and data.files["val"] == str(data_dir / "val.bin")
    check_data(str(data_dir), CONTEXT, vocab_size=512)  # a larger model vocabulary is fine
    open_training_data("builtin", 256)


@pytest.mark.parametrize("missing", ["train.bin", "val.bin", "meta.json", "tokenizer.json"])
def test_missing_file(data_dir: Path, missing: str) -> None:
    (data_dir / missing).unlink()
    message = _one_line_error(str(data_dir))
    assert message.startswith(f"data directory {data_dir} lacks {missing}")


def test_missing_directory(tmp_path: Path) -> None:
    message = _one_line_error(str(tmp_path / "nowhere"))
    assert message.startswith(f"data directory {tmp_path / 'nowhere'} does not exist")


def test_token_id_beyond_the_vocabulary_anywhere_in_the_file(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The whole file is scanned (in chunks), not just its head."""
    monkeypatch.setattr(lm_data, "_SCAN_CHUNK", 1000)  # many chunks on a small file
    train = data_dir / "train.bin"
    ids = np.fromfile(train, dtype="<u2")
    ids[-1] = 300  # the last token: only a full scan finds it
    ids.tofile(train)
    message = _one_line_error(str(data_dir))
    assert message.startswith(f"{train}: vocab mismatch: train holds token id 300")
    assert f">= vocab_size 257 of {data_dir / 'tokenizer.json'}" in message


def test_tokenizer_from_another_preparation(data_dir: Path) -> None:
    """tokenizer.json replaced by a BPE tokenizer: its vocabulary differs from meta.json."""
    train_bpe(builtin_stories(30), vocab_size=300).save(data_dir)
    message = _one_line_error(str(data_dir))
    assert message.startswith(f"{data_dir / 'meta.json'}: vocab mismatch: meta.json says")
    assert "vocab_size 257" in message and str(data_dir / "tokenizer.json") in message


def test_model_vocabulary_smaller_than_the_tokenizer(data_dir: Path) -> None:
    message = _one_line_error(str(data_dir), vocab_size=200)
    assert message.startswith(f"{data_dir / 'tokenizer.json'}: vocab mismatch")
    assert "the tokenizer has 257 tokens but the model's vocab_size is 200" in message


def test_unreadable_tokenizer_file(data_dir: Path) -> None:
    (data_dir / "tokenizer.json").write_text(json.dumps({"model": {"type": "Nonsense"}}))
    message = _one_line_error(str(data_dir))
    assert message.startswith(f"{data_dir / 'tokenizer.json'}: not a valid `tokenizers` BPE")


def test_truncated_token_file(data_dir: Path) -> None:
    train = data_dir / "train.bin"
    train.write_bytes(train.read_bytes()[:-3])
    message = _one_line_error(str(data_dir))
    assert message.startswith(f"{train}: ") and "truncated" in message


def test_split_shorter_than_one_window(tmp_path: Path) -> None:
    val = tmp_path / "val.txt"
    val.write_text("Hi.")
    out = _prepare(tmp_path, str(_stories(tmp_path)), "--val-input", str(val))
    message = _one_line_error(str(out))
    assert message.startswith(
        f"{out / 'val.bin'}: the val split has only 3 tokens, fewer than context + 1 = 33"
    )
    short_train = _one_line_error(str(out), context=100_000)
    assert short_train.startswith(f"{out / 'train.bin'}: the train split has only")


def test_empty_split(tmp_path: Path) -> None:
    out = _prepare(tmp_path, str(_stories(tmp_path)), "--val-fraction", "0")
    message = _one_line_error(str(out))
    assert message.startswith(f"{out / 'val.bin'}: the val split is empty")
    assert TokenData.open(out).tokens("val").size == 0  # opening alone is fine


def test_empty_inputs_are_refused_by_prepare(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_text("\n<|endoftext|>\n  \n")
    for args, expected in [
        ([str(empty)], "no stories in the input"),
        ([str(_stories(tmp_path)), "--val-input", str(empty)], "no stories in the --val-input"),
    ]:
        assert main([*args, "--out", str(tmp_path / "never"), "--quiet"]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and expected in err[0], err
    assert not (tmp_path / "never").exists()


def _stories(tmp_path: Path) -> Path:
    path = tmp_path / "stories.txt"
    path.write_text("\n<|endoftext|>\n".join(builtin_stories(10)))
    return path


@pytest.mark.slow
def test_bad_data_fails_the_trial_with_the_reason(
    ray_local: None, tmp_path: Path, data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from analysis import load_trials
    from tests.conftest import run_spec_in_process
    from tune_jobs.cli.status import print_status

    ids = np.fromfile(data_dir / "train.bin", dtype="<u2")
    ids[5] = 400
    ids.tofile(data_dir / "train.bin")
    outcome = run_spec_in_process(
        tmp_path,
        {
            "name": "bad_data",
            "trainable": "lm",
            "metric": "val_loss",
            "config": {"preset": "tiny", "data": str(data_dir), "max_steps": 2},
        },
    )
    assert outcome.statuses == {"ERROR": 1}
    error = load_trials(outcome.run_dir).loc[0, "error"]
    reason = f"{data_dir / 'train.bin'}: vocab mismatch: train holds token id 400"
    assert re.match(r"^ValueError: ", error) and reason in error, error
    capsys.readouterr()
    print_status(outcome.run_dir)
    assert reason in capsys.readouterr().out


@pytest.mark.slow
def test_too_short_data_fails_before_the_first_step(ray_local: None, tmp_path: Path) -> None:
    """The trial opens its data with ``open_training_data``: a val split shorter than one
    window fails the trial before any step, so not a single result is reported."""
    from analysis import load_metrics, load_trials
    from tests.conftest import run_spec_in_process

    val = tmp_path / "val.txt"
    val.write_text("Hi.")
    out = _prepare(tmp_path, str(_stories(tmp_path)), "--val-input", str(val))
    outcome = run_spec_in_process(
        tmp_path,
        {
            "name": "short_data",
            "trainable": "lm",
            "metric": "val_loss",
            "config": {
                "preset": "tiny",
                "data": str(out),
                "context": CONTEXT,
                "max_steps": 4,
                "report_every": 1,
                "eval_every": 2,
            },
        },
    )
    assert outcome.statuses == {"ERROR": 1}
    error = load_trials(outcome.run_dir).loc[0, "error"]
    reason = f"{out / 'val.bin'}: the val split has only 3 tokens, fewer than context + 1 = 33"
    assert reason in error, error
    assert load_metrics(outcome.run_dir).empty  # failed before the first step
