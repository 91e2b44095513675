"""Stopping rules: per-trial stoppers, the tracker behind target/divergence/budget, the watchdog."""
