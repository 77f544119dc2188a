"""OktaAssignmentsOperator against the Okta sandbox: the file it writes and what it returns."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest

from okta_salesforce import escrow_store
from okta_salesforce.escrow_store import MemoryEscrowStore, escrow_key, load_escrow
from okta_salesforce.hooks.okta_events import MemoryCursorStore
from okta_salesforce.operators.okta import CommitOktaCursorOperator, OktaAssignmentsOperator
from okta_salesforce.sync.models import OktaAssignment
from okta_salesforce_testbed.sandbox.okta import OktaApp
from okta_salesforce_testbed.sandbox.seed import Seed
from okta_salesforce_testbed.sandbox.server import SandboxServer
from okta_salesforce_testbed.sandbox.tls import SandboxCA

pytestmark = pytest.mark.integration


@pytest.fixture
def okta(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[OktaApp]:
    """The Okta sandbox (80 people) as ``okta_default``."""
    seed = Seed(users=80)
    ca = SandboxCA(tmp_path / "ca")
    app = OktaApp.from_seed(seed, directory=tmp_path / "ca")
    server = SandboxServer(app, ca)
    app.base_url = server.url
    conn = {
        "conn_type": "okta",
        "host": server.url,
        "password": seed.credentials.okta_api_token,
        "extra": {"ca_bundle": str(ca.ca_path)},
    }
    monkeypatch.setenv("AIRFLOW_CONN_OKTA_DEFAULT", json.dumps(conn))
    with server:
        yield app


@pytest.fixture(autouse=True)
def escrow(monkeypatch: pytest.MonkeyPatch) -> MemoryEscrowStore:
    """Escrow in memory instead of Airflow Variables (no task context here)."""
    store = MemoryEscrowStore()
    monkeypatch.setattr(escrow_store, "VariableEscrowStore", lambda: store)
    return store


def context(try_number: int = 1) -> dict:
    ti = SimpleNamespace(
        dag_id="okta_salesforce_sync",
        run_id="manual__2026-11-28T10:00:00+00:00",
        task_id="read_okta",
        map_index=-1,
        try_number=try_number,
    )
    return {"ti": ti}


def read(path: str) -> list[OktaAssignment]:
    text = Path(path.removeprefix("file://")).read_text("utf-8")
    return [OktaAssignment.from_dict(json.loads(line)) for line in text.splitlines()]


def test_full_mode_writes_the_snapshot_and_returns_a_small_summary(okta: OktaApp, tmp_path: Path) -> None:
    operator = OktaAssignmentsOperator(
        task_id="read_okta", app_id=okta.seed.okta_app_id, output_path=(tmp_path / "out").as_uri()
    )
    summary = operator.execute(context())
    assigned = {p.okta_id for p in okta.seed.people if p.assigned}
    assert summary["mode"] == "full"
    assert summary["complete"] is True
    assert summary["count"] == summary["assigned"] == len(assigned)
    assert summary["unassigned"] == 0
    assert str(tmp_path / "out") in summary["path"]
    assert "try1" in summary["path"]
    assert {r.okta_user_id for r in read(summary["path"])} == assigned
    assert len(json.dumps(summary)) < 1000
    assert okta.seed.credentials.okta_api_token not in json.dumps(summary)
    retry = operator.execute(context(try_number=2))
    assert retry["path"] != summary["path"]


def test_incremental_mode_keeps_its_cursor_between_runs(okta: OktaApp, tmp_path: Path) -> None:
    store = MemoryCursorStore()
    newcomer = next(p for p in okta.seed.people if not p.assigned)
    leaver = next(p for p in okta.seed.people if p.assigned and not p.via_group)

    def run() -> dict:
        return OktaAssignmentsOperator(
            task_id="read_okta",
            app_id=okta.seed.okta_app_id,
            mode="incremental",
            cursor_key="okta_cursor",
            cursor_store=store,
            output_path=tmp_path.as_uri(),
        ).execute(context())

    first = run()
    assert (first["count"], first["cursor"]["events"], first["complete"]) == (0, 0, False)
    okta.assign(newcomer.okta_id)
    okta.unassign(leaver.okta_id)
    second = run()
    assert (second["assigned"], second["unassigned"], second["cursor"]["events"]) == (1, 1, 2)
    assert {(r.login, r.assigned) for r in read(second["path"])} == {
        (newcomer.login, True),
        (leaver.login, False),
    }
    assert second["cursor"]["key"] == "okta_cursor"
    assert store.load("okta_cursor").last_published == second["cursor"]["last_published"]
    third = run()  # no new events; the two users are still pending (nobody settled them)
    assert (third["cursor"]["events"], sorted(third["pending"])) == (
        0,
        sorted([newcomer.login, leaver.login]),
    )


def test_users_mode_reads_just_those_users(okta: OktaApp, tmp_path: Path) -> None:
    wanted = [p for p in okta.seed.people[:3]]
    summary = OktaAssignmentsOperator(
        task_id="read_okta",
        app_id=okta.seed.okta_app_id,
        users=", ".join(p.login for p in wanted),
        output_path=tmp_path.as_uri(),
    ).execute(context())
    assert (summary["mode"], summary["requested"], summary["count"]) == ("users", 3, 3)
    assert [(r.login, r.assigned) for r in read(summary["path"])] == [(p.login, p.assigned) for p in wanted]


def test_a_pending_cursor_moves_only_when_committed_so_a_failed_run_rereads_its_events(
    okta: OktaApp, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OKTA_SALESFORCE_STORAGE", tmp_path.as_uri())
    store = MemoryCursorStore()
    newcomer = next(p for p in okta.seed.people if not p.assigned)

    def poll() -> dict:
        return OktaAssignmentsOperator(
            task_id="read_okta",
            app_id=okta.seed.okta_app_id,
            mode="incremental",
            cursor_key="okta_cursor",
            cursor_store=store,
            commit_cursor=False,
        ).execute(context())

    def commit(summary: dict) -> dict | None:
        return CommitOktaCursorOperator(task_id="commit", poll=summary, cursor_store=store).execute(context())

    commit(poll())  # the first run starts the cursor
    okta.assign(newcomer.okta_id)
    failed_run = poll()  # ... and its writers fail: nothing is committed
    assert failed_run["cursor"]["committed"] is False
    assert [r.login for r in read(failed_run["path"])] == [newcomer.login]
    retried = poll()
    assert [r.login for r in read(retried["path"])] == [newcomer.login], "the event was lost"
    assert commit(retried)["last_published"] == retried["cursor"]["last_published"]
    after = poll()  # no event any more; the user stays pending until a report settles it
    assert (after["cursor"]["events"], after["pending"]) == (0, [newcomer.login])
    assert commit({"mode": "full", "complete": True}) is None


def test_incremental_runs_write_ahead_before_the_cursor_moves_and_reread_pending_users(
    okta: OktaApp, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, escrow: MemoryEscrowStore
) -> None:
    monkeypatch.setenv("OKTA_SALESFORCE_STORAGE", tmp_path.as_uri())
    cursors = MemoryCursorStore()
    key = escrow_key(okta.seed.okta_app_id)
    newcomer = next(p for p in okta.seed.people if not p.assigned)

    def poll(*, dry_run: bool = False) -> dict:
        return OktaAssignmentsOperator(
            task_id="read_okta",
            app_id=okta.seed.okta_app_id,
            mode="incremental",
            cursor_key="okta_cursor",
            cursor_store=cursors,
            dry_run=dry_run,
        ).execute(context())

    poll()  # the first run starts the cursor
    start = cursors.load("okta_cursor")
    empty = escrow.load(key)
    okta.assign(newcomer.okta_id)

    preview = poll(dry_run=True)
    assert [r.login for r in read(preview["path"])] == [newcomer.login]
    assert cursors.load("okta_cursor") == start, "a dry run moved the cursor"
    assert escrow.load(key) == empty, "a dry run changed escrow"

    real = poll()
    assert real["cursor"]["committed"] is True
    assert cursors.load("okta_cursor") != start
    assert [u.login for u in load_escrow(escrow, key)] == [newcomer.login]
    assert load_escrow(escrow, key).get(newcomer.login).okta_user_id == newcomer.okta_id

    # No new event, but the user is still pending (the run's writes failed): read again.
    again = poll()
    assert again["pending"] == [newcomer.login]
    assert [(r.login, r.assigned) for r in read(again["path"])] == [(newcomer.login, True)]

    # A pending login Okta does not know comes back unassigned, for the plan to deprovision.
    data = load_escrow(escrow, key)
    data.hold([("gone.user@acme.example.com", None)], datetime.now(UTC))
    escrow.save(key, data.to_dict())
    records = {r.login: r for r in read(poll()["path"])}
    assert records["gone.user@acme.example.com"].assigned is False

    # Once the report settles them as converged, nobody is read any more.
    settled = load_escrow(escrow, key)
    settled.settle(
        [{"login": login, "action": "skip", "outcome": "unchanged"} for login in records],
        datetime.now(UTC),
    )
    escrow.save(key, settled.to_dict())
    assert poll()["count"] == 0
