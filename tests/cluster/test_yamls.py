"""cluster/aws.yaml and cluster/onprem.yaml: valid for Ray's schema, and locked down."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from ray.autoscaler._private.util import prepare_config, validate_config

CLUSTER = Path(__file__).resolve().parents[2] / "cluster"


def _load(name: str) -> dict:
    config = prepare_config(yaml.safe_load((CLUSTER / name).read_text()))
    validate_config(config)
    return config


@pytest.mark.parametrize("name", ["aws.yaml", "onprem.yaml"])
def test_yaml_is_valid_and_secure(name: str) -> None:
    config = _load(name)
    head = " ".join(config["head_start_ray_commands"])
    assert "--dashboard-host=127.0.0.1" in head and "0.0.0.0" not in head
    for key in ("head_start_ray_commands", "worker_start_ray_commands"):
        starts = [c for c in config[key] if "ray start" in c]
        assert starts and all("RAY_AUTH_MODE=token" in c for c in starts), key
        assert all("RAY_AUTH_TOKEN_PATH=" in c for c in starts), key
    assert "~/.ray/auth_token" in config["file_mounts"]
    assert any("tune-jobs" in c and "@v" in c for c in config["setup_commands"])


def test_aws_head_runs_no_trials_and_workers_have_gpus() -> None:
    config = _load("aws.yaml")
    types = config["available_node_types"]
    assert types[config["head_node_type"]]["resources"] == {"CPU": 0}
    gpus = sorted(t["resources"].get("GPU", 0) for t in types.values())
    assert gpus == [0, 1, 8]
    for node_type in types.values():
        assert all(isinstance(v, int) for v in node_type["resources"].values())


def test_onprem_head_has_no_cpus() -> None:
    config = _load("onprem.yaml")
    assert config["provider"]["type"] == "local"
    assert config["provider"]["worker_ips"]
    assert any("--num-cpus=0" in c for c in config["head_start_ray_commands"])
