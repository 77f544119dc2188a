"""Failure notifications: the config's notifiers as one failure callback, and their config keys."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from okta_salesforce.alerts import FailureAlert, failure_callbacks, failure_message
from okta_salesforce.sync.config import ConfigError, parse_config
from okta_salesforce.sync.config_runtime import NotifierSpec

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / "include" / "okta_salesforce.yaml"


class Ti:
    dag_id = "okta_salesforce_sync"
    task_id = "plan"


def raw() -> dict[str, Any]:
    return yaml.safe_load(CONFIG.read_text(encoding="utf-8"))


def test_notifications_tasks_failures_and_writer_keys_parse() -> None:
    data = raw()
    data["notifications"] = {
        "on_failure": [
            {"webhook": {"conn_id": "chat", "format": "teams"}},
            {
                "notifier": {
                    "class": "airflow.providers.smtp.notifications.smtp.SmtpNotifier",
                    "args": {"to": "x"},
                }
            },
        ]
    }
    data["tasks"] = {"retries": 0, "retry_delay_seconds": 5}
    data["failures"] = {"quarantine_after": 3, "max_failure_ratio": 0.25}
    data["writer"] = {"batch_size": 100, "retries": 2, "timeout_seconds": 30}
    config = parse_config(data)
    assert config.notifications.on_failure == (
        NotifierSpec(kind="webhook", conn_id="chat", format="teams"),
        NotifierSpec(
            kind="notifier",
            class_path="airflow.providers.smtp.notifications.smtp.SmtpNotifier",
            args={"to": "x"},
        ),
    )
    assert (config.tasks.retries, config.tasks.retry_delay_seconds) == (0, 5)
    assert (config.failures.quarantine_after, config.failures.max_failure_ratio) == (3, 0.25)
    assert (config.writer.batch_size, config.writer.retries, config.writer.timeout_seconds) == (100, 2, 30)


def test_bad_notification_entries_name_the_key() -> None:
    data = raw()
    data["notifications"] = {
        "on_failure": [{"webhook": {"format": "telegram"}}, {"pager": {}}, {"notifier": {"class": "Smtp"}}]
    }
    data["failures"] = {"max_failure_ratio": 2}
    with pytest.raises(ConfigError) as err:
        parse_config(data)
    text = str(err.value)
    assert "notifications.on_failure[0].webhook.format: unknown format 'telegram'" in text
    assert "notifications.on_failure[1]: unknown notifier 'pager'" in text
    assert "notifications.on_failure[2].notifier.class: expected a dotted class path" in text
    assert "failures.max_failure_ratio: must be between 0 and 1" in text


def test_no_notifiers_configured_gives_no_callback() -> None:
    assert failure_callbacks(str(CONFIG)) == []


def test_failure_message_names_task_run_and_error() -> None:
    title, message = failure_message(
        {
            "ti": Ti(),
            "run_id": "scheduled__1",
            "exception": RuntimeError("Re-authorize: `okta-salesforce authorize`"),
        }
    )
    assert title == "okta-salesforce: okta_salesforce_sync failed"
    assert message == (
        "Task plan of okta_salesforce_sync (run scheduled__1) failed: RuntimeError: "
        "Re-authorize: `okta-salesforce authorize`"
    )


def test_alert_calls_each_notifier_once_and_skips_failures_already_announced(
    webhook_receiver: list[dict], monkeypatch: pytest.MonkeyPatch
) -> None:
    url = webhook_receiver.pop()["url"]
    monkeypatch.setenv("AIRFLOW_CONN_CHAT", json.dumps({"conn_type": "http", "host": url}))
    alert = FailureAlert([NotifierSpec(kind="webhook", conn_id="chat", format="json")])

    class Repeated(Exception):
        already_notified = True

    alert({"ti": Ti(), "run_id": "r1", "exception": ValueError("boom")})
    alert({"ti": Ti(), "run_id": "r1", "exception": Repeated("writers failed")})
    alert({"ti": Ti(), "run_id": "r2", "exception": ValueError("again")})
    assert [body["text"] for body in webhook_receiver] == [
        "Task plan of okta_salesforce_sync (run r1) failed: ValueError: boom",
        "Task plan of okta_salesforce_sync (run r2) failed: ValueError: again",
    ]
    assert url not in json.dumps(webhook_receiver)


def test_a_broken_notifier_does_not_stop_the_others(webhook_receiver: list[dict], monkeypatch) -> None:
    url = webhook_receiver.pop()["url"]
    monkeypatch.setenv("AIRFLOW_CONN_CHAT", json.dumps({"conn_type": "http", "host": url}))
    alert = FailureAlert(
        [
            NotifierSpec(kind="notifier", class_path="okta_salesforce.no_such_module.Notifier"),
            NotifierSpec(kind="webhook", conn_id="chat", format="slack"),
        ]
    )
    alert({"ti": Ti(), "run_id": "r1", "exception": ValueError("boom")})
    assert len(webhook_receiver) == 1


def test_a_notifier_class_gets_the_message_in_its_template(monkeypatch: pytest.MonkeyPatch) -> None:
    sent: list[str] = []
    from airflow.sdk import BaseNotifier

    class Recorder(BaseNotifier):
        template_fields = ("text",)

        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

        def notify(self, context: Any) -> None:
            sent.append(self.text)

    import okta_salesforce.alerts as alerts

    monkeypatch.setattr(alerts, "build_notifier", lambda spec: Recorder(**spec.args))
    FailureAlert(
        [NotifierSpec(kind="notifier", class_path="x.Recorder", args={"text": "ALERT {{ message }}"})]
    )({"ti": Ti(), "run_id": "r1", "exception": ValueError("boom")})
    assert sent == ["ALERT Task plan of okta_salesforce_sync (run r1) failed: ValueError: boom"]


def test_a_notifier_class_path_is_imported_on_every_supported_airflow() -> None:
    from okta_salesforce.alerts import build_notifier
    from okta_salesforce.notifiers import WebhookNotifier

    notifier = build_notifier(
        NotifierSpec(
            kind="notifier",
            class_path="okta_salesforce.notifiers.WebhookNotifier",
            args={"text": "{{ message }}", "http_conn_id": "chat"},
        )
    )
    assert isinstance(notifier, WebhookNotifier)
    assert notifier.text == "{{ message }}"
