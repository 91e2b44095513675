"""Code that runs inside a trial worker: the trainable wrapper, memory limit, trial metadata."""
