"""Every department of the shipped config, Engineering → Chatter Free (UserType CsnOnly) included:
a leaver and a title change each, through the incremental and the full DAG."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from okta_salesforce_testbed.airflow_env import AirflowEnvironment
from okta_salesforce_testbed.sandbox import Sandboxes
from okta_salesforce_testbed.sandbox.audit import IN_SCOPE_ASSIGNMENTS, IN_SCOPE_USERS, audit
from okta_salesforce_testbed.sandbox.seed import Person, SalesforceState

pytestmark = pytest.mark.integration
SHIPPED_CONFIG = Path(__file__).resolve().parents[3] / "include" / "okta_salesforce.yaml"


def _departments() -> dict[str, str]:
    """Department → profile, from the shipped config's lookup table."""
    config = yaml.safe_load(SHIPPED_CONFIG.read_text(encoding="utf-8"))
    return {str(k): str(v) for k, v in config["mapping"]["ProfileId"]["table"].items()}


def _settled(sandboxes: Sandboxes) -> dict[str, list[Person]]:
    """Per department, people assigned and in scope in Okta whose Salesforce user is active and in step."""
    directory = sandboxes.okta_app.directory
    out: dict[str, list[Person]] = {}
    for person in sandboxes.seed.people:
        user = directory.find_user(person.login)
        app_user = directory.app_users.get(user.id) if user else None
        if (
            person.salesforce is SalesforceState.ACTIVE
            and app_user is not None
            and user.status in IN_SCOPE_USERS
            and app_user.status in IN_SCOPE_ASSIGNMENTS
        ):
            out.setdefault(person.department, []).append(person)
    return out


def _report(env: AirflowEnvironment, dag_id: str) -> dict[str, tuple[str, str]]:
    report = env.latest_report(dag_id)
    assert report is not None, f"{dag_id} wrote no report"
    lines = [json.loads(line) for line in report.read_text(encoding="utf-8").splitlines()]
    return {line["login"].casefold(): (line["action"], line["outcome"]) for line in lines}


def test_a_leaver_and_a_title_change_in_every_department_land(
    airflow_env: AirflowEnvironment, sandboxes: Sandboxes
) -> None:
    departments = _departments()
    assert departments["Engineering"] == "Chatter Free User"
    settled = _settled(sandboxes)
    assert set(departments) <= set(settled), "the seed has settled people in every department"
    assert all(len(settled[d]) >= 4 for d in departments), {d: len(settled[d]) for d in departments}
    salesforce = sandboxes.salesforce_app
    engineer = salesforce.user(settled["Engineering"][0].login.lower())
    assert engineer is not None
    assert engineer["UserType"] == "CsnOnly"

    runs: dict[str, list[tuple[Person, Person]]] = {
        "okta_salesforce_sync": [],
        "okta_salesforce_reconcile": [],
    }
    for department in departments:
        first_leaver, first_mover, second_leaver, second_mover = settled[department][:4]
        runs["okta_salesforce_sync"].append((first_leaver, first_mover))
        runs["okta_salesforce_reconcile"].append((second_leaver, second_mover))
    for pairs in runs.values():
        for leaver, mover in pairs:
            sandboxes.okta_app.unassign(leaver.login)
            sandboxes.okta_app.update_profile(mover.login, title=f"Principal {mover.department} Lead")

    sync = runs["okta_salesforce_sync"]
    conf: dict[str, Any] = {"users": [p.login for pair in sync for p in pair]}
    assert airflow_env.dags_test("okta_salesforce_sync", conf) == 0
    # The seed's reconcile deprovisions more than the guard allows: the admin lets this run's param through.
    trusting = yaml.safe_load(SHIPPED_CONFIG.read_text(encoding="utf-8"))
    trusting["guards"]["trust_allow_mass_deactivation_param"] = True
    config = airflow_env.workdir / "okta_salesforce.yaml"
    config.write_text(yaml.safe_dump(trusting), encoding="utf-8")
    airflow_env.extra_env["OKTA_SALESFORCE_CONFIG"] = str(config)
    assert airflow_env.dags_test("okta_salesforce_reconcile", {"allow_mass_deactivation": True}) == 0

    for dag_id, pairs in runs.items():
        report = _report(airflow_env, dag_id)
        for leaver, mover in pairs:
            gone = salesforce.user(leaver.login.lower())
            moved = salesforce.user(mover.login.lower())
            assert gone is not None
            assert moved is not None
            assert gone["IsActive"] is False, (
                dag_id,
                leaver.department,
                gone["UserType"],
                report.get(leaver.login.casefold()),
            )
            assert moved["Title"] == f"Principal {mover.department} Lead", (dag_id, mover.department)
            assert report[leaver.login.casefold()] == ("deactivate", "success")
            assert report[mover.login.casefold()] == ("update", "success")
    after = audit(sandboxes)
    assert after.lingering == []
    assert after.mismatched == {}
    assert after.missing == []
