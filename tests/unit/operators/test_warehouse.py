"""LoadReportToSqlOperator without a server: a qmark (SQLite) hook, templated table, unreadable reports."""

from __future__ import annotations

import inspect
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from airflow.providers.common.sql.hooks.sql import DbApiHook

from okta_salesforce.operators.warehouse import COLUMNS, LoadReportToSqlOperator
from okta_salesforce.storage import run_folder, write_jsonl


class QmarkHook(DbApiHook):
    """A DB-API hook whose driver takes ``?`` placeholders (sqlite3), as pyodbc, Snowflake qmark ... do."""

    conn_name_attr = "qmark_conn_id"
    default_conn_name = "qmark_warehouse"
    _placeholder = "?"

    def __init__(self, database: Path) -> None:
        super().__init__()
        self.database = database

    def get_conn(self) -> sqlite3.Connection:
        return sqlite3.connect(self.database)


@pytest.fixture
def sqlite_warehouse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    database = tmp_path / "warehouse.db"
    monkeypatch.setenv(
        "AIRFLOW_CONN_QMARK_WAREHOUSE", json.dumps({"conn_type": "sqlite", "host": str(database)})
    )
    monkeypatch.setattr(LoadReportToSqlOperator, "get_db_hook", lambda self: QmarkHook(database))
    return database


def publish(dag_id: str, run_id: str, logins: list[str], **extra: Any) -> str:
    path = run_folder(dag_id, run_id) / "report.jsonl"
    lines = [
        {"dag_id": dag_id, "run_id": run_id, "login": login, "action": "create", "outcome": "failed",
         "changed_fields": ["Email", "LastName"], "error_code": "LICENSE_LIMIT_EXCEEDED", "message": "no",
         "fields": ["ProfileId"], "reason": "assigned in Okta", **extra}
        for login in logins
    ]  # fmt: skip
    write_jsonl(path, lines)
    return str(path)


def table_rows(database: Path) -> list[tuple[Any, ...]]:
    with sqlite3.connect(database) as conn:
        cols = ", ".join(COLUMNS)
        return conn.execute(f"SELECT {cols} FROM okta_salesforce_user_report ORDER BY login").fetchall()


def test_template_fields_are_constructor_parameters_assigned_unchanged() -> None:
    params = inspect.signature(LoadReportToSqlOperator.__init__).parameters
    operator = LoadReportToSqlOperator(
        task_id="load", report="{{ params.report }}", table="{{ params.table }}"
    )
    for name in LoadReportToSqlOperator.template_fields:
        assert params[name].kind is inspect.Parameter.KEYWORD_ONLY
    assert (operator.report, operator.table) == ("{{ params.report }}", "{{ params.table }}")


def test_the_table_is_checked_after_rendering_before_any_sql(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        LoadReportToSqlOperator, "get_db_hook", lambda self: pytest.fail("no SQL before the check")
    )
    operator = LoadReportToSqlOperator(task_id="load", report="file:///x", table="{{ params.table }}")
    operator.table = "users; DROP TABLE users"  # what the template rendered to
    with pytest.raises(ValueError, match="table: 'users; DROP TABLE users' is not a plain"):
        operator.execute({})


def test_qmark_placeholders_load_and_replace_in_one_transaction(
    storage: Path, sqlite_warehouse: Path
) -> None:
    report = publish("okta_salesforce_sync", "manual__1", ["ada", "bob"])
    result = LoadReportToSqlOperator(task_id="load", report=report).execute({})
    assert result["rows"] == 2
    assert result["failed"] == 2
    assert result["runs"] == ["okta_salesforce_sync manual__1 (default)"]
    rows = table_rows(sqlite_warehouse)
    assert rows[0] == (
        "okta_salesforce_sync", "manual__1", "default", "ada", None, None, None, "create", "failed",
        '["Email", "LastName"]', "LICENSE_LIMIT_EXCEEDED", "no", '["ProfileId"]', "assigned in Okta",
    )  # fmt: skip

    publish("okta_salesforce_sync", "manual__1", ["ada"])  # the run's report, written again
    again = LoadReportToSqlOperator(task_id="load", report=report).execute({})
    assert [item["changed"] for item in again["reports"]] == [True]
    assert [row[3] for row in table_rows(sqlite_warehouse)] == ["ada"]
    unchanged = LoadReportToSqlOperator(task_id="load", report=report).execute({})
    assert [item["changed"] for item in unchanged["reports"]] == [False]


def test_a_report_outside_the_storage_root_is_refused_and_the_others_still_load(
    storage: Path, sqlite_warehouse: Path, tmp_path: Path, report_events
) -> None:
    from airflow.sdk.exceptions import AirflowException

    event, triggering = report_events.event, report_events.triggering
    good = publish("okta_salesforce_sync", "r1", ["ada"])
    elsewhere = tmp_path / "elsewhere.jsonl"
    elsewhere.write_text(
        json.dumps({"dag_id": "okta_salesforce_sync", "run_id": "r2", "login": "eve"}) + "\n"
    )
    missing = str(run_folder("okta_salesforce_sync", "r3") / "report.jsonl")
    events = triggering(
        event(elsewhere.as_uri(), "okta_salesforce_sync", "r2", minute=1),
        event(good, "okta_salesforce_sync", "r1", minute=2),
        event(missing, "okta_salesforce_sync", "r3", minute=4),
    )

    with pytest.raises(AirflowException, match="2 of 3 reports not loaded") as failure:
        LoadReportToSqlOperator(task_id="load").execute({"triggering_asset_events": events})

    assert "outside the okta-salesforce storage root" in str(failure.value)
    assert [row[3] for row in table_rows(sqlite_warehouse)] == ["ada"]


def test_no_report_and_no_events_is_an_error() -> None:
    with pytest.raises(ValueError, match="No report to load"):
        LoadReportToSqlOperator(task_id="load", report="").execute({"triggering_asset_events": {}})
