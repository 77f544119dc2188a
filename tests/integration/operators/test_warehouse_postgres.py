"""LoadReportToSqlOperator against PostgreSQL: every report of every triggering event, each exactly once."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from okta_salesforce.operators.warehouse import LoadReportToSqlOperator
from okta_salesforce.storage import run_folder, write_jsonl

pytestmark = pytest.mark.integration

ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
TABLE = "okta_salesforce_user_report"
MIDNIGHT = "scheduled__2026-11-30T00:00:00+00:00"


@pytest.fixture
def warehouse(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A fresh PostgreSQL database as the connection ``okta_salesforce_warehouse``, dropped afterwards."""
    psycopg2 = pytest.importorskip("psycopg2")
    name = f"okta_sf_wh_{uuid.uuid4().hex[:12]}"
    admin = psycopg2.connect(ADMIN_DSN)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    dsn = f"postgresql://postgres@127.0.0.1:5432/{name}"
    monkeypatch.setenv("AIRFLOW_CONN_OKTA_SALESFORCE_WAREHOUSE", dsn)
    try:
        yield dsn
    finally:
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def line(dag_id: str, run_id: str, login: str, outcome: str = "success", **extra: Any) -> dict[str, Any]:
    """One report line as SyncReportOperator writes it."""
    return {
        "dag_id": dag_id,
        "run_id": run_id,
        "target": "default",
        "login": login,
        "okta_user_id": f"00u{login[:3]}",
        "salesforce_id": "005000000000001",
        "username": login,
        "action": "update",
        "outcome": outcome,
        "changed_fields": ["Department"],
        "error_code": None if outcome == "success" else "LICENSE_LIMIT_EXCEEDED",
        "message": "",
        "fields": [],
        "reason": "Okta attributes changed",
        **extra,
    }


def publish(dag_id: str, run_id: str, lines: list[dict[str, Any]]) -> str:
    """Write a report where the sync DAGs write it; return its location."""
    path = run_folder(dag_id, run_id) / "report.jsonl"
    write_jsonl(path, lines)
    return str(path)


def load(*, report: str = "", events: Any = None, **kwargs: Any) -> dict[str, Any]:
    operator = LoadReportToSqlOperator(task_id="load_report", report=report, **kwargs)
    return operator.execute({"triggering_asset_events": events or {}})


def rows(dsn: str, order: str = "dag_id, run_id, login") -> list[tuple[Any, ...]]:
    import psycopg2

    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute(f"SELECT dag_id, run_id, login, outcome, loaded_at FROM {TABLE} ORDER BY {order}")
        return cur.fetchall()


def test_two_reports_whose_events_reach_one_run_are_both_loaded(
    warehouse: str, storage: Path, report_events
) -> None:
    asset_event, triggering = report_events.event, report_events.triggering
    first = publish(
        "okta_salesforce_sync", "scheduled__1", [line("okta_salesforce_sync", "scheduled__1", "ada")]
    )
    second = publish(
        "okta_salesforce_sync",
        "scheduled__2",
        [
            line("okta_salesforce_sync", "scheduled__2", "bob"),
            line("okta_salesforce_sync", "scheduled__2", "cy"),
        ],
    )
    events = triggering(
        asset_event(first, "okta_salesforce_sync", "scheduled__1", minute=1),
        asset_event(second, "okta_salesforce_sync", "scheduled__2", minute=2),
    )

    load(events=events)

    assert [(r[1], r[2]) for r in rows(warehouse)] == [
        ("scheduled__1", "ada"),
        ("scheduled__2", "bob"),
        ("scheduled__2", "cy"),
    ]


def test_the_reconcile_and_the_sync_with_the_same_run_id_keep_each_others_rows(
    warehouse: str, storage: Path
) -> None:
    reconcile = publish(
        "okta_salesforce_reconcile", MIDNIGHT, [line("okta_salesforce_reconcile", MIDNIGHT, "ada")]
    )
    sync = publish("okta_salesforce_sync", MIDNIGHT, [line("okta_salesforce_sync", MIDNIGHT, "bob")])

    load(report=reconcile)
    load(report=sync)
    load(report=reconcile)

    assert [(r[0], r[2]) for r in rows(warehouse)] == [
        ("okta_salesforce_reconcile", "ada"),
        ("okta_salesforce_sync", "bob"),
    ]


def test_a_failure_between_delete_and_insert_leaves_the_previous_rows(warehouse: str, storage: Path) -> None:
    import psycopg2

    run = "manual__1"
    report = publish("okta_salesforce_sync", run, [line("okta_salesforce_sync", run, "ada")])
    load(report=report)
    before = rows(warehouse)
    # The report is rewritten (the report task was cleared and ran again) with a line the
    # warehouse refuses: the insert fails after the delete ran.
    with psycopg2.connect(warehouse) as conn, conn.cursor() as cur:
        cur.execute(f"ALTER TABLE {TABLE} ADD CONSTRAINT no_boom CHECK (message <> 'boom')")
    publish(
        "okta_salesforce_sync",
        run,
        [
            line("okta_salesforce_sync", run, "ada", outcome="failed"),
            line("okta_salesforce_sync", run, "bob", message="boom"),
        ],
    )

    with pytest.raises(Exception, match="no_boom"):
        load(report=report)

    assert rows(warehouse) == before


def test_reloading_one_report_changes_nothing(warehouse: str, storage: Path, report_events) -> None:
    asset_event, triggering = report_events.event, report_events.triggering
    run = "manual__2"
    report = publish(
        "okta_salesforce_sync",
        run,
        [line("okta_salesforce_sync", run, "ada"), line("okta_salesforce_sync", run, "bob")],
    )
    load(report=report)
    before = rows(warehouse)

    load(report=report)
    load(
        events=triggering(
            asset_event(report, "okta_salesforce_sync", run),
            asset_event(report, "okta_salesforce_sync", run, minute=5),
        )
    )

    assert rows(warehouse) == before
    assert len(before) == 2
