"""Counts and durations go to Airflow's Stats with the documented names and tags."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from okta_salesforce import metrics


class FakeStats:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str, Any, dict[str, str]]] = []

    def incr(self, stat: str, count: int = 1, rate: int = 1, *, tags: dict[str, str] | None = None) -> None:
        self.calls.append(("incr", stat, count, tags or {}))

    def timing(self, stat: str, dt: Any, *, tags: dict[str, str] | None = None) -> None:
        self.calls.append(("timing", stat, dt, tags or {}))


def test_names_values_and_tags(monkeypatch: pytest.MonkeyPatch) -> None:
    stats = FakeStats()
    monkeypatch.setattr(metrics, "_stats", lambda: stats)
    tags = {"dag_id": "okta_salesforce_reconcile", "task_id": "plan"}
    metrics.count("plan.actions.create", 3, tags)
    metrics.count("plan.actions.update", 0, tags)  # zero is not sent
    metrics.duration("plan.duration", 1.5, tags)
    assert stats.calls == [
        ("incr", "okta_salesforce.plan.actions.create", 3, tags),
        ("timing", "okta_salesforce.plan.duration", timedelta(seconds=1.5), tags),
    ]


def test_a_broken_backend_never_fails_the_task(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken() -> Any:
        raise RuntimeError("statsd down")

    monkeypatch.setattr(metrics, "_stats", broken)
    metrics.count("writes.create.succeeded", 1)
    metrics.duration("writes.duration", 0.1)


def test_the_real_stats_facade_accepts_the_calls() -> None:
    metrics.count("okta.assignments_read", 2, {"dag_id": "d", "task_id": "t"})
    metrics.duration("okta.read_duration", 0.2, {"dag_id": "d", "task_id": "t"})
    assert hasattr(metrics._stats(), "incr")
