"""RUN_DIR: storage, the atomic filesystem, snapshots, result sinks and the ranking."""
