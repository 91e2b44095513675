"""``tune-jobs submit``: sweeps as Ray jobs on a cluster (issue 5)."""

from __future__ import annotations

import argparse

__all__ = ["CLUSTER_COMMANDS", "add_cluster_commands", "run_cluster_command"]

CLUSTER_COMMANDS: frozenset[str] = frozenset()
"""Sub-command names this module handles."""


def add_cluster_commands(sub: argparse._SubParsersAction) -> None:
    """Register the cluster sub-commands on the ``tune-jobs`` parser."""


def run_cluster_command(args: argparse.Namespace) -> int:
    """Run one of ``CLUSTER_COMMANDS``; returns the exit code."""
    raise NotImplementedError(args.command)
