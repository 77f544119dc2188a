"""Both reconciliation DAGs, run with ``airflow dags test`` against the sandboxes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml

from okta_salesforce_testbed.airflow_env import AirflowEnvironment
from okta_salesforce_testbed.sandbox import Sandboxes
from okta_salesforce_testbed.sandbox.audit import audit
from okta_salesforce_testbed.sandbox.seed import SalesforceState

pytestmark = pytest.mark.integration

HERE = Path(__file__).parent
REPO = HERE.parents[2]
RECONCILE = "okta_salesforce_reconcile"
SYNC = "okta_salesforce_sync"


def report_lines(env: AirflowEnvironment, dag_id: str) -> list[dict[str, Any]]:
    report = env.latest_report(dag_id)
    assert report is not None, f"{dag_id} wrote no report"
    return [json.loads(line) for line in report.read_text(encoding="utf-8").splitlines()]


def unmanaged(sandboxes: Sandboxes) -> dict[str, dict[str, Any]]:
    return {u["Username"]: u for u in sandboxes.salesforce_app.users() if not u.get("FederationIdentifier")}


def salesforce_state(sandboxes: Sandboxes) -> dict[str, tuple[Any, ...]]:
    fields = ("IsActive", "IsFrozen", "Department", "Title", "ProfileId", "Email", "LastName")
    return {u["Username"]: tuple(u.get(f) for f in fields) for u in sandboxes.salesforce_app.users()}


def test_reconcile_converges_leaves_unmanaged_users_alone_and_a_rerun_writes_nothing(
    airflow_env: AirflowEnvironment, sandboxes: Sandboxes
) -> None:
    before = audit(sandboxes)
    assert not before.consistent, "the seed must start with work to do"
    untouched = unmanaged(sandboxes)
    assert untouched, "the seed has admin and integration users"

    # The seed deprovisions more than the guard allows: the admin lets this run's param through.
    trusting = yaml.safe_load((REPO / "include" / "okta_salesforce.yaml").read_text(encoding="utf-8"))
    trusting["guards"]["trust_allow_mass_deactivation_param"] = True
    config = airflow_env.workdir / "okta_salesforce.yaml"
    config.write_text(yaml.safe_dump(trusting), encoding="utf-8")
    airflow_env.extra_env["OKTA_SALESFORCE_CONFIG"] = str(config)
    assert airflow_env.dags_test(RECONCILE, {"allow_mass_deactivation": True}) == 0

    after = audit(sandboxes)
    assert after.missing == []
    assert after.duplicates == []
    assert after.lingering == []
    assert after.mismatched == {}
    assert unmanaged(sandboxes) == untouched
    lines = report_lines(airflow_env, RECONCILE)
    outcomes = {(line["action"], line["outcome"]) for line in lines}
    assert ("create", "success") in outcomes
    assert ("deactivate", "success") in outcomes
    assert all(line["outcome"] in ("success", "unchanged") for line in lines), [
        line for line in lines if line["outcome"] not in ("success", "unchanged")
    ][:3]

    writes = sandboxes.salesforce_app.write_requests
    assert airflow_env.dags_test(RECONCILE) == 0
    assert sandboxes.salesforce_app.write_requests == writes
    assert {line["outcome"] for line in report_lines(airflow_env, RECONCILE)} == {"unchanged"}


def test_dry_run_plans_and_writes_nothing(airflow_env: AirflowEnvironment, sandboxes: Sandboxes) -> None:
    state = salesforce_state(sandboxes)

    assert airflow_env.dags_test(RECONCILE, {"dry_run": True, "allow_mass_deactivation": True}) == 0

    assert sandboxes.salesforce_app.write_requests == 0
    assert salesforce_state(sandboxes) == state
    lines = report_lines(airflow_env, RECONCILE)
    planned = [line for line in lines if line["outcome"] == "dry_run"]
    assert {line["action"] for line in planned} >= {"create", "activate", "update", "deactivate"}


def test_users_param_provisions_only_those_users(
    airflow_env: AirflowEnvironment, sandboxes: Sandboxes
) -> None:
    people = sandboxes.seed.people
    absent = [p for p in people if p.assigned and p.salesforce is SalesforceState.ABSENT][:2]
    inactive = [p for p in people if p.assigned and p.salesforce is SalesforceState.INACTIVE][:1]
    chosen = [p.login for p in absent + inactive]
    state = salesforce_state(sandboxes)

    assert airflow_env.dags_test(SYNC, {"users": chosen}) == 0

    now = salesforce_state(sandboxes)
    changed = {username for username in now if now[username] != state.get(username)}
    assert changed == {login for login in chosen}
    assert all(now[login][0] is True for login in chosen)
    assert {line["login"] for line in report_lines(airflow_env, SYNC)} == set(chosen)


@pytest.fixture
def warehouse(monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh PostgreSQL database on the local server, dropped afterwards."""
    import psycopg2

    name = f"okta_sf_report_{uuid.uuid4().hex[:10]}"
    admin = psycopg2.connect(host="127.0.0.1", port=5432, user="postgres", dbname="postgres")
    admin.autocommit = True
    admin.cursor().execute(f'CREATE DATABASE "{name}"')
    yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    admin.cursor().execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.close()


