"""The events Dag's fast path against both sandboxes: one task reads, plans, writes and reports.

The ``event_sync`` task of the real events wiring (:func:`okta_salesforce.event_pipeline.event_pipeline`)
runs in this process with a stand-in task instance; its branch shows in the tasks it skips.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

import pendulum
import pytest
import yaml
from airflow.providers.common.compat.sdk import DownstreamTasksSkipped
from airflow.sdk import DAG, ObjectStoragePath

from okta_salesforce.escrow_store import MemoryEscrowStore, escrow_key, load_escrow
from okta_salesforce.event_pipeline import event_pipeline
from okta_salesforce.operators.event_sync import HELD_KEY, USERS_KEY, EventSyncOperator, EventVerdictOperator
from okta_salesforce.operators.run_failures import RunFailed
from okta_salesforce.operators.salesforce import WritesUnfinished
from okta_salesforce.storage import read_jsonl
from okta_salesforce.sync.config import load_config
from okta_salesforce_testbed.sandbox import Sandboxes
from okta_salesforce_testbed.sandbox.seed import SalesforceState

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[3]
FAST_ONLY = {"event_request_approval", "event_check_run"}


class Ti:
    """What the task runner gives a task: ids, the try, and XCom (kept here)."""

    dag_id = "okta_salesforce_events"
    run_id = "asset_triggered__2026-11-30T10:00:00+00:00_abc"
    task_id = "event_sync"
    map_index = -1

    def __init__(self, try_number: int = 1, max_tries: int = 0) -> None:
        self.try_number = try_number
        self.max_tries = max_tries
        self.xcoms: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.xcoms[key] = value


class AliasEvents:
    def __init__(self) -> None:
        self.added: list[tuple[Any, dict[str, Any]]] = []

    def add(self, asset: Any, extra: dict[str, Any] | None = None) -> None:
        self.added.append((asset, extra or {}))


class OutletEvents(defaultdict):
    """``context["outlet_events"]``: an accessor per Asset or alias, by name (3.1 cannot hash them)."""

    def __init__(self) -> None:
        super().__init__(AliasEvents)

    def __getitem__(self, key: Any) -> AliasEvents:
        return super().__getitem__(key.name)


@pytest.fixture
def org(sandbox_connections: Sandboxes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Sandboxes:
    monkeypatch.setenv("OKTA_SALESFORCE_STORAGE", (tmp_path / "files").as_uri())
    config = yaml.safe_load((REPO / "include" / "okta_salesforce.yaml").read_text(encoding="utf-8"))
    config["guards"]["max_deactivations"] = 2
    config.setdefault("writer", {})["retries"] = 0
    path = tmp_path / "okta_salesforce.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    monkeypatch.setenv("OKTA_SALESFORCE_CONFIG", str(path))
    return sandbox_connections


@pytest.fixture
def event_sync() -> EventSyncOperator:
    with DAG("okta_salesforce_events", schedule=None, start_date=pendulum.datetime(2026, 1, 1)) as dag:
        task = event_pipeline(max_users=3)
    task.escrow_store = MemoryEscrowStore()
    assert dag.task_dict["poll_okta"].upstream_task_ids == {"event_sync"}
    return task


def run(task: EventSyncOperator, users: list[str], ti: Ti | None = None) -> tuple[Ti, dict, set[str], Any]:
    """Execute the task for Asset events naming ``users``; its XCom, result, skipped tasks, alias events."""
    ti = ti or Ti()
    payload = {"users": [{"login": login} for login in users]}
    events = {"okta_salesforce_assignment_events": [_Event({"payload": payload})]}
    outlets = OutletEvents()
    context = {
        "ti": ti,
        "triggering_asset_events": events,
        "outlet_events": outlets,
        "params": {"users": [], "dry_run": False, "allow_mass_deactivation": False},
    }
    task.users, task.dry_run, task.allow_mass_deactivation = [], False, False
    skipped: set[str] = set()
    try:
        result = task.execute(context)
    except DownstreamTasksSkipped as skip:
        skipped = {t if isinstance(t, str) else t[0] for t in skip.tasks}
        result = ti.xcoms["return_value"]
    return ti, result, skipped, outlets[task.report_alias]


class _Event:
    def __init__(self, extra: dict[str, Any]) -> None:
        self.extra = extra


def hires(sb: Sandboxes, count: int) -> list[str]:
    people = [p for p in sb.seed.people if not p.assigned and p.salesforce is SalesforceState.ABSENT][:count]
    for person in people:
        sb.okta_app.assign(person.login)
    return [p.login for p in people]


def escrow(task: EventSyncOperator) -> Any:
    config = load_config()
    return load_escrow(task.escrow_store, escrow_key(config.okta_app_id), config.failures)  # type: ignore[arg-type]


def report_lines(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {line["login"]: line for line in read_jsonl(result["report"]["path"])}


def full_pipeline(task: EventSyncOperator) -> set[str]:
    return {t.task_id for t in task.get_flat_relatives(upstream=False)} - FAST_ONLY


def test_a_small_batch_is_read_planned_written_and_reported_in_the_one_task(
    org: Sandboxes, event_sync: EventSyncOperator
) -> None:
    logins = hires(org, 2)

    _ti, result, skipped, alias = run(event_sync, logins)

    assert result["mode"] == "fast"
    assert skipped == full_pipeline(event_sync) | FAST_ONLY  # nothing else runs
    assert all(org.salesforce_app.user(login)["IsActive"] for login in logins)
    lines = report_lines(result)
    assert {login: (lines[login]["action"], lines[login]["outcome"]) for login in logins} == dict.fromkeys(
        logins, ("create", "success")
    )
    assert len(escrow(event_sync)) == 0  # written ahead, then settled
    [(asset, extra)] = alias.added  # the report's Asset event, as the report task publishes it
    assert asset.name == "okta_salesforce_user_report"
    assert (extra["users"], extra["failed"], extra["run_id"]) == (2, 0, Ti.run_id)
    assert result["failure"] is None
    files = {p.name for p in ObjectStoragePath(result["report"]["path"]).parent.iterdir()}
    assert {"outcomes_create_users_try1.jsonl", "okta_users_poll_okta_try1.jsonl"} <= files


def test_a_batch_over_the_threshold_hands_its_users_to_the_full_pipeline(
    org: Sandboxes, event_sync: EventSyncOperator
) -> None:
    logins = hires(org, 4)
    writes = org.salesforce_app.write_requests

    ti, result, skipped, alias = run(event_sync, logins)

    assert result == {"mode": "full", "users": 4}
    assert skipped == FAST_ONLY
    assert ti.xcoms[USERS_KEY] == logins  # poll_okta reads exactly these users
    assert org.salesforce_app.write_requests == writes
    assert alias.added == []  # the pipeline's report publishes the Asset event


def test_deprovisioning_over_the_guard_is_held_for_approval_not_written(
    org: Sandboxes, event_sync: EventSyncOperator
) -> None:
    people = [p for p in org.seed.people if p.assigned and p.salesforce is SalesforceState.ACTIVE][:3]
    gone = [p.login for p in people]
    for login in gone:
        org.okta_app.unassign(login)

    ti, result, skipped, _ = run(event_sync, gone)

    assert all(org.salesforce_app.user(login)["IsActive"] for login in gone)
    assert result["held"] == 3
    assert skipped == full_pipeline(event_sync) | {"event_check_run"}  # the approval request runs
    assert ti.xcoms[HELD_KEY]["request"]["plan_id"]
    lines = report_lines(result)
    assert {lines[login]["outcome"] for login in gone} == {"not_approved"}
    assert {u.login for u in escrow(event_sync)} == set(gone)  # pending until approved or re-planned


def test_a_per_record_failure_is_escrowed_reported_and_fails_the_run(
    org: Sandboxes, event_sync: EventSyncOperator
) -> None:
    ok, refused = hires(org, 2)
    org.salesforce_app.fail_record(refused, "DUPLICATE_USERNAME", "Duplicate Username", ["Username"])

    _ti, result, skipped, alias = run(event_sync, [ok, refused])

    assert org.salesforce_app.user(ok)["IsActive"]
    assert skipped == full_pipeline(event_sync) | {"event_request_approval"}  # the verdict runs
    lines = report_lines(result)
    assert (lines[refused]["outcome"], lines[refused]["error_code"]) == ("failed", "DUPLICATE_USERNAME")
    [pending] = escrow(event_sync)
    assert (pending.login, pending.failures) == (refused, 1)
    assert alias.added[0][1]["failed"] == 1  # published before the run fails
    with pytest.raises(RunFailed, match="1 of 2 writes failed"):
        EventVerdictOperator(task_id="event_check_run", result=result).execute({})


def test_a_failed_request_retries_the_task_then_fails_the_run_on_the_last_try(
    org: Sandboxes, event_sync: EventSyncOperator
) -> None:
    logins = hires(org, 2)
    org.salesforce.inject("data.composite.create", "server_error", times=1_000, status=503)

    with pytest.raises(WritesUnfinished, match="create_users"):
        run(event_sync, logins, Ti(try_number=1, max_tries=1))
    assert {u.login for u in escrow(event_sync)} == set(logins)  # written ahead: pending

    _ti, result, skipped, _alias = run(event_sync, logins, Ti(try_number=2, max_tries=1))

    assert result["unfinished"] == ["create_users"]
    assert "event_check_run" not in skipped
    assert {line["pending"] for line in report_lines(result).values()} == {True}
    with pytest.raises(RunFailed, match="create_users"):
        EventVerdictOperator(task_id="event_check_run", result=result).execute({})


def test_a_user_written_in_a_failed_try_is_reported_as_written_by_the_next_try(
    org: Sandboxes, event_sync: EventSyncOperator
) -> None:
    [new] = hires(org, 1)
    stale = next(p.login for p in org.seed.people if p.assigned and p.salesforce is SalesforceState.STALE)
    org.salesforce.inject("data.composite.update", "server_error", times=1, status=503)

    with pytest.raises(WritesUnfinished, match="update_users"):
        run(event_sync, [new, stale], Ti(try_number=1, max_tries=1))
    assert org.salesforce_app.user(new)["IsActive"]  # created before the update failed

    _ti, result, _skipped, alias = run(event_sync, [new, stale], Ti(try_number=2, max_tries=1))

    lines = report_lines(result)
    assert (lines[new]["action"], lines[new]["outcome"]) == ("create", "success")  # not "unchanged"
    assert "outcomes_create_users_try1.jsonl" in lines[new]["reason"]
    assert (lines[stale]["action"], lines[stale]["outcome"]) == ("update", "success")
    assert alias.added[0][1]["counts"]["create"] == {"success": 1}
    assert result["failure"] is None
    assert len(escrow(event_sync)) == 0


def test_no_user_named_skips_everything(org: Sandboxes, event_sync: EventSyncOperator) -> None:
    _ti, result, skipped, alias = run(event_sync, [])

    assert result["mode"] == "none"
    assert skipped == full_pipeline(event_sync) | FAST_ONLY
    assert alias.added == []
