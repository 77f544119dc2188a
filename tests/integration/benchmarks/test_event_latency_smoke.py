"""Smoke run of the event-latency benchmark's code on a stand-in deployment: phases, breakdown, tables.

The real run needs a multi-process Airflow (``scripts/bench.sh events``, and ``tests/e2e_events`` on
the same harness); this keeps the measuring and reporting code runnable. No timings are asserted.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[3]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks import event_latency  # noqa: E402

pytestmark = pytest.mark.integration


class FakeDeployment:
    """Assignments become active at once; the metadata database answers from memory."""

    def __init__(self) -> None:
        self.events: list[tuple[int, datetime, dict[str, Any]]] = []
        self.calls = 0

    def assign_new_person(self, login: str) -> None:
        now = datetime.now(UTC)
        self.events.append((len(self.events) + 1, now, {"payload": {"users": [{"login": login}]}}))
        self.calls += 1

    def wait_active(self, login: str) -> float:
        return 0.5

    def log_calls(self) -> int:
        return self.calls

    def asset_events(self) -> list[dict[str, Any]]:
        return [{**extra, "from_event_hook": True} for _, _, extra in self.events]

    def query(self, statement: str, *params: Any) -> list[tuple[Any, ...]]:
        if "FROM asset_event" in statement:
            return self.events
        if "FROM dagrun_asset_event" in statement:
            [event_id] = params
            return [(f"run{event_id}", self.events[event_id - 1][1])]
        return [(datetime.now(UTC),)]  # the first task's start


def test_a_phase_measures_every_assignment_and_splits_each_delay() -> None:
    phase = event_latency._phase(FakeDeployment(), "push", 3, 60.0)  # type: ignore[arg-type]

    assert (phase["count"], phase["delays_s"]) == (3, [0.5, 0.5, 0.5])
    assert phase["asset_events"] == {"push": 3, "poll": 0}
    assert set(phase["breakdown"]) == set(event_latency.STAGES)
    assert phase["load_1m"]["max"] >= 0


def test_the_document_renders_push_beside_polling_with_the_load() -> None:
    deployment = FakeDeployment()
    modes = [event_latency._phase(deployment, mode, 2, 10.0) for mode in ("push", "poll")]  # type: ignore[arg-type]
    document = {
        "date": "2026-11-30T00:00:00Z",
        "machine": {"cpus": 2, "load_average_before": [0.1, 0.1, 0.1], "load_average_after": [0.2, 0.1, 0.1]},
        "events_dag": "fast path",
        "modes": modes,
    }
    text = event_latency.render_markdown(document)
    assert "| push | 10 s | 2 |" in text
    assert "| poll | 10 s | 2 |" in text
    assert "assign_to_asset_event" in text
    assert "load average [0.1, 0.1, 0.1]" in text
    assert json.loads(json.dumps(document)) == document
