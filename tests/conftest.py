"""Shared test set-up: an isolated AIRFLOW_HOME and the two sandboxes as fixtures."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

# Airflow reads its configuration at import time: isolate it before anything imports airflow.
_AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="okta-salesforce-airflow-home-"))
os.environ.setdefault("AIRFLOW_HOME", str(_AIRFLOW_HOME))
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
os.environ.setdefault("AIRFLOW__CORE__DAGS_FOLDER", str(REPO / "dags"))
os.environ.setdefault("OKTA_SALESFORCE_CONFIG", str(REPO / "include" / "okta_salesforce.yaml"))


@pytest.fixture
def sandboxes(tmp_path: Path) -> Iterator[object]:
    """Both sandboxes with a 200-person company, started for one test."""
    from okta_salesforce_testbed.sandbox import Sandboxes

    with Sandboxes(users=200, directory=tmp_path / "sandbox") as sb:
        yield sb


@pytest.fixture
def sandbox_connections(sandboxes, monkeypatch: pytest.MonkeyPatch):
    """``okta_default`` and ``salesforce_oauth_default`` pointed at the sandboxes (AIRFLOW_CONN_* env)."""
    for key, value in sandboxes.connection_env().items():
        monkeypatch.setenv(key, value)
    return sandboxes


def set_connection(monkeypatch: pytest.MonkeyPatch, conn_id: str, conn: dict) -> None:
    """Set one Airflow connection from its JSON form, as Airflow's provider tests do."""
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(conn))


@pytest.fixture
def storage(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty folder as the package's object storage (``OKTA_SALESFORCE_STORAGE``)."""
    root = tmp_path / "storage"
    root.mkdir()
    monkeypatch.setenv("OKTA_SALESFORCE_STORAGE", root.as_uri())
    return root


@pytest.fixture
def fresh_rate_limit_window():
    """Call with the sandbox limiter's window (s): returns once at least 15 s of it are left.

    Okta's rate-limit windows are fixed, aligned to the clock, and so are the sandbox's: a test
    that spends a bucket must not straddle a boundary, or its count resets half-way.
    """
    import time

    def wait(window: float, margin: float = 15.0) -> None:
        left = window - time.time() % window
        if left < margin:
            time.sleep(left + 0.1)

    return wait


@pytest.fixture
def webhook_receiver() -> Iterator[list[dict]]:
    """A local chat webhook on loopback: first item ``{"url": ...}``, then each JSON body posted."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    received: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: object) -> None:
            """Quiet."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    received.append({"url": f"http://127.0.0.1:{server.server_address[1]}/hooks/T0SECRET/B0SECRET"})
    yield received
    server.shutdown()


class ReportEvents:
    """Asset events of the report Asset as a downstream task sees them (``triggering_asset_events``)."""

    @staticmethod
    def event(
        location: str | None,
        source_dag: str | None,
        source_run: str | None,
        minute: int = 0,
        *,
        alias: str | None = None,
        **extra: object,
    ) -> object:
        """One event; ``source_dag=None`` is an event created through the REST API (no source run)."""
        import datetime as dt

        from airflow.sdk.api.datamodels._generated import (
            AssetAliasReferenceAssetEventDagRun,
            AssetReferenceAssetEventDagRun,
        )
        from airflow.sdk.execution_time.comms import AssetEventDagRunReferenceResult

        body: dict[str, object] = {"report": location, "run_id": source_run} if location else {}
        body.update(extra)
        return AssetEventDagRunReferenceResult(
            asset=AssetReferenceAssetEventDagRun(
                name="okta_salesforce_user_report", uri="okta_salesforce_user_report", extra={}
            ),
            extra=body,
            source_task_id="report" if source_dag else None,
            source_dag_id=source_dag,
            source_run_id=source_run if source_dag else None,
            source_map_index=-1 if source_dag else None,
            source_aliases=[AssetAliasReferenceAssetEventDagRun(name=alias)] if alias else [],
            timestamp=dt.datetime(2026, 11, 30, 0, minute, tzinfo=dt.UTC),
        )

    @staticmethod
    def triggering(*events: object) -> object:
        """The task context's ``triggering_asset_events`` holding ``events``."""
        from airflow.sdk.execution_time.context import TriggeringAssetEventsAccessor

        return TriggeringAssetEventsAccessor.build(events)


@pytest.fixture
def report_events() -> type[ReportEvents]:
    """Build fake ``triggering_asset_events`` of the report Asset from real Task SDK models."""
    return ReportEvents
