"""The ``tune-jobs`` command line: argument parsing and printing over the Python API."""

from tune_jobs.cli.app import main

__all__ = ["main"]
