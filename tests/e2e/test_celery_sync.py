"""okta_salesforce_sync on the native Celery topology, triggered through the REST API like the UI does.

Its report then travels the Asset path a data team relies on: the sync's report task publishes an
event of the report Asset, the scheduler creates a run of okta_salesforce_report_to_warehouse for
it, and the Celery worker loads the report into the warehouse database.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from e2e_harness import ApiClient, Deployment, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

DAG_ID = "okta_salesforce_sync"
WAREHOUSE_DAG = "okta_salesforce_report_to_warehouse"


def _pick_people(sb: Any) -> list[Any]:
    """Assigned people missing from Salesforce (to create) and inactive there (to activate)."""
    from okta_salesforce_testbed.sandbox.seed import SalesforceState

    assigned = [p for p in sb.seed.people if p.assigned]
    absent = [p for p in assigned if p.salesforce == SalesforceState.ABSENT][:2]
    inactive = [p for p in assigned if p.salesforce == SalesforceState.INACTIVE][:1]
    assert len(absent) == 2, "the seeded company has nobody to create"
    assert len(inactive) == 1, "the seeded company has nobody to activate"
    return absent + inactive


def _salesforce_user(sb: Any, person: Any) -> dict[str, Any] | None:
    """The Salesforce user that is this person (by federation id, username or email), if any."""
    for user in sb.salesforce_app.users():
        if person.login.lower() in {
            str(user.get("FederationIdentifier") or "").lower(),
            str(user.get("Username") or "").lower(),
            str(user.get("Email") or "").lower(),
        }:
            return user
    return None


def test_components_are_separate_processes(deployment: Deployment) -> None:
    pids = {name: proc.popen.pid for name, proc in deployment.processes.items()}
    assert set(pids) == {"api-server", "scheduler", "dag-processor", "triggerer", "worker"}
    assert len(set(pids.values())) == 5
    for name, proc in deployment.processes.items():
        assert proc.popen.poll() is None, f"{name} is not running"


def test_sync_provisions_requested_users_on_celery(
    deployment: Deployment, api: ApiClient, e2e_sandboxes: Any
) -> None:
    people = _pick_people(e2e_sandboxes)
    before = {p.login: _salesforce_user(e2e_sandboxes, p) for p in people}
    assert not any(u and u.get("IsActive") for u in before.values()), "chosen people are already active"

    api.wait_for_dag(DAG_ID)
    run = api.trigger(
        DAG_ID, {"dry_run": False, "users": [p.login for p in people], "allow_mass_deactivation": False}
    )
    final = api.wait_for_run(DAG_ID, run["dag_run_id"], timeout=300)
    tis = api.task_instances(DAG_ID, run["dag_run_id"])
    states = {ti["task_id"]: ti["state"] for ti in tis}
    assert final["state"] == "success", f"run ended {final['state']}: {states}"
    assert final["conf"]["users"] == [p.login for p in people]

    # The Salesforce sandbox now has every requested person, active.
    for person in people:
        user = _salesforce_user(e2e_sandboxes, person)
        assert user is not None, f"{person.login} was not created in Salesforce"
        assert user["IsActive"] is True, f"{person.login} is not active in Salesforce"

    # The Celery worker ran the tasks: its log names every task instance that executed.
    worker_log = deployment.processes["worker"].log_path.read_text(errors="replace")
    executed = {ti["task_id"] for ti in tis if ti["state"] == "success" and ti["try_number"]}
    assert executed, f"no task ran: {states}"
    for task_id in executed:
        pattern = rf"Executing workload in Celery:.*task_id='{re.escape(task_id)}', dag_id='{DAG_ID}'"
        assert re.search(pattern, worker_log), f"the Celery worker's log does not show {task_id}"
    # ...and no task ran anywhere else (the scheduler's executor is Celery, not local).
    assert all(ti["executor"] in (None, "CeleryExecutor") for ti in tis if "executor" in ti)

    # The report's Asset event made the scheduler run the warehouse DAG, which loaded the report.
    downstream = _downstream_run(api, DAG_ID, run["dag_run_id"])
    assert downstream["run_type"] == "asset_triggered"
    loaded = api.wait_for_run(WAREHOUSE_DAG, downstream["dag_run_id"], timeout=180)
    assert loaded["state"] == "success", api.task_instances(WAREHOUSE_DAG, downstream["dag_run_id"])
    rows = _warehouse_rows(deployment, DAG_ID, run["dag_run_id"])
    assert sorted(login for login, _, _ in rows) == sorted(p.login for p in people)
    assert {(action, outcome) for _, action, outcome in rows} == {
        ("create", "success"),
        ("activate", "success"),
    }


def _downstream_run(api: ApiClient, dag_id: str, run_id: str) -> dict[str, Any]:
    """The warehouse DAG's run that the Asset event of (dag_id, run_id) triggered."""

    def check() -> dict[str, Any] | None:
        for candidate in api.get(f"/dags/{WAREHOUSE_DAG}/dagRuns", limit=100)["dag_runs"]:
            events = api.upstream_asset_events(WAREHOUSE_DAG, candidate["dag_run_id"])
            if any(e["source_dag_id"] == dag_id and e["source_run_id"] == run_id for e in events):
                return candidate
        return None

    return wait_for(f"a {WAREHOUSE_DAG} run for {run_id}", check, timeout=120, interval=2)


def _warehouse_rows(deployment: Deployment, dag_id: str, run_id: str) -> list[tuple[str, str, str]]:
    import psycopg2

    with psycopg2.connect(deployment.warehouse_dsn) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT login, action, outcome FROM okta_salesforce_user_report "
            "WHERE dag_id = %s AND run_id = %s AND target = 'default'",
            (dag_id, run_id),
        )
        return cur.fetchall()
