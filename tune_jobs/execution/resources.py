"""Check at run start that some node can hold a trial's resource request.

Ray keeps a request no node can satisfy pending forever (it waits for the autoscaler), so
a sweep asking for ``gpu: 4`` on 2-GPU nodes would sit idle without a word. Right after
Ray is up, ``check_cluster_fits`` compares the spec's bundles with the alive nodes'
total resources and raises a one-line ``UserError`` naming the key and the largest node.

The check sees only the nodes present: on an autoscaling cluster whose bigger node types
are not started yet, set ``resources.check_fit: false`` (docs/resources.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from tune_jobs.errors import UserError
from tune_jobs.spec.schema import ResourcesSpec

__all__ = ["NodeCapacity", "alive_nodes", "check_cluster_fits", "check_fits"]

_EPS = 1e-9


@dataclass(frozen=True)
class NodeCapacity:
    """One node's total resources (not what is free now)."""

    name: str
    """How messages name the node (its IP address)."""
    resources: dict[str, float]
    """Ray's resource names (``CPU``, ``GPU``, custom) to amounts."""

    def holds(self, bundle: dict[str, float]) -> bool:
        """Whether this node, empty, could hold ``bundle``."""
        return all(self.resources.get(k, 0.0) + _EPS >= v for k, v in bundle.items())

    def describe(self) -> str:
        """``10.0.0.5 (CPU 8, GPU 2, a100 1)``: the resources users set, no internals."""
        shown = [
            f"{k} {v:g}"
            for k, v in sorted(self.resources.items(), key=lambda kv: (kv[0] != "CPU", kv[0]))
            if not _internal(k)
        ]
        return f"{self.name} ({', '.join(shown) or 'no resources'})"


def alive_nodes() -> list[NodeCapacity]:
    """The alive nodes of the connected Ray cluster (``ray.nodes()``)."""
    import ray

    return [
        NodeCapacity(str(node.get("NodeManagerAddress", "?")), dict(node.get("Resources", {})))
        for node in ray.nodes()
        if node.get("Alive")
    ]


def check_cluster_fits(spec: ResourcesSpec) -> None:
    """``check_fits`` against the connected cluster, unless ``spec.check_fit`` is off."""
    if spec.check_fit:
        check_fits(spec, alive_nodes())


def check_fits(spec: ResourcesSpec, nodes: Sequence[NodeCapacity]) -> None:
    """Raise ``UserError`` if no placement of one trial's bundles exists on ``nodes``."""
    bundles = spec.as_ray_bundles()
    for index, bundle in enumerate(bundles):
        _check_bundle(bundle, _prefix(index), nodes)
    if len(bundles) < 2:
        return
    total = _sum(bundles)
    if spec.strategy == "STRICT_PACK":
        _check_bundle(total, "resources (all bundles, STRICT_PACK)", nodes)
    elif spec.strategy == "STRICT_SPREAD" and not _distinct_nodes(bundles, nodes):
        raise UserError(
            f"resources.strategy: STRICT_SPREAD needs {len(bundles)} different nodes that "
            f"each hold one bundle; the cluster has {len(nodes)} node(s): "
            f"{'; '.join(n.describe() for n in nodes)}"
        )
    for key, amount in total.items():
        have = sum(n.resources.get(key, 0.0) for n in nodes)
        if have + _EPS < amount:
            raise UserError(
                f"resources: a trial asks for {_amount(key, amount)} over all its bundles but "
                f"the whole cluster has {_amount(key, have, unit=False)}; no trial could "
                "ever start"
            )


def _check_bundle(bundle: dict[str, float], prefix: str, nodes: Sequence[NodeCapacity]) -> None:
    if any(node.holds(bundle) for node in nodes):
        return
    if not nodes:
        raise UserError(f"{prefix}: the Ray cluster has no alive node")
    for key, amount in bundle.items():
        largest = max(nodes, key=lambda n: n.resources.get(key, 0.0))
        have = largest.resources.get(key, 0.0)
        if have + _EPS < amount:
            what = f"{prefix}.{_spec_key(key)}"
            if have == 0:
                raise UserError(
                    f"{what}: a trial asks for {_amount(key, amount)} but no node has {key}; "
                    f"nodes: {'; '.join(n.describe() for n in nodes)} (the sweep would wait "
                    "forever)"
                )
            raise UserError(
                f"{what}: a trial asks for {_amount(key, amount)} but the largest node has "
                f"{_amount(key, have, unit=False)}: {largest.describe()} (the sweep would wait "
                "forever)"
            )
    wanted = ", ".join(f"{k} {v:g}" if k != "memory" else _amount(k, v) for k, v in bundle.items())
    raise UserError(
        f"{prefix}: no single node has {wanted} together; nodes: "
        f"{'; '.join(n.describe() for n in nodes)} (the sweep would wait forever)"
    )


def _distinct_nodes(bundles: list[dict[str, float]], nodes: Sequence[NodeCapacity]) -> bool:
    """Whether each bundle can go to its own node (small bipartite matching)."""
    owner: dict[int, int] = {}

    def place(b: int, seen: set[int]) -> bool:
        for n, node in enumerate(nodes):
            if n in seen or not node.holds(bundles[b]):
                continue
            seen.add(n)
            if n not in owner or place(owner[n], seen):
                owner[n] = b
                return True
        return False

    return all(place(b, set()) for b in range(len(bundles)))


def _sum(bundles: list[dict[str, float]]) -> dict[str, float]:
    total: dict[str, float] = {}
    for bundle in bundles:
        for key, amount in bundle.items():
            total[key] = total.get(key, 0.0) + amount
    return total


def _prefix(index: int) -> str:
    """Spec path of bundle ``index`` (0 is the trial's own: the top-level keys)."""
    return "resources" if index == 0 else f"resources.bundles.{index - 1}"


def _spec_key(key: str) -> str:
    return {"CPU": "cpu", "GPU": "gpu", "memory": "memory"}.get(key, f"custom.{key}")


def _amount(key: str, value: float, unit: bool = True) -> str:
    """``4 GPU`` (``4`` without ``unit``); memory, bytes in Ray, as ``512 MiB of memory``
    (``512 MiB``)."""
    if key == "memory":
        return f"{value / 2**20:.0f} MiB" + (" of memory" if unit else "")
    return f"{value:g} {key}" if unit else f"{value:g}"


def _internal(key: str) -> bool:
    """Resources Ray adds by itself (memory, node IP markers)."""
    return key in ("memory", "object_store_memory") or key.startswith("node:")
