"""Several targets from one config, run with ``airflow dags test`` against four sandboxes at once.

Three targets cover both shapes of issue 15:

* ``sales`` (Okta org *acme*, app 1) and ``service`` (Okta org *acme*, app 2) go to two Salesforce
  orgs: one Okta org with two apps to two Salesforce sandboxes; some people are in both apps.
* ``sales`` and ``south`` (Okta org *globex*) go to the same Salesforce org: two Okta orgs to one
  Salesforce org, kept apart by ``managed.filters`` on the FederationIdentifier's domain.

Each org ends with exactly its apps' users, and an unassignment in one target touches only its org.
Three ``dags test`` runs per test (about 15 s each): two reconciles, then one incremental sync.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from okta_salesforce_testbed.airflow_env import AirflowEnvironment
from okta_salesforce_testbed.sandbox import Sandboxes

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[3]
SERVICE_APP = "0oaservicecloud0002"


def linked_active(sandboxes: Sandboxes, domain: str) -> set[str]:
    """FederationIdentifiers of the active, unfrozen Salesforce users whose login is in ``domain``."""
    return {
        str(u["FederationIdentifier"]).lower()
        for u in sandboxes.salesforce_app.users()
        if str(u.get("FederationIdentifier") or "").lower().endswith("@" + domain)
        and u.get("IsActive")
        and not u.get("IsFrozen")
    }


def assigned(sandboxes: Sandboxes, app_id: str | None = None) -> set[str]:
    """Logins assigned to an app of the sandbox's Okta org (the seeded app by default)."""
    okta = sandboxes.okta_app
    with okta.lock:
        directory = okta.apps[app_id or okta.directory.app_id]
        return {directory.users[user_id].login.lower() for user_id in directory.app_users}


def filters(domain: str) -> dict[str, Any]:
    pattern = "@" + domain.replace(".", r"\.") + "$"
    return {"filters": [{"attribute": "FederationIdentifier", "operator": "matches", "values": [pattern]}]}


@pytest.fixture
def orgs(tmp_path: Path) -> Iterator[dict[str, Sandboxes]]:
    """acme (Okta org with two apps, Salesforce org 1), service (Salesforce org 2), globex (Okta org)."""
    with (
        Sandboxes(users=40, directory=tmp_path / "acme") as acme,
        Sandboxes(users=0, directory=tmp_path / "service") as service,
        Sandboxes(
            users=12, seed=8, email_domain="globex.example.com", directory=tmp_path / "globex"
        ) as globex,
    ):
        yield {"acme": acme, "service": service, "globex": globex}


@pytest.fixture
def env(tmp_path: Path, migrated_airflow: Path, orgs: dict[str, Sandboxes]) -> AirflowEnvironment:
    """Airflow with a three-target config and each target's connections."""
    acme, service, globex = orgs["acme"], orgs["service"], orgs["globex"]
    people = [p.login for p in acme.seed.people if p.assigned]
    # Service Cloud: a few people who also have Sales Cloud, and a few who only have Service Cloud.
    acme.okta_app.add_app(SERVICE_APP, people[:6] + [p.login for p in acme.seed.people if not p.assigned][:2])

    shutil.copytree(migrated_airflow, tmp_path / "airflow")
    airflow = AirflowEnvironment(workdir=tmp_path, sandboxes=acme)
    shared = yaml.safe_load((REPO / "include" / "okta_salesforce.yaml").read_text(encoding="utf-8"))
    del shared["okta"]["app_id"]
    shared["guards"]["trust_allow_mass_deactivation_param"] = True  # the acme seed deprovisions many
    config = {
        **shared,
        "targets": [
            {
                "name": "sales",
                "okta": {"app_id": acme.seed.okta_app_id},
                "managed": filters("acme.example.com"),
            },
            {
                "name": "service",
                "okta": {"app_id": SERVICE_APP},
                "salesforce": {"conn_id": "salesforce_service"},
            },
            {
                "name": "south",
                "okta": {"app_id": globex.seed.okta_app_id, "conn_id": "okta_globex"},
                "managed": filters("globex.example.com"),
            },
        ],
    }
    path = tmp_path / "targets.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    airflow.extra_env.update(
        OKTA_SALESFORCE_CONFIG=str(path),
        AIRFLOW_CONN_SALESFORCE_SERVICE=json.dumps(service.salesforce_connection()),
        AIRFLOW_CONN_OKTA_GLOBEX=json.dumps(globex.okta_connection()),
    )
    return airflow


