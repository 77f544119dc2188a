"""ReportFailureAlertOperator: failed users reach the chat tool through Airflow notifiers."""

from __future__ import annotations

import json
from typing import Any

import pytest
from airflow.sdk import BaseNotifier

from okta_salesforce.notifiers import WebhookNotifier
from okta_salesforce.operators.report_alert import ALERT_TEXT, ALERT_TITLE, ReportFailureAlertOperator
from okta_salesforce.version_compat import AirflowSkipException

LOADED = {
    "table": "okta_salesforce_user_report",
    "rows": 1204,
    "failed": 3,
    "runs": ["okta_salesforce_sync scheduled__2026-11-30T10:15:00+00:00 (default)"],
    "reports": [],
}


def chat(monkeypatch: pytest.MonkeyPatch, url: str, fmt: str | None = None) -> None:
    conn: dict[str, Any] = {"conn_type": "http", "host": url}
    if fmt:
        conn["extra"] = {"format": fmt}
    monkeypatch.setenv("AIRFLOW_CONN_OKTA_SALESFORCE_ALERTS", json.dumps(conn))


def test_failed_users_post_an_adaptive_card_to_a_teams_workflow(
    webhook_receiver: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    chat(monkeypatch, webhook_receiver.pop()["url"], "teams")
    operator = ReportFailureAlertOperator(
        task_id="alert_on_failures",
        loaded=LOADED,
        notifiers=[WebhookNotifier(title=ALERT_TITLE, text=ALERT_TEXT)],
    )

    assert operator.execute({"run_id": "asset_triggered__1"}) == {"failed": 3, "notified": 1}

    (body,) = webhook_receiver
    card = body["attachments"][0]["content"]
    assert [block["text"] for block in card["body"]] == [
        "okta-salesforce: users failed",
        "3 of 1204 users failed in okta_salesforce_sync scheduled__2026-11-30T10:15:00+00:00 (default). "
        "Their rows have outcome = 'failed' in okta_salesforce_user_report.",
    ]


def test_the_default_notifier_posts_slack_text(
    webhook_receiver: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    chat(monkeypatch, webhook_receiver.pop()["url"])
    ReportFailureAlertOperator(task_id="alert", loaded=LOADED).execute({})
    (body,) = webhook_receiver
    assert body["text"].startswith(
        "*okta-salesforce: users failed*\n3 of 1204 users failed in okta_salesforce_sync"
    )


def test_any_notifier_gets_the_loaded_counts_in_its_context() -> None:
    seen: list[Any] = []

    class Recorder(BaseNotifier):
        template_fields = ("message",)

        def __init__(self, message: str) -> None:
            super().__init__()
            self.message = message

        def notify(self, context: Any) -> None:
            seen.append(self.message)

    ReportFailureAlertOperator(
        task_id="alert", loaded=LOADED, notifiers=[Recorder("{{ loaded.failed }} in {{ loaded.table }}")]
    ).execute({})
    assert seen == ["3 in okta_salesforce_user_report"]


def test_nobody_failed_skips(webhook_receiver: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch) -> None:
    chat(monkeypatch, webhook_receiver.pop()["url"])
    with pytest.raises(AirflowSkipException, match="No failed users"):
        ReportFailureAlertOperator(task_id="alert", loaded={**LOADED, "failed": 0}).execute({})
    assert webhook_receiver == []


def test_without_the_connection_the_task_skips_with_the_count() -> None:
    with pytest.raises(AirflowSkipException, match="3 users failed, but no notifier"):
        ReportFailureAlertOperator(task_id="alert", loaded=LOADED, http_conn_id="no_such_webhook").execute({})


def test_a_webhook_error_fails_the_task(monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow.providers.http.hooks.http import HttpHook

    def refuse(self: HttpHook, *args: Any, **kwargs: Any) -> None:
        raise RuntimeError("HTTP 400: Bad payload")

    monkeypatch.setattr(HttpHook, "run", refuse)
    chat(monkeypatch, "https://hooks.example.com/services/T0SECRET/B0SECRET")
    with pytest.raises(RuntimeError, match="Bad payload") as failure:
        ReportFailureAlertOperator(task_id="alert", loaded=LOADED).execute({})
    assert "T0SECRET" not in str(failure.value)
