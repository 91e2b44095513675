"""Cluster configs (``ray up`` YAMLs, README) and a local multi-node cluster for dev and tests."""

__all__: list[str] = []
