"""init_ray inside a Ray job joins the job's cluster and keeps the job's runtime env."""

from __future__ import annotations

import types

import pytest

import tune_jobs.execution.tuner


def _fake_ray(monkeypatch: pytest.MonkeyPatch) -> list[dict]:
    import ray

    calls: list[dict] = []
    monkeypatch.setattr(ray, "is_initialized", lambda: False)
    monkeypatch.setattr(ray, "init", lambda **kw: calls.append(kw))
    context = types.SimpleNamespace(gcs_address="127.0.0.1:6379")
    monkeypatch.setattr(ray, "get_runtime_context", lambda: context)
    return calls


def test_inside_a_job_the_cluster_is_joined(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _fake_ray(monkeypatch)
    monkeypatch.setenv("RAY_JOB_CONFIG_JSON_ENV_VAR", "{}")
    monkeypatch.setenv("RAY_ADDRESS", "127.0.0.1:6379")
    tune_jobs.execution.tuner.init_ray(None)
    assert calls == [{"address": "127.0.0.1:6379", "log_to_driver": True}]


def test_without_address_a_local_ray_is_started(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _fake_ray(monkeypatch)
    monkeypatch.delenv("RAY_JOB_CONFIG_JSON_ENV_VAR", raising=False)
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    tune_jobs.execution.tuner.init_ray(None)
    assert "address" not in calls[0] and calls[0]["include_dashboard"] is False
