"""The ``resources:`` spec shape and the run-start capacity check (no Ray needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tune_jobs.errors import SpecError, UserError
from tune_jobs.execution.resources import NodeCapacity, check_fits
from tune_jobs.spec import load_spec
from tune_jobs.spec.convert import build
from tune_jobs.spec.schema import ResourcesSpec

GPU_NODE = NodeCapacity("10.0.0.2", {"CPU": 8.0, "GPU": 2.0, "memory": 1e9, "node:10.0.0.2": 1})
CPU_NODE = NodeCapacity("10.0.0.1", {"CPU": 4.0})


def _resources(raw: dict) -> ResourcesSpec:
    return build(ResourcesSpec, raw, "resources", "spec.yaml")


def test_bundles_and_strategy_become_a_placement_group_factory() -> None:
    spec = _resources({"cpu": 1, "gpu": 1, "bundles": [{"gpu": 1}, {"cpu": 2, "gpu": 1}]})
    assert spec.as_ray_bundles() == [
        {"CPU": 1.0, "GPU": 1.0},
        {"GPU": 1.0},
        {"CPU": 2.0, "GPU": 1.0},
    ]
    assert spec.total_gpu == 3
    spread = _resources({"gpu": 1, "bundles": [{"gpu": 1}], "strategy": "SPREAD"})
    pgf = spread.request()
    assert pgf.strategy == "SPREAD"
    assert pgf.bundles == [{"CPU": 1.0, "GPU": 1.0}, {"GPU": 1.0}]
    assert _resources({"gpu": 0.25}).request() == {"cpu": 1.0, "gpu": 0.25}


@pytest.mark.parametrize(
    ("raw", "where", "problem"),
    [
        ({"gpu": 1.5}, "resources.gpu", "above 1 must be a whole number"),
        ({"strategy": "SPREAD"}, "resources.strategy", "add resources.bundles"),
        ({"strategy": "spread"}, "resources.strategy", "allowed"),
        ({"bundles": [{}]}, "resources.bundles.0.cpu", "needs some cpu, gpu or custom"),
        ({"bundles": [{"gpu": -1}]}, "resources.bundles.0.gpu", "must be >= 0"),
        ({"custom": {"GPU": 1}}, "resources.custom.GPU", "use the cpu: / gpu: keys"),
        ({"bundle": [{"gpu": 1}]}, "resources.bundle", ""),
    ],
)
def test_bad_resources_are_one_line_spec_errors(raw: dict, where: str, problem: str) -> None:
    with pytest.raises(SpecError) as err:
        _resources(raw)
    assert err.value.key_path.startswith(where), str(err.value)
    assert problem in str(err.value)
    assert "\n" not in str(err.value)


def test_fits_on_some_node() -> None:
    nodes = [CPU_NODE, GPU_NODE]
    check_fits(_resources({"cpu": 2, "gpu": 2}), nodes)
    check_fits(_resources({"gpu": 1, "bundles": [{"gpu": 1}], "strategy": "STRICT_PACK"}), nodes)
    check_fits(_resources({"cpu": 0.5, "gpu": 0.25}), nodes)


def test_too_many_gpus_names_the_key_and_the_largest_node() -> None:
    with pytest.raises(UserError) as err:
        check_fits(_resources({"gpu": 4}), [CPU_NODE, GPU_NODE])
    message = str(err.value)
    assert message.startswith("resources.gpu: a trial asks for 4 GPU")
    assert "largest node has 2: 10.0.0.2 (CPU 8, GPU 2)" in message
    assert "memory" not in message and "node:" not in message


def test_missing_custom_resource_and_bundle_paths() -> None:
    with pytest.raises(UserError, match=r"^resources\.custom\.A100: .* no node has A100"):
        check_fits(_resources({"custom": {"A100": 1}}), [GPU_NODE])
    with pytest.raises(UserError, match=r"^resources\.bundles\.1\.gpu: .*largest node has 2"):
        check_fits(_resources({"bundles": [{"gpu": 1}, {"gpu": 3}]}), [GPU_NODE])
    small_gpu = NodeCapacity("10.0.0.4", {"CPU": 2.0, "GPU": 1.0})
    with pytest.raises(UserError, match="no single node has CPU 3, GPU 1 together"):
        check_fits(_resources({"cpu": 3, "gpu": 1}), [CPU_NODE, small_gpu])


def test_strategies_over_several_nodes() -> None:
    two = [GPU_NODE, NodeCapacity("10.0.0.3", {"CPU": 8.0, "GPU": 2.0})]
    spread = {"gpu": 2, "bundles": [{"gpu": 2}], "strategy": "STRICT_SPREAD"}
    check_fits(_resources(spread), two)
    with pytest.raises(UserError, match="STRICT_SPREAD needs 2 different nodes"):
        check_fits(_resources(spread), two[:1])
    with pytest.raises(UserError, match=r"STRICT_PACK\)\.gpu: .*asks for 4 GPU"):
        check_fits(_resources({**spread, "strategy": "STRICT_PACK"}), two)
    with pytest.raises(UserError, match="whole cluster has 2"):
        check_fits(_resources({"gpu": 1, "bundles": [{"gpu": 1}, {"gpu": 1}]}), two[:1])


def test_check_fit_false_skips_the_check(monkeypatch: pytest.MonkeyPatch) -> None:
    import tune_jobs.execution.resources as resources

    monkeypatch.setattr(resources, "alive_nodes", lambda: [CPU_NODE])
    with pytest.raises(UserError):
        resources.check_cluster_fits(_resources({"gpu": 1}))
    resources.check_cluster_fits(_resources({"gpu": 1, "check_fit": False}))


def test_set_override_reaches_bundles(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("name: s\ntrainable: mlp\nmetric: val_loss\nresources: {gpu: 1}\n")
    spec = load_spec(path, ["resources.bundles=[{gpu: 1}]", "resources.strategy=SPREAD"])
    assert spec.resources.request().strategy == "SPREAD"
