"""DeprovisionUsersOperator against both sandboxes: guard, approval binding, plan age, re-check."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from airflow.sdk import ObjectStoragePath

from okta_salesforce.escrow_store import MemoryEscrowStore
from okta_salesforce.operators.deprovision import DeprovisionUsersOperator
from okta_salesforce.operators.okta import OktaAssignmentsOperator
from okta_salesforce.operators.plan import PlanSalesforceChangesOperator
from okta_salesforce.storage import read_jsonl, write_jsonl
from okta_salesforce.sync.guards import plan_fingerprint
from okta_salesforce.sync.models import Action, Outcome
from okta_salesforce_testbed.sandbox import Sandboxes
from okta_salesforce_testbed.sandbox.seed import SalesforceState

pytestmark = pytest.mark.integration

RUN_ID = "scheduled__2026-11-30T10:00:00+00:00"
APPROVAL = "approve_deactivations"


@pytest.fixture
def org(sandbox_connections: Sandboxes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Sandboxes:
    """Both sandboxes as the default connections, run files under ``tmp_path``."""
    monkeypatch.setenv("OKTA_SALESFORCE_STORAGE", (tmp_path / "files").as_uri())
    return sandbox_connections


def context(
    task_id: str, answers: dict[str, Any] | None = None, dag_id: str = "okta_salesforce_reconcile"
) -> dict:
    answers = answers or {}
    ti = SimpleNamespace(
        dag_id=dag_id,
        run_id=RUN_ID,
        task_id=task_id,
        map_index=-1,
        try_number=1,
        xcom_pull=lambda task_ids, key="return_value": answers.get(task_ids) if key == "approval" else None,
    )
    return {"ti": ti}


def leavers(sb: Sandboxes, count: int) -> list[str]:
    """Unassign ``count`` people who are active in Salesforce; return their logins."""
    people = [p for p in sb.seed.people if p.assigned and p.salesforce is SalesforceState.ACTIVE][:count]
    assert len(people) == count
    for person in people:
        sb.okta_app.unassign(person.login)
    return [p.login for p in people]


def make_plan(sb: Sandboxes, **params: Any) -> dict[str, Any]:
    poll = OktaAssignmentsOperator(task_id="poll_okta", mode="full").execute(context("poll_okta"))
    return PlanSalesforceChangesOperator(task_id="plan", snapshot=poll, **params).execute(context("plan"))


def deprovision(plan: dict[str, Any], answers: dict[str, Any] | None = None, **kwargs: Any) -> dict[str, Any]:
    operator = DeprovisionUsersOperator(task_id="deprovision_users", plan=plan, **kwargs)
    return operator.execute(context("deprovision_users", answers))


def outcomes(result: dict[str, Any]) -> list[Outcome]:
    return [Outcome.from_dict(row) for row in read_jsonl(result["path"])]


def active(sb: Sandboxes, logins: list[str]) -> dict[str, bool]:
    return {login: bool(sb.salesforce_app.user(login)["IsActive"]) for login in logins}


def approve(plan: dict[str, Any], option: str = "Approve", by: dict | None = None) -> dict[str, Any]:
    return {
        APPROVAL: {
            "plan_id": plan["plan_id"],
            "chosen_options": [option],
            "responded_by_user": by if by is not None else {"id": "admin", "name": "Identity admin"},
            "responded_at": datetime.now(UTC).isoformat(),
        }
    }


def test_a_held_plan_writes_nothing_even_when_the_run_sets_the_param(org: Sandboxes) -> None:
    gone = leavers(org, 30)
    plan = make_plan(org, allow_mass_deactivation=True)
    assert plan["guard"]["blocked"], "the trigger param alone must not pass the guard"
    assert plan["deprovisions"]["count"] >= 30
    writes = org.salesforce_app.write_requests

    result = deprovision(plan, allow_mass_deactivation=True)

    assert org.salesforce_app.write_requests == writes
    assert active(org, gone) == dict.fromkeys(gone, True)
    assert result["held"] == plan["deprovisions"]["count"]
    assert outcomes(result) == []  # the report shows them as not_approved
    assert result["request"]["plan_id"] == plan["plan_id"]
    assert set(result["request"]["action_paths"]) == {"deactivate"}


def test_reject_timeout_another_plans_approval_or_none_deactivates_nobody(org: Sandboxes) -> None:
    gone = leavers(org, 30)
    plan = make_plan(org)
    writes = org.salesforce_app.write_requests
    answers = [
        approve(plan, "Reject"),  # Reject, then Clear of the writer
        approve(plan, "Reject", by={}),  # the timeout answers the default, by nobody
        {APPROVAL: {**approve(plan)[APPROVAL], "plan_id": "0123456789abcdef01234567"}},  # another plan
        {},  # the approval task was cleared, or marked success by hand: no answer
    ]
    for answer in answers:
        result = deprovision(plan, answer, approval_task_id=APPROVAL)
        refused = outcomes(result)
        assert {(o.success, o.error_code) for o in refused} == {(False, "GUARD_TRIPPED")}, answer
        assert len(refused) == plan["deprovisions"]["count"]
    assert org.salesforce_app.write_requests == writes
    assert active(org, gone) == dict.fromkeys(gone, True)


def test_an_approved_plan_rechecks_everyone_and_keeps_who_was_reassigned(org: Sandboxes) -> None:
    gone = leavers(org, 30)
    plan = make_plan(org)
    back = gone[0]
    org.okta_app.assign(back)  # re-assigned while the approval waited
    org.reset_counters()

    result = deprovision(plan, approve(plan), approval_task_id=APPROVAL)

    # Okta: the System Log since the snapshot (its page, then the empty page), and the one user it
    # names; no listing of the app, no per-user reads of the other 29.
    calls = dict(org.okta.counters)
    assert calls.get("logs.list") == 2, calls
    assert "apps.users.list" not in calls
    assert calls.get("apps.users.get") == 1, calls

    by_login = {o.login: o for o in outcomes(result)}
    assert by_login[back].success
    assert by_login[back].message.startswith("kept: assigned in Okta again since the plan")
    assert active(org, gone) == {login: login == back for login in gone}
    assert all(o.success for o in by_login.values()), [o for o in by_login.values() if not o.success][:3]


def test_a_plan_past_its_age_deprovisions_nobody(org: Sandboxes) -> None:
    gone = leavers(org, 30)
    plan = make_plan(org)
    # The same plan, made three hours ago (its id names its time, so it is recomputed as the plan task would).
    planned_at = (datetime.now(UTC) - timedelta(hours=3)).isoformat()
    actions = [Action.from_dict(row) for row in read_jsonl(plan["action_paths"]["deactivate"])]
    old = {**plan, "planned_at": planned_at}
    old["plan_id"] = plan_fingerprint(
        actions, run_id=plan["run_id"], planned_at=planned_at, snapshot_started=plan["snapshot_started"]
    )
    writes = org.salesforce_app.write_requests

    result = deprovision(old, approve(old), approval_task_id=APPROVAL)

    assert {o.error_code for o in outcomes(result)} == {"PLAN_EXPIRED"}
    assert org.salesforce_app.write_requests == writes
    assert active(org, gone) == dict.fromkeys(gone, True)


def test_actions_changed_after_planning_are_refused(org: Sandboxes) -> None:
    from airflow.sdk.exceptions import AirflowException

    leavers(org, 30)
    plan = make_plan(org)
    path = plan["action_paths"]["deactivate"]
    rows = list(read_jsonl(path))
    write_jsonl(
        ObjectStoragePath(path), rows[:-1]
    )  # one user dropped from (or, likewise, slipped into) the file
    writes = org.salesforce_app.write_requests
    with pytest.raises(AirflowException, match="not the ones the plan's id names"):
        deprovision(plan, approve(plan), approval_task_id=APPROVAL)
    assert org.salesforce_app.write_requests == writes


def test_within_the_guard_deprovisions_at_once(org: Sandboxes) -> None:
    import json

    gone = leavers(org, 1)
    poll = OktaAssignmentsOperator(
        task_id="poll_okta", mode="full", users=gone, escrow_store=MemoryEscrowStore()
    ).execute(context("poll_okta"))
    plan = PlanSalesforceChangesOperator(task_id="plan", snapshot=poll, users=json.dumps(gone)).execute(
        context("plan")
    )
    assert not plan["guard"]["tripped"]
    result = deprovision(plan)
    assert [(o.login, o.action, o.success) for o in outcomes(result)] == [(gone[0], "deactivate", True)]
    assert active(org, gone) == {gone[0]: False}


def test_a_failed_log_read_rechecks_everyone_and_keeps_who_was_reassigned(
    org: Sandboxes, monkeypatch: pytest.MonkeyPatch
) -> None:
    from functools import partialmethod

    from okta_salesforce.hooks.okta import OktaHook

    monkeypatch.setattr(OktaHook, "__init__", partialmethod(OktaHook.__init__, backoff=0.0))
    gone = leavers(org, 30)
    plan = make_plan(org)
    back = gone[1]
    org.okta_app.assign(back)
    org.okta.inject("logs.list", "server_error", times=100, status=500)
    org.reset_counters()
    try:
        result = deprovision(plan, approve(plan), approval_task_id=APPROVAL)
    finally:
        org.okta.clear_faults()

    calls = dict(org.okta.counters)
    assert calls.get("logs.list", 0) >= 1
    assert calls.get("apps.users.list", 0) + calls.get("apps.users.get", 0) >= 1  # the full re-check ran
    by_login = {o.login: o for o in outcomes(result)}
    assert by_login[back].message.startswith("kept: assigned in Okta again since the plan")
    assert active(org, gone) == {login: login == back for login in gone}


def test_a_plan_without_its_snapshot_time_is_rechecked_in_full(org: Sandboxes) -> None:
    """Plans made before the snapshot's start was recorded (an XCom without it) still re-check everyone."""
    gone = leavers(org, 30)
    plan = make_plan(org)
    actions = [Action.from_dict(row) for row in read_jsonl(plan["action_paths"]["deactivate"])]
    old = {k: v for k, v in plan.items() if k != "snapshot_started"}
    old["plan_id"] = plan_fingerprint(actions, run_id=plan["run_id"], planned_at=plan["planned_at"])
    back = gone[2]
    org.okta_app.assign(back)
    org.reset_counters()

    result = deprovision(old, approve(old), approval_task_id=APPROVAL)

    assert "logs.list" not in dict(org.okta.counters)
    by_login = {o.login: o for o in outcomes(result)}
    assert by_login[back].message.startswith("kept: assigned in Okta again since the plan")
    assert active(org, gone) == {login: login == back for login in gone}