def report(env: AirflowEnvironment, dag_id: str) -> list[dict[str, Any]]:
    path = env.latest_report(dag_id)
    assert path is not None, f"{dag_id} wrote no report"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


TRUSTED = {"allow_mass_deactivation": True}  # the acme seed deprovisions more than the guard allows


def test_one_okta_org_with_two_apps_to_two_salesforce_orgs(
    env: AirflowEnvironment, orgs: dict[str, Sandboxes]
) -> None:
    acme, service = orgs["acme"], orgs["service"]
    sales_users, service_users = assigned(acme), assigned(acme, SERVICE_APP)
    assert sales_users & service_users, "some people have both apps"
    assert service_users - sales_users, "some people have only the second app"

    for name in ("sales", "service"):
        assert env.dags_test(f"okta_salesforce_reconcile__{name}", TRUSTED) == 0, name

    assert linked_active(acme, "acme.example.com") == sales_users
    assert linked_active(service, "acme.example.com") == service_users
    lines = report(env, "okta_salesforce_reconcile__service")
    assert {line["target"] for line in lines} == {"service"}
    assert {line["outcome"] for line in lines} == {"success"}

    # An unassignment in service (someone who keeps Sales Cloud) touches only the service org.
    leaver = sorted(sales_users & service_users)[0]
    acme.okta_app.unassign(leaver, app=SERVICE_APP)
    acme_writes = acme.salesforce_app.write_requests
    assert env.dags_test("okta_salesforce_sync__service") == 0
    assert acme.salesforce_app.write_requests == acme_writes
    assert linked_active(service, "acme.example.com") == service_users - {leaver}
    assert leaver in linked_active(acme, "acme.example.com")
    assert [
        (line["login"].lower(), line["action"]) for line in report(env, "okta_salesforce_sync__service")
    ] == [(leaver, "deactivate")]

    # The target keeps its own System Log cursor and escrow Variables.
    env.airflow("variables", "export", str(env.workdir / "variables.json"), log_name="variables-export")
    variables = json.loads((env.workdir / "variables.json").read_text(encoding="utf-8"))
    assert {"okta_salesforce_log_cursor__service", "okta_salesforce_pending__service"} <= set(variables)
    assert not {"okta_salesforce_log_cursor", f"okta_salesforce_pending__{SERVICE_APP}"} & set(variables)


def test_two_okta_orgs_to_one_salesforce_org(env: AirflowEnvironment, orgs: dict[str, Sandboxes]) -> None:
    acme, service, globex = orgs["acme"], orgs["service"], orgs["globex"]
    sales_users, south_users = assigned(acme), assigned(globex)

    for name in ("sales", "south"):
        assert env.dags_test(f"okta_salesforce_reconcile__{name}", TRUSTED) == 0, name

    # One org, each target's users by their domain; neither deprovisioned the other's.
    assert linked_active(acme, "acme.example.com") == sales_users
    assert linked_active(acme, "globex.example.com") == south_users

    # south's unassignment deactivates its user in the shared org, and no sales user.
    south_leaver = sorted(south_users)[0]
    globex.okta_app.unassign(south_leaver)
    assert env.dags_test("okta_salesforce_sync__south") == 0
    assert linked_active(acme, "globex.example.com") == south_users - {south_leaver}
    assert linked_active(acme, "acme.example.com") == sales_users
    assert [
        (line["login"].lower(), line["action"]) for line in report(env, "okta_salesforce_sync__south")
    ] == [(south_leaver, "deactivate")]
    assert service.salesforce_app.write_requests == 0  # the third target's org saw nothing
