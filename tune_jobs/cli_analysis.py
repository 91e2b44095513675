"""``tune-jobs report``, ``best`` and ``export``: the analysis commands (issue 6)."""

from __future__ import annotations

import argparse

__all__ = ["ANALYSIS_COMMANDS", "add_analysis_commands", "run_analysis_command"]

ANALYSIS_COMMANDS: frozenset[str] = frozenset()
"""Sub-command names this module handles."""


def add_analysis_commands(sub: argparse._SubParsersAction) -> None:
    """Register the analysis sub-commands on the ``tune-jobs`` parser."""


def run_analysis_command(args: argparse.Namespace) -> int:
    """Run one of ``ANALYSIS_COMMANDS``; returns the exit code."""
    raise NotImplementedError(args.command)
