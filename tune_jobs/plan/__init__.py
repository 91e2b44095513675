"""The plan made before Ray starts: checks, trial counts, budgets, the pure half of stages."""
