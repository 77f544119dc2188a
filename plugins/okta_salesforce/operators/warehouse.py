"""Load a run's per-user report into a SQL table (any Airflow SQL connection: PostgreSQL, Snowflake ...)."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

if TYPE_CHECKING:
    from airflow.sdk import Context

#: Report columns, in table order; lists and dicts are stored as JSON text.
COLUMNS = (
    "dag_id",
    "run_id",
    "login",
    "okta_user_id",
    "salesforce_id",
    "username",
    "action",
    "outcome",
    "changed_fields",
    "error_code",
    "message",
    "fields",
    "reason",
)


_TABLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$")


def create_table_sql(table: str) -> str:
    """Portable DDL for the report table."""
    columns = ",\n  ".join(f"{name} TEXT" for name in COLUMNS)
    loaded_at = "loaded_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP"
    return f"CREATE TABLE IF NOT EXISTS {table} (\n  {columns},\n  {loaded_at}\n)"


def report_from_events(events: Any) -> str | None:
    """The newest report location among a run's triggering Asset events (their ``extra["report"]``)."""
    reports = [event.extra.get("report") for batch in (events or {}).values() for event in batch]
    reports = [report for report in reports if report]
    return reports[-1] if reports else None


class LoadReportToSqlOperator(BaseOperator):
    """Insert a report's lines into ``table``; reloading the same run replaces its rows (no duplicates).

    :param report: the report's location (``file://...``, ``s3://...``); when empty, the newest
        report among the run's triggering Asset events.
    :param table: the target table (created when missing).
    :param conn_id: an Airflow SQL connection (common-sql ``DbApiHook``).
    :param batch_size: rows per insert round trip.
    """

    template_fields: Sequence[str] = ("report", "table")

    def __init__(
        self,
        *,
        report: str | None = None,
        table: str = "okta_salesforce_user_report",
        conn_id: str = "okta_salesforce_warehouse",
        batch_size: int = 1000,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if not _TABLE_NAME.match(table):
            raise ValueError(f"table: {table!r} is not a plain (optionally schema-qualified) table name")
        self.report = report
        self.table = table
        self.conn_id = conn_id
        self.batch_size = batch_size

    def execute(self, context: Context) -> dict[str, Any]:
        from airflow.sdk import BaseHook

        from okta_salesforce.storage import read_jsonl

        report = self.report or report_from_events(context.get("triggering_asset_events"))
        if not report:
            raise ValueError("No report to load: pass `report` or trigger this DAG from the report Asset.")
        hook = BaseHook.get_connection(self.conn_id).get_hook()
        hook.run(create_table_sql(self.table))
        rows = [tuple(_cell(line.get(name)) for name in COLUMNS) for line in read_jsonl(report)]
        failed = sum(1 for row in rows if row[COLUMNS.index("outcome")] == "failed")
        run_ids = sorted({row[1] for row in rows})
        for run_id in run_ids:
            hook.run(f"DELETE FROM {self.table} WHERE run_id = %s", parameters=(run_id,))  # noqa: S608
        hook.insert_rows(self.table, rows, target_fields=list(COLUMNS), commit_every=self.batch_size)
        self.log.info("Loaded %d report lines of %s into %s", len(rows), report, self.table)
        return {
            "table": self.table,
            "rows": len(rows),
            "failed": failed,
            "report": report,
            "run_ids": run_ids,
        }


def _cell(value: Any) -> Any:
    return json.dumps(value, ensure_ascii=False) if isinstance(value, (list, dict)) else value


class ReportFailureAlertOperator(BaseOperator):
    """Post a chat-webhook message when a loaded report has failed users.

    Uses the HTTP provider's ``HttpHook`` (retries, connection handling) against an ``http``
    connection whose host is the whole webhook URL (Slack and Teams incoming webhooks accept the
    ``{"text": ...}`` body). Skips when nobody failed, and when the connection does not exist.

    :param loaded: the ``LoadReportToSqlOperator`` XCom (``failed``, ``rows``, ``report``, ``run_ids``).
    :param http_conn_id: the webhook connection.
    """

    template_fields: Sequence[str] = ("loaded",)

    def __init__(
        self, *, loaded: dict[str, Any] | Any, http_conn_id: str = "okta_salesforce_alerts", **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.loaded = loaded
        self.http_conn_id = http_conn_id

    def execute(self, context: Context) -> dict[str, Any] | None:
        from airflow.providers.http.hooks.http import HttpHook
        from airflow.sdk import BaseHook
        from airflow.sdk.exceptions import AirflowNotFoundException, AirflowSkipException

        if not self.loaded or not self.loaded.get("failed"):
            raise AirflowSkipException("No failed users: nothing to alert.")
        try:
            BaseHook.get_connection(self.http_conn_id)
        except AirflowNotFoundException:
            raise AirflowSkipException(
                f"{self.loaded['failed']} users failed, but there is no `{self.http_conn_id}` connection."
            ) from None
        hook = HttpHook(method="POST", http_conn_id=self.http_conn_id)
        response = hook.run(
            endpoint="", data=alert_payload(self.loaded), headers={"Content-Type": "application/json"}
        )
        self.log.info(
            "Alert posted (HTTP %s) about %d failed users.", response.status_code, self.loaded["failed"]
        )
        return {"status": response.status_code, "failed": self.loaded["failed"]}


def alert_payload(loaded: dict[str, Any]) -> str:
    """A chat-webhook message (``{"text": ...}``, as Slack and Teams accept) about failed users."""
    runs = ", ".join(loaded.get("run_ids") or [])
    text = (
        f"okta-salesforce: {loaded['failed']} of {loaded['rows']} users failed in {runs}. "
        f"Report: {loaded['report']}"
    )
    return json.dumps({"text": text}, ensure_ascii=False)
