"""A chat-webhook notifier (Airflow's notifier interface) for failures, approvals and report alerts.

``WebhookNotifier`` posts one message through the HTTP provider's ``HttpHook`` (its retries,
proxies and TLS settings) to an ``http`` connection whose host is the whole webhook URL. The body
is the one each chat tool documents for its incoming webhooks:

==============  =======================================================================
``format``      body
==============  =======================================================================
``slack``       ``{"text": ...}`` (Slack incoming webhooks; also Mattermost, Rocket.Chat)
``teams``       a ``message`` with one Adaptive Card attachment (Microsoft Teams Workflows
                "When a Teams webhook request is received"; the retired O365 connectors
                took ``{"text"}``, Workflows do not)
``google_chat`` ``{"text": ...}`` (Google Chat space webhooks)
``discord``     ``{"content": ...}`` (at most 2,000 characters)
``json``        ``{"title", "text", "dag_id", "run_id", "task_id"}`` for your own receiver
==============  =======================================================================

The format comes from the notifier's ``format`` argument, else the connection's extra
``format``, else ``slack``. A webhook URL is a secret (anyone holding it can post): it is
masked in the task logs and never part of a message or an exception.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from airflow.sdk import BaseNotifier

if TYPE_CHECKING:
    from airflow.sdk import Context

#: Chat formats ``WebhookNotifier`` knows.
WEBHOOK_FORMATS = ("slack", "teams", "google_chat", "discord", "json")

#: Discord rejects longer ``content``; the others accept far more than a notification holds.
_DISCORD_MAX = 2000


def webhook_body(fmt: str, title: str, text: str, context: dict[str, Any] | None = None) -> dict[str, Any]:
    """The JSON body the chat tool ``fmt`` accepts for a message ``title`` + ``text``.

    :raises ValueError: for a format not in :data:`WEBHOOK_FORMATS`.
    """
    if fmt in ("slack", "google_chat"):
        return {"text": f"*{title}*\n{text}"}
    if fmt == "discord":
        content = f"**{title}**\n{text}"
        return {"content": content[: _DISCORD_MAX - 1] + "…" if len(content) > _DISCORD_MAX else content}
    if fmt == "teams":
        card = {
            "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
            "type": "AdaptiveCard",
            "version": "1.4",
            "body": [
                {"type": "TextBlock", "text": title, "weight": "Bolder", "size": "Medium", "wrap": True},
                {"type": "TextBlock", "text": text, "wrap": True},
            ],
        }
        return {
            "type": "message",
            "attachments": [
                {
                    "contentType": "application/vnd.microsoft.card.adaptive",
                    "contentUrl": None,
                    "content": card,
                }
            ],
        }
    if fmt == "json":
        context = context or {}
        ti = context.get("ti") or context.get("task_instance")
        return {
            "title": title,
            "text": text,
            "dag_id": getattr(context.get("dag"), "dag_id", None),
            "run_id": context.get("run_id"),
            "task_id": getattr(ti, "task_id", None),
        }
    raise ValueError(f"format: {fmt!r} is not one of {', '.join(WEBHOOK_FORMATS)}")


class WebhookNotifier(BaseNotifier):
    """Post ``title`` and ``text`` (both Jinja-templated with the task context) to a chat webhook.

    Use it wherever Airflow takes a notifier: ``on_failure_callback=WebhookNotifier(...)`` on a DAG
    or task, or ``notifiers=[...]`` on the approval operator.

    :param text: the message; templated (``{{ dag.dag_id }}``, ``{{ run_id }}``, ``{{ exception }}`` ...).
    :param title: the message's first line; templated.
    :param http_conn_id: an ``http`` connection whose host is the webhook URL.
    :param format: one of :data:`WEBHOOK_FORMATS`; ``None`` reads the connection's extra ``format``.
    """

    template_fields: Sequence[str] = ("text", "title")

    def __init__(
        self,
        *,
        text: str,
        title: str = "okta-salesforce",
        http_conn_id: str = "okta_salesforce_alerts",
        format: str | None = None,
    ) -> None:
        super().__init__()
        if format is not None and format not in WEBHOOK_FORMATS:
            raise ValueError(f"format: {format!r} is not one of {', '.join(WEBHOOK_FORMATS)}")
        self.text = text
        self.title = title
        self.http_conn_id = http_conn_id
        self.format = format

    def notify(self, context: Context) -> None:
        """Send the message; raises when the webhook answers an error (after the hook's retries)."""
        from airflow.providers.http.hooks.http import HttpHook
        from airflow.sdk import BaseHook
        from airflow.sdk.log import mask_secret

        conn = BaseHook.get_connection(self.http_conn_id)
        if conn.host:
            # The whole URL and its path: urllib3 logs the path on its own at DEBUG.
            mask_secret(conn.host)
            path = urlsplit(conn.host).path
            if path.strip("/"):
                mask_secret(path)
        fmt = self.format or (conn.extra_dejson or {}).get("format") or "slack"
        body = webhook_body(fmt, str(self.title), str(self.text), dict(context))
        hook = HttpHook(method="POST", http_conn_id=self.http_conn_id)
        response = hook.run(
            endpoint="",
            data=json.dumps(body, ensure_ascii=False),
            headers={"Content-Type": "application/json"},
        )
        self.log.info(
            "Notification posted to connection %s (HTTP %s).", self.http_conn_id, response.status_code
        )
