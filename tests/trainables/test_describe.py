"""`tune-jobs trainables [NAME]`: every built-in documents every config key."""

from __future__ import annotations

import dataclasses

import pytest

from trainables import BUILTIN_TRAINABLES, load_config_class
from trainables.describe import describe_config
from tune_jobs.cli.app import main


@pytest.mark.parametrize("name", sorted(BUILTIN_TRAINABLES))
def test_every_config_field_has_a_docstring(name: str) -> None:
    config_class, presets = load_config_class(name)
    assert config_class is not None and presets
    fields = describe_config(config_class)
    assert [f.name for f in fields] == [f.name for f in dataclasses.fields(config_class)]
    undocumented = [f.name for f in fields if not f.doc]
    assert not undocumented


def test_cli_lists_and_describes(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["trainables"]) == 0
    listing = capsys.readouterr().out
    assert all(name in listing for name in BUILTIN_TRAINABLES)
    assert main(["trainables", "lm"]) == 0
    text = capsys.readouterr().out
    assert "presets: tiny, cs336-17m, gpt2-124m, modded-155m" in text
    assert "  orthogonalization (str, default 'newton_schulz'): Muon's orthogonaliser" in text
    assert main(["trainables", "nope"]) == 2
    assert "unknown trainable 'nope'" in capsys.readouterr().err
