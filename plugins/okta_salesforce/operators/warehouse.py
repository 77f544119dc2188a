"""Load run reports into a SQL table (any common-sql connection: PostgreSQL, Snowflake, MySQL ...).

Each report lands exactly once, keyed by (DAG id, run id, target): its rows replace that key's rows
in one transaction (delete and insert commit together or not at all), and a report whose rows are
already there writes nothing. Placeholders come from the connection's hook (``%s`` or ``?``).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Sequence
from contextlib import closing
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

if TYPE_CHECKING:
    from airflow.providers.common.sql.hooks.sql import DbApiHook
    from airflow.sdk import Context

    from okta_salesforce.downstream import Report, ReportKey

#: The key of a report's rows.
KEY_COLUMNS = ("dag_id", "run_id", "target")

#: Table columns, in order: the key, then one per report line field (lists as JSON text).
COLUMNS = (
    *KEY_COLUMNS,
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
    """Portable DDL for the report table (every column TEXT, plus ``loaded_at``)."""
    columns = ",\n  ".join(f"{name} TEXT" for name in COLUMNS)
    loaded_at = "loaded_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP"
    return f"CREATE TABLE IF NOT EXISTS {table} (\n  {columns},\n  {loaded_at}\n)"


def check_table_name(table: object) -> str:
    """``table`` if it is a plain, optionally schema-qualified name; else ``ValueError``."""
    if not isinstance(table, str) or not _TABLE_NAME.match(table):
        raise ValueError(f"table: {table!r} is not a plain (optionally schema-qualified) table name")
    return table


def report_row(line: dict[str, Any]) -> tuple[str | None, ...]:
    """A report line as a table row: text, or NULL; lists, dicts and numbers as JSON."""
    return tuple(_cell(line.get(name)) for name in COLUMNS)


def _cell(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def replace_report_rows(
    hook: DbApiHook, table: str, key: ReportKey, rows: Sequence[tuple[str | None, ...]], *, batch_size: int
) -> bool:
    """Make ``rows`` the rows of ``key`` in ``table``, in one transaction; False when they already were.

    The key's current rows are read first: when they equal ``rows`` (as a multiset) nothing is
    written, so reloading a report changes nothing, ``loaded_at`` included. Otherwise the key's rows
    are deleted and ``rows`` inserted, then committed once; any failure rolls both back. On
    PostgreSQL a transaction-scoped advisory lock on the key serialises concurrent loads of it.
    """
    ph = hook.placeholder
    where = " AND ".join(f"{column} = {ph}" for column in KEY_COLUMNS)
    columns = ", ".join(COLUMNS)
    select = f"SELECT {columns} FROM {table} WHERE {where}"  # noqa: S608 - table checked, values bound
    delete = f"DELETE FROM {table} WHERE {where}"  # noqa: S608
    insert = f"INSERT INTO {table} ({columns}) VALUES ({', '.join([ph] * len(COLUMNS))})"  # noqa: S608
    with closing(hook.get_conn()) as conn:
        if hook.supports_autocommit:
            hook.set_autocommit(conn, False)
        try:
            with closing(conn.cursor()) as cur:
                if _dialect(hook) == "postgresql":
                    cur.execute(
                        f"SELECT pg_advisory_xact_lock(hashtextextended({ph}, 0))",
                        ("\x1f".join((table, *key)),),
                    )
                cur.execute(select, tuple(key))
                if Counter(tuple(row) for row in cur.fetchall()) == Counter(rows):
                    conn.rollback()
                    return False
                cur.execute(delete, tuple(key))
                for start in range(0, len(rows), batch_size):
                    cur.executemany(insert, list(rows[start : start + batch_size]))
            conn.commit()
        except BaseException:
            conn.rollback()
            raise
    return True


def _dialect(hook: DbApiHook) -> str:
    try:
        return str(hook.dialect_name)
    except Exception:  # noqa: BLE001 - a hook that cannot name its dialect just gets no lock
        return ""


class LoadReportToSqlOperator(BaseOperator):
    """Load every report of the run's triggering Asset events (or ``report``) into ``table``.

    Each report replaces the rows of its (DAG id, run id, target) in one transaction, so every
    report lands exactly once however often it is loaded, and a failed load leaves the rows as they
    were. Reports are read only from below the package's storage root. A report that cannot be read
    does not stop the others; the task fails afterwards, naming it.

    :param report: one report's location (``file://...``, ``s3://...``) under the storage root;
        when empty, every report of the run's triggering Asset events.
    :param table: the target table (created when missing); checked after templating.
    :param conn_id: an Airflow SQL connection (common-sql ``DbApiHook``).
    :param batch_size: rows per ``executemany`` round trip.
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
        self.report = report
        self.table = table
        self.conn_id = conn_id
        self.batch_size = batch_size

    def get_db_hook(self) -> DbApiHook:
        """The connection's SQL hook."""
        from airflow.sdk import BaseHook

        hook = BaseHook.get_connection(self.conn_id).get_hook()
        if not hasattr(hook, "placeholder") or not hasattr(hook, "get_conn"):
            raise TypeError(f"conn_id: {self.conn_id!r} is not a SQL connection ({type(hook).__name__})")
        return hook

    def execute(self, context: Context) -> dict[str, Any]:
        from airflow.sdk.exceptions import AirflowException

        from okta_salesforce.downstream import Report, reports_from_events

        table = check_table_name(self.table)
        if self.report:
            reports = [Report(location=str(self.report))]
        else:
            reports = reports_from_events(context.get("triggering_asset_events"))
        if not reports:
            raise ValueError("No report to load: pass `report` or trigger this DAG from the report Asset.")
        hook = self.get_db_hook()
        hook.run(create_table_sql(table))
        loaded: list[dict[str, Any]] = []
        problems: list[str] = []
        for report in reports:
            try:
                outcome = self._load(hook, table, report)
            except (ValueError, OSError) as err:  # unreadable or foreign report: the others still load
                problems.append(f"{report.location}: {err}")
                self.log.error("Could not load %s: %s", report.location, err)
                continue
            if outcome:
                loaded.append(outcome)
        result = {
            "table": table,
            "rows": sum(item["rows"] for item in loaded),
            "failed": sum(item["failed"] for item in loaded),
            "runs": [f"{item['dag_id']} {item['run_id']} ({item['target']})" for item in loaded],
            "reports": loaded,
        }
        if problems:
            raise AirflowException(
                f"{len(problems)} of {len(reports)} reports not loaded: " + "; ".join(problems)
            )
        return result

    def _load(self, hook: DbApiHook, table: str, report: Report) -> dict[str, Any] | None:
        lines = list(report.lines())
        key = report.key or ((lines[0]["dag_id"], lines[0]["run_id"], lines[0]["target"]) if lines else None)
        if key is None:
            self.log.warning("%s is empty and names no run: nothing to load.", report.location)
            return None
        rows = [report_row(line) for line in lines]
        changed = replace_report_rows(hook, table, key, rows, batch_size=self.batch_size)
        self.log.info(
            "%s %s (%s): %d rows %s %s",
            key[0],
            key[1],
            key[2],
            len(rows),
            "loaded into" if changed else "already in",
            table,
        )
        return {
            "location": report.location,
            "dag_id": key[0],
            "run_id": key[1],
            "target": key[2],
            "rows": len(rows),
            "failed": sum(1 for line in lines if line.get("outcome") == "failed"),
            "changed": changed,
        }
