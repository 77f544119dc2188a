"""The secrets canary: after the whole e2e run, no sandbox secret is in any log, XCom, report or API answer.

Runs last in the e2e group (tests/e2e/conftest.py orders it). The sandboxes' real secrets are the
canaries: the Okta API token, the Salesforce consumer secret and refresh token, every access/refresh
token the sandboxes issued during the run, the admin password, and each line of both private keys.
A second test proves the scanner is not blind: a tiny DAG prints a planted value Airflow does not
know is secret, and the scanner must find it in that task's log.
"""

from __future__ import annotations

from typing import Any

import pytest
from e2e_harness import ApiClient, Deployment, sandbox_secrets, scan_texts, scan_tree

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

CANARY_DAG = "e2e_secret_canary"


def _all_runs(api: ApiClient) -> list[dict[str, Any]]:
    return api.get("/dags/~/dagRuns", limit=100)["dag_runs"]


def test_scanner_finds_a_deliberately_logged_secret(
    deployment: Deployment, api: ApiClient, e2e_sandboxes: Any, planted_canary: str
) -> None:
    api.wait_for_dag(CANARY_DAG)
    run = api.trigger(CANARY_DAG, {})
    final = api.wait_for_run(CANARY_DAG, run["dag_run_id"], timeout=180)
    assert final["state"] == "success"
    run_logs = deployment.log_folder / f"dag_id={CANARY_DAG}"

    planted = {"planted canary": planted_canary}
    findings = scan_tree(run_logs, planted)
    assert findings, "the scanner missed a value a task printed into its log"
    assert all("task_id=leak_planted" in f.where for f in findings)
    # Through the REST API too (what the UI's log view shows).
    log_text = api.task_log(CANARY_DAG, run["dag_run_id"], "leak_planted", 1)
    assert scan_texts([("api log", log_text)], planted)

    # The same DAG printed the Okta API token from okta_default: Airflow masked it.
    masked_log = api.task_log(CANARY_DAG, run["dag_run_id"], "print_connection_secret", 1)
    assert "token as the task sees it: ***" in masked_log
    assert not scan_tree(run_logs, sandbox_secrets(e2e_sandboxes))


def test_no_sandbox_secret_leaks_anywhere(deployment: Deployment, api: ApiClient, e2e_sandboxes: Any) -> None:
    needles = sandbox_secrets(e2e_sandboxes)
    assert len(needles) >= 6, "the canary set is suspiciously small"
    assert any(name.startswith("issued token") for name in needles), "no token issued during the run"
    runs = _all_runs(api)
    assert runs, "no DAG ran before the canary check"

    # REST API answers: connections (must be masked), variables, runs, task instances, XComs, logs.
    texts: list[tuple[str, str]] = []
    for path in ("/connections", "/variables", "/eventLogs", "/pools", "/config"):
        response = api.request("GET", path, params={"limit": 100})
        texts.append((f"GET {path}", response.text))
    for conn_id in ("okta_default", "salesforce_oauth_default"):
        response = api.request("GET", f"/connections/{conn_id}")
        texts.append((f"GET /connections/{conn_id}", response.text))
    for run in runs:
        dag_id, run_id = run["dag_id"], run["dag_run_id"]
        for xcom in api.xcom_values(dag_id, run_id):
            texts.append((f"xcom {dag_id}/{run_id}/{xcom['task_id']}/{xcom['key']}", str(xcom["value"])))
        for ti in api.task_instances(dag_id, run_id):
            if ti["try_number"]:
                log = api.task_log(dag_id, run_id, ti["task_id"], ti["try_number"], ti["map_index"])
                texts.append((f"api log {dag_id}/{run_id}/{ti['task_id']}", log))
    # Every API answer any e2e test received (the UI test's included, via its own captures).
    texts += api.responses
    findings = scan_texts(texts, needles)

    # Files: task logs, component logs, reports and run files (storage), the Airflow home.
    assert deployment.run_dir is not None
    findings += scan_tree(deployment.run_dir, needles)

    assert not findings, "secrets leaked:\n" + "\n".join(sorted(map(str, findings)))


def test_connections_endpoint_masks_secrets(api: ApiClient) -> None:
    okta = api.get("/connections/okta_default")
    salesforce = api.get("/connections/salesforce_oauth_default")
    assert okta["password"] in (None, "***", "")
    assert salesforce["password"] in (None, "***", "")
    assert "***" in (salesforce["extra"] or "")  # refresh_token is masked, not absent
