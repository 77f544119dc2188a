"""Deprovisioning over the guard, at DAG level: held by provisioning runs, approved or not in its own DAG."""

from __future__ import annotations

import json
from typing import Any

import pytest
from approval_helpers import APPROVAL, background_dags_test, hitl, runs

from okta_salesforce_testbed.airflow_env import AirflowEnvironment
from okta_salesforce_testbed.sandbox import Sandboxes
from okta_salesforce_testbed.sandbox.seed import SalesforceState

pytestmark = pytest.mark.integration

RECONCILE = "okta_salesforce_reconcile"
SYNC = "okta_salesforce_sync"
ASK = "approve_deactivations"


def report_lines(env: AirflowEnvironment, dag_id: str) -> list[dict[str, Any]]:
    report = env.latest_report(dag_id)
    assert report is not None, f"{dag_id} wrote no report"
    return [json.loads(line) for line in report.read_text(encoding="utf-8").splitlines()]


def active_users(sandboxes: Sandboxes) -> dict[str, bool]:
    return {u["Username"]: bool(u["IsActive"]) for u in sandboxes.salesforce_app.users()}


def held_request(env: AirflowEnvironment) -> dict[str, Any]:
    """The conf of the approval run the provisioning run asked for (exactly one)."""
    (run,) = runs(env, APPROVAL)
    assert run["state"] == "queued"
    return run["conf"]


def test_param_timeout_reject_and_clear_deactivate_nobody(
    airflow_env: AirflowEnvironment, sandboxes: Sandboxes
) -> None:
    for person in sandboxes.seed.people:
        if person.assigned:
            sandboxes.okta_app.unassign(person.login)
    before = active_users(sandboxes)

    # The trigger param alone does not pass the guard; the run does not wait for a person either.
    assert airflow_env.dags_test(RECONCILE, {"allow_mass_deactivation": True}) == 0
    assert active_users(sandboxes) == before
    held = [line for line in report_lines(airflow_env, RECONCILE) if line["action"] == "deactivate"]
    assert held
    assert {line["outcome"] for line in held} == {"not_approved"}
    request = held_request(airflow_env)
    assert request["plan"]["deprovisions"]["count"] == len(held)

    # No answer before the deadline: the scheduler's sweep answers the default, Reject.
    with background_dags_test(airflow_env, APPROVAL, request) as run:
        assert hitl(airflow_env, APPROVAL, ASK, "Reject", "--timeout") == 0
        assert run.wait(timeout=300) == 0
    assert active_users(sandboxes) == before

    # A person rejects; then someone clears the writer and it runs again after the Reject.
    with background_dags_test(airflow_env, APPROVAL, request) as run:
        assert hitl(airflow_env, APPROVAL, ASK, "Reject") == 0
        assert run.wait(timeout=300) == 0
    assert active_users(sandboxes) == before
    rejected = next(r for r in reversed(runs(airflow_env, APPROVAL)) if r["state"] == "success")
    cleared = airflow_env.airflow(
        "tasks",
        "test",
        APPROVAL,
        "deprovision_users",
        rejected["run_id"],
        log_name="tasks-test-cleared-writer",
    )
    assert cleared.returncode == 0
    assert active_users(sandboxes) == before
    (outcomes,) = (airflow_env.storage / APPROVAL).glob("*/outcomes_deprovision_users_*.jsonl")
    refused = [json.loads(line) for line in outcomes.read_text(encoding="utf-8").splitlines()]
    assert len(refused) == len(held)
    assert {(o["success"], o["error_code"]) for o in refused} == {(False, "GUARD_TRIPPED")}
    assert "The approval was rejected by Identity admin" in refused[0]["message"]


def test_while_an_approval_waits_sync_creates_a_new_hire_and_the_approved_write_keeps_the_reassigned(
    airflow_env: AirflowEnvironment, sandboxes: Sandboxes
) -> None:
    people = sandboxes.seed.people
    leavers = [p.login for p in people if p.assigned and p.salesforce is SalesforceState.ACTIVE][:30]
    for login in leavers:
        sandboxes.okta_app.unassign(login)
    assert airflow_env.dags_test(RECONCILE) == 0
    request = held_request(airflow_env)
    assert active_users(sandboxes)[leavers[0]] is True

    hire = next(p for p in people if not p.assigned and p.salesforce is SalesforceState.ABSENT)
    back = leavers[0]
    with background_dags_test(airflow_env, APPROVAL, request) as run:
        assert hitl(airflow_env, APPROVAL, ASK, "Approve", "--wait-only") == 0
        # The approval waits; provisioning goes on: the next incremental sync creates the new hire.
        sandboxes.okta_app.assign(hire.login)
        assert airflow_env.dags_test(SYNC) == 0
        assert active_users(sandboxes).get(hire.login) is True
        # One leaver comes back before anyone answers.
        sandboxes.okta_app.assign(back)
        assert hitl(airflow_env, APPROVAL, ASK, "Approve") == 0
        assert run.wait(timeout=300) == 0

    now = active_users(sandboxes)
    assert now[back] is True, "re-assigned between plan and approved write, yet deactivated"
    assert [login for login in leavers[1:] if now[login]] == []
    lines = {line["login"]: line for line in report_lines(airflow_env, APPROVAL)}
    assert lines[back]["outcome"] == "success"
    assert lines[back]["message"].startswith("kept: assigned in Okta again since the plan")
    assert lines[leavers[1]]["message"] == "deactivated"


def test_an_on_demand_run_deprovisions_a_login_okta_no_longer_knows(
    airflow_env: AirflowEnvironment, sandboxes: Sandboxes
) -> None:
    person = next(p for p in sandboxes.seed.people if p.assigned and p.salesforce is SalesforceState.ACTIVE)
    okta = sandboxes.okta_app
    okta.set_user_status(person.login, "DEPROVISIONED")
    with okta.lock:  # then deleted: Okta answers 404 for the login from now on
        user = okta.directory.find_user(person.login)
        del okta.directory.users[user.id]
        del okta.directory.logins[person.login.lower()]

    assert airflow_env.dags_test(SYNC, {"users": [person.login]}) == 0

    assert active_users(sandboxes)[person.login] is False
    (line,) = report_lines(airflow_env, SYNC)
    assert (line["login"], line["action"], line["outcome"]) == (person.login, "deactivate", "success")