def test_downstream_dag_loads_the_report_into_postgres_and_alerts_on_failures(
    airflow_env: AirflowEnvironment,
    sandboxes: Sandboxes,
    warehouse: str,
    webhook_receiver: list[dict[str, Any]],
) -> None:
    import psycopg2

    newcomer = next(p for p in sandboxes.seed.people if p.assigned and p.salesforce is SalesforceState.ABSENT)
    sandboxes.salesforce_app.fail_record(
        newcomer.login, "LICENSE_LIMIT_EXCEEDED", "License Limit Exceeded", ["ProfileId"]
    )
    airflow_env.extra_env["AIRFLOW_CONN_OKTA_SALESFORCE_WAREHOUSE"] = warehouse
    alerts = {"conn_type": "http", "host": webhook_receiver.pop()["url"]}  # host: the whole webhook URL
    airflow_env.extra_env["AIRFLOW_CONN_OKTA_SALESFORCE_ALERTS"] = json.dumps(alerts)
    # 1 failed write of 1 is over failures.max_failure_ratio: the run fails, the report is published.
    assert airflow_env.dags_test(RECONCILE, {"users": [newcomer.login]}, check=False) != 0
    report = airflow_env.latest_report(RECONCILE)
    lines = report_lines(airflow_env, RECONCILE)
    assert [(line["outcome"], line["error_code"]) for line in lines] == [("failed", "LICENSE_LIMIT_EXCEEDED")]

    for _ in range(2):  # a reload changes nothing
        assert airflow_env.dags_test("okta_salesforce_report_to_warehouse", {"report": report.as_uri()}) == 0

    with psycopg2.connect(warehouse) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT count(*), count(DISTINCT (dag_id, run_id, target)) FROM okta_salesforce_user_report"
        )
        assert cur.fetchone() == (len(lines), 1)
        cur.execute(
            "SELECT dag_id, target, login, error_code FROM okta_salesforce_user_report "
            "WHERE outcome = 'failed'"
        )
        assert cur.fetchall() == [(RECONCILE, "default", newcomer.login, "LICENSE_LIMIT_EXCEEDED")]
    assert len(webhook_receiver) == 2  # each load alerts: the failure is still there
    assert webhook_receiver[0]["text"].startswith("*okta-salesforce: users failed*\n1 of 1 users failed in")


def test_demo_command_finishes_and_its_summary_matches_the_sandboxes(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "okta_salesforce.cli",
            "demo",
            "--users",
            "120",
            "--workdir",
            str(tmp_path / "demo"),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "Salesforce matches Okta." in result.stdout
    assert "grace.hopper@acme.example.com was assigned" in result.stdout
    # One entitlement change: the mover leaves the Okta group that grants the permission set group.
    assert "removed permission set group Sales_Cloud_Users" in result.stdout
    assert (
        "alan.turing@acme.example.com's manager in Salesforce: grace.hopper@acme.example.com" in result.stdout
    )
