"""WebhookNotifier: the body each chat tool accepts, templating, and the webhook URL kept secret."""

from __future__ import annotations

import json
import logging

import pytest

from okta_salesforce.notifiers import WEBHOOK_FORMATS, WebhookNotifier, webhook_body


@pytest.mark.parametrize("fmt", ["slack", "google_chat"])
def test_slack_and_google_chat_take_a_text_body(fmt: str) -> None:
    assert webhook_body(fmt, "Sync failed", "3 users") == {"text": "*Sync failed*\n3 users"}


def test_teams_workflows_get_an_adaptive_card_not_a_text_body() -> None:
    body = webhook_body("teams", "Sync failed", "3 users")
    assert "text" not in body
    assert body["type"] == "message"
    (attachment,) = body["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert card["type"] == "AdaptiveCard"
    assert [block["text"] for block in card["body"]] == ["Sync failed", "3 users"]


def test_discord_content_is_cut_to_its_limit() -> None:
    body = webhook_body("discord", "t", "x" * 5000)
    assert len(body["content"]) == 2000
    assert body["content"].endswith("…")


def test_json_body_names_the_run() -> None:
    class Ti:
        task_id = "report"

    body = webhook_body("json", "t", "x", {"run_id": "manual__1", "ti": Ti()})
    assert body == {"title": "t", "text": "x", "dag_id": None, "run_id": "manual__1", "task_id": "report"}


def test_unknown_format_is_refused_when_built() -> None:
    with pytest.raises(ValueError, match="'telegram' is not one of slack"):
        WebhookNotifier(text="x", format="telegram")
    assert "teams" in WEBHOOK_FORMATS


def test_notify_posts_the_rendered_message_and_masks_the_webhook_url(
    webhook_receiver, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    url = webhook_receiver.pop()["url"]
    monkeypatch.setenv(
        "AIRFLOW_CONN_CHAT", json.dumps({"conn_type": "http", "host": url, "extra": {"format": "teams"}})
    )
    notifier = WebhookNotifier(
        title="{{ dag_id_label }} failed", text="Run {{ run_id }}: {{ reason }}", http_conn_id="chat"
    )
    with caplog.at_level(logging.DEBUG):
        notifier({"run_id": "scheduled__2026", "dag_id_label": "okta_salesforce_sync", "reason": "boom"})
    (body,) = webhook_receiver
    texts = [block["text"] for block in body["attachments"][0]["content"]["body"]]
    assert texts == ["okta_salesforce_sync failed", "Run scheduled__2026: boom"]
    # Task logs go through Airflow's secrets masker: the URL and its path alone (urllib3 logs the
    # path at DEBUG) are registered, and nothing we log ourselves names them.
    from airflow.sdk._shared.secrets_masker import redact

    for logged in (url, "/hooks/T0SECRET/B0SECRET", '"POST /hooks/T0SECRET/B0SECRET HTTP/1.1" 200 2'):
        assert "T0SECRET" not in str(redact(logged))
    assert "T0SECRET" not in caplog.text.replace("/hooks/T0SECRET/B0SECRET", "")  # only urllib3's path line


def test_notify_raises_when_the_connection_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    from okta_salesforce.version_compat import AirflowNotFoundException

    with pytest.raises(AirflowNotFoundException):
        WebhookNotifier(text="x", http_conn_id="no_such_webhook")({})
