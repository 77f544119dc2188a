"""Escrow, visibility and failure notifications, run with ``airflow dags test`` against the sandboxes.

Each ``dags test`` costs 15-40 s here, so one test walks several scenarios through consecutive runs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from okta_salesforce.airflow_env import REPO_ROOT, AirflowEnvironment
from okta_salesforce.sandbox import Sandboxes
from okta_salesforce.sandbox.seed import SalesforceState

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
    leaver = next(
        p for p in people if p.assigned and p.salesforce is SalesforceState.ACTIVE and not p.via_group
    )
    for person in hires:
        sandboxes.okta_app.assign(person.login)
    sandboxes.okta_app.unassign(leaver.login)
    org = sandboxes.salesforce_app

    # 1. An incremental dry run previews the hires and the leaver, and changes nothing durable.
    assert airflow_env.dags_test(SYNC, {"dry_run": True}) == 0
    preview = report_lines(airflow_env, SYNC)
    assert {login: line["outcome"] for login, line in preview.items()} == {
        **{p.login: "dry_run" for p in hires},
        leaver.login: "dry_run",
    }
    assert org.write_requests == 0

    # 2. The real run reads the same events (the dry run left the cursor alone). Every create
    # request fails: the leaver is deactivated as previewed, the hires stay pending, the run fails.
    sandboxes.salesforce.inject("data.composite.create", "server_error", times=1_000, status=503)
    assert airflow_env.dags_test(SYNC, check=False) != 0
    failed = report_lines(airflow_env, SYNC)
    assert failed[leaver.login]["outcome"] == "success"
    assert org.user(leaver.login)["IsActive"] is False
    for person in hires:
        assert failed[person.login]["error_code"] in ("REQUEST_FAILED", "NOT_ATTEMPTED")
        assert failed[person.login]["pending"] is True
        assert org.user(person.login) is None
    notes = [body["text"] for body in webhook_receiver[1:]]
    assert len(notes) == 1, notes  # the writer's failure; the report does not announce it again
    assert "create_users" in notes[0]
    assert "HTTP 503" in notes[0]

    # 3. Salesforce recovers; no new Okta event. The pending hires are read again and created,
    # except one whose record Salesforce refuses (a per-record failure below the ratio: green).
    sandboxes.salesforce.clear_faults()
    stubborn = hires[2]
    org.fail_record(stubborn.login, "LICENSE_LIMIT_EXCEEDED", "License Limit Exceeded", [])
    assert airflow_env.dags_test(SYNC) == 0
    recovered = report_lines(airflow_env, SYNC)
    for person in hires[:2]:
        assert recovered[person.login]["outcome"] == "success"
        assert recovered[person.login]["pending"] is False
        assert org.user(person.login)["IsActive"] is True
    assert recovered[stubborn.login]["error_code"] == "LICENSE_LIMIT_EXCEEDED"
    assert (recovered[stubborn.login]["pending"], recovered[stubborn.login]["failures"]) == (True, 1)
    assert leaver.login not in recovered  # converged: no longer pending, not read again

    # 4. Still no event: the stubborn user is retried, fails again and is quarantined (N=2):
    # listed in the report, the Asset event and an alert.
    assert airflow_env.dags_test(SYNC) == 0
    quarantined = report_lines(airflow_env, SYNC)
    assert set(quarantined) == {stubborn.login}
    assert quarantined[stubborn.login]["quarantined"] is True
    alerts = [body["text"] for body in webhook_receiver[2:]]
    assert any("quarantined" in text and stubborn.login in text for text in alerts), alerts
    created = [u["Username"] for u in org.users() if u["Username"] in {p.login for p in hires}]
    assert sorted(created) == sorted(p.login for p in hires[:2])  # nobody created twice


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
