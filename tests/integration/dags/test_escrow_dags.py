"""Escrow, visibility and failure notifications, run with ``airflow dags test`` against the sandboxes.

Each ``dags test`` costs 15-40 s here, so one test walks several scenarios through consecutive runs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from okta_salesforce_testbed.airflow_env import REPO_ROOT, AirflowEnvironment
from okta_salesforce_testbed.sandbox import Sandboxes
from okta_salesforce_testbed.sandbox.seed import SalesforceState

pytestmark = pytest.mark.integration

SYNC = "okta_salesforce_sync"
RECONCILE = "okta_salesforce_reconcile"


def report_lines(env: AirflowEnvironment, dag_id: str) -> dict[str, dict[str, Any]]:
    report = env.latest_report(dag_id)
    assert report is not None, f"{dag_id} wrote no report"
    lines = [json.loads(line) for line in report.read_text(encoding="utf-8").splitlines()]
    return {line["login"]: line for line in lines}


def use_config(env: AirflowEnvironment, tmp_path: Path, webhook_url: str, **sections: Any) -> None:
    """The shipped config plus ``sections``, and a webhook failure notifier on a local receiver."""
    config = yaml.safe_load((REPO_ROOT / "include" / "okta_salesforce.yaml").read_text(encoding="utf-8"))
    config.update(sections)
    config["notifications"] = {
        "on_failure": [{"webhook": {"conn_id": "okta_salesforce_alerts", "format": "json"}}]
    }
    path = tmp_path / "okta_salesforce.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    alerts = {"conn_type": "http", "host": webhook_url}
    env.extra_env.update(
        OKTA_SALESFORCE_CONFIG=str(path), AIRFLOW_CONN_OKTA_SALESFORCE_ALERTS=json.dumps(alerts)
    )


@pytest.mark.timeout(1800)  # three `dags test` runs on a shared 2-core machine
def test_failed_writes_are_escrowed_retried_without_events_and_quarantined(
    airflow_env: AirflowEnvironment, sandboxes: Sandboxes, tmp_path: Path, webhook_receiver: list[dict]
) -> None:
    use_config(
        airflow_env,
        tmp_path,
        webhook_receiver[0]["url"],
        tasks={"retries": 0},
        writer={"retries": 1, "retry_backoff_seconds": 0},
        failures={"quarantine_after": 2, "max_failure_ratio": 0.5},
    )
    people = sandboxes.seed.people
    hires = [p for p in people if not p.assigned and p.salesforce is SalesforceState.ABSENT][:3]
    leaver, stubborn = [
        p for p in people if p.assigned and p.salesforce is SalesforceState.ACTIVE and not p.via_group
    ][:2]
    for person in hires:
        sandboxes.okta_app.assign(person.login)
    for person in (leaver, stubborn):
        sandboxes.okta_app.unassign(person.login)
    org = sandboxes.salesforce_app
    org.fail_record(stubborn.login, "CANNOT_UPDATE_CONVERTED_LEAD", "blocked by a validation rule", [])

    # 1. An incremental dry run previews the hires and the leavers, and changes nothing durable.
    assert airflow_env.dags_test(SYNC, {"dry_run": True}) == 0
    preview = report_lines(airflow_env, SYNC)
    assert {login: line["outcome"] for login, line in preview.items()} == {
        **{p.login: "dry_run" for p in [*hires, leaver, stubborn]}
    }
    assert org.write_requests == 0

    # 2. The real run reads the same events (the dry run left the cursor alone) and applies what
    # the dry run previewed, except: every create request fails (503, after the writer's retry),
    # and Salesforce refuses the stubborn leaver's record. The run fails; nobody is lost.
    sandboxes.salesforce.inject("data.composite.create", "server_error", times=1_000, status=503)
    assert airflow_env.dags_test(SYNC, check=False) != 0
    failed = report_lines(airflow_env, SYNC)
    assert set(failed) == set(preview)
    assert failed[leaver.login]["outcome"] == "success"
    assert org.user(leaver.login)["IsActive"] is False
    for person in hires:
        assert failed[person.login]["error_code"] in ("REQUEST_FAILED", "NOT_ATTEMPTED")
        assert failed[person.login]["pending"] is True
        assert org.user(person.login) is None
    assert failed[stubborn.login]["error_code"] == "CANNOT_UPDATE_CONVERTED_LEAD"
    assert (failed[stubborn.login]["pending"], failed[stubborn.login]["failures"]) == (True, 1)
    notes = [body["text"] for body in webhook_receiver[1:]]
    assert len(notes) == 1, notes  # the writer's failure; the report does not announce it again
    assert "create_users" in notes[0]
    assert "HTTP 503" in notes[0]

    # 3. Salesforce recovers; no new Okta event. The pending users are read again: the hires are
    # created, the stubborn leaver fails a second time and is quarantined (N=2): marked in the
    # report and announced. 1 failure of 4 writes is under the ratio: the run is green.
    sandboxes.salesforce.clear_faults()
    assert airflow_env.dags_test(SYNC) == 0
    recovered = report_lines(airflow_env, SYNC)
    assert set(recovered) == {p.login for p in [*hires, stubborn]}  # the leaver converged in run 2
    for person in hires:
        assert recovered[person.login]["outcome"] == "success"
        assert recovered[person.login]["pending"] is False
        assert org.user(person.login)["IsActive"] is True
    assert recovered[stubborn.login]["error_code"] == "CANNOT_UPDATE_CONVERTED_LEAD"
    assert recovered[stubborn.login]["quarantined"] is True
    assert recovered[stubborn.login]["failures"] == 2
    alerts = [body["text"] for body in webhook_receiver[2:]]
    assert len(alerts) == 1, alerts
    assert "quarantined" in alerts[0]
    assert stubborn.login in alerts[0]
    usernames = [u["Username"] for u in org.users()]
    assert len(usernames) == len(set(usernames))  # nobody created twice


def test_a_revoked_refresh_token_fails_once_and_says_how_to_reauthorize(
    airflow_env: AirflowEnvironment, sandboxes: Sandboxes, tmp_path: Path, webhook_receiver: list[dict]
) -> None:
    use_config(airflow_env, tmp_path, webhook_receiver[0]["url"])  # default retries: 2
    refresh_token = sandboxes.seed.credentials.salesforce_refresh_token
    sandboxes.salesforce_app.oauth.revoke_refresh_token(refresh_token)  # as "Revoke" in Setup does

    assert airflow_env.dags_test(RECONCILE, check=False) != 0

    log = (airflow_env.logs / f"dags-test-{RECONCILE}.log").read_text(encoding="utf-8")
    assert log.count("ReauthorizationRequired") >= 1
    assert "up_for_retry" not in log.lower()
    notes = [body["text"] for body in webhook_receiver[1:]]
    assert len(notes) == 1, notes
    assert "salesforce_oauth_default" in notes[0]
    assert "okta-salesforce authorize" in notes[0]
    assert refresh_token not in notes[0]
