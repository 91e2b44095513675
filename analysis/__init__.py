"""Analysis of sweep results: from a RUN_DIR's Parquet tables to decisions.

Load (``load_run``, ``load_trials``, ``load_metrics``, ``clean_view``), rank
(``leaderboard``, ``best_trial``, ``aggregate_repeats``, ``time_to_target_ranking``),
explain (``parameter_importance``, ``marginal_effects``, ``pareto_front``,
``lr_stability``), answer (``per_value``, ``answer``: which value of a parameter wins)
and plot (``analysis.views``). See docs/analysis.md.
"""

from analysis.answers import answer, per_value
from analysis.importance import marginal_effects, parameter_importance
from analysis.load import (
    SweepRun,
    clean_view,
    filter_trials,
    load_metrics,
    load_run,
    load_spec,
    load_trials,
)
from analysis.pareto import pareto_front
from analysis.ranking import aggregate_repeats, best_trial, leaderboard, time_to_target_ranking
from analysis.stability import LRStability, diverged_mask, lr_stability
from analysis.synthetic import synthesize_run

__all__ = [
    "LRStability",
    "SweepRun",
    "aggregate_repeats",
    "answer",
    "best_trial",
    "clean_view",
    "diverged_mask",
    "filter_trials",
    "leaderboard",
    "load_metrics",
    "load_run",
    "load_spec",
    "load_trials",
    "lr_stability",
    "marginal_effects",
    "parameter_importance",
    "pareto_front",
    "per_value",
    "synthesize_run",
    "time_to_target_ranking",
]
