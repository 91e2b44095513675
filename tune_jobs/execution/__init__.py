"""Running a sweep on Ray: the one Tuner, run-dir setup, resume repair, stages, jobs."""
