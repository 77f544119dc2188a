"""Tell people when loaded reports have failed users, through Airflow notifiers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

if TYPE_CHECKING:
    from airflow.sdk import BaseNotifier, Context

#: The default message; ``loaded`` is the load task's XCom (``failed``, ``rows``, ``runs``, ``table``).
ALERT_TITLE = "okta-salesforce: users failed"
ALERT_TEXT = (
    "{{ loaded.failed }} of {{ loaded.rows }} users failed in {{ loaded.runs | join(', ') }}. "
    "Their rows have outcome = 'failed' in {{ loaded.table }}."
)


class ReportFailureAlertOperator(BaseOperator):
    """Call notifiers when the loaded reports have failed users; skip when nobody failed.

    Each notifier gets the task's context plus ``loaded`` (the ``LoadReportToSqlOperator`` XCom),
    so templated messages can say ``{{ loaded.failed }}``. Without ``notifiers``, a
    :class:`~okta_salesforce.notifiers.WebhookNotifier` posts :data:`ALERT_TEXT` to ``http_conn_id``
    in the body the connection's chat tool expects (extra ``format``: slack, teams, google_chat,
    discord, json). A notifier whose connection does not exist is skipped with a warning; the task
    is skipped when none could send, and fails when one raised anything else.

    :param loaded: the ``LoadReportToSqlOperator`` XCom.
    :param notifiers: Airflow notifiers (``BaseNotifier``) to call.
    :param http_conn_id: the webhook connection of the default notifier.
    """

    template_fields: Sequence[str] = ("loaded",)

    def __init__(
        self,
        *,
        loaded: dict[str, Any] | Any,
        notifiers: Sequence[BaseNotifier] | None = None,
        http_conn_id: str = "okta_salesforce_alerts",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.loaded = loaded
        self.notifiers = notifiers
        self.http_conn_id = http_conn_id

    def execute(self, context: Context) -> dict[str, Any]:
        from okta_salesforce.notifiers import WebhookNotifier
        from okta_salesforce.version_compat import AirflowNotFoundException, AirflowSkipException

        failed = (self.loaded or {}).get("failed") or 0
        if not failed:
            raise AirflowSkipException("No failed users: nothing to alert.")
        notifiers = list(self.notifiers or [])
        if not notifiers:
            notifiers = [WebhookNotifier(title=ALERT_TITLE, text=ALERT_TEXT, http_conn_id=self.http_conn_id)]
        sent = 0
        for notifier in notifiers:
            try:
                notifier({**context, "loaded": self.loaded})
            except AirflowNotFoundException as err:
                self.log.warning("%s not sent: %s", type(notifier).__name__, err)
                continue
            sent += 1
        if not sent:
            raise AirflowSkipException(f"{failed} users failed, but no notifier has a connection to send to.")
        self.log.info("%d notifiers told about %d failed users.", sent, failed)
        return {"failed": failed, "notified": sent}
