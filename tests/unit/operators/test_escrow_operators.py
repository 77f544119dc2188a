"""Writer and report operators without a server: failing on unfinished writes, escrow, the failure ratio."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from okta_salesforce.escrow_store import MemoryEscrowStore, escrow_key, load_escrow
from okta_salesforce.operators.report import SyncReportOperator
from okta_salesforce.operators.run_failures import RunFailed, UpstreamFailed
from okta_salesforce.operators.salesforce import ApplySalesforceChangesOperator, WritesUnfinished
from okta_salesforce.operators.verdict import RunVerdictOperator
from okta_salesforce.storage import run_folder, write_json, write_jsonl
from okta_salesforce.sync.config import load_config
from okta_salesforce.sync.escrow import Escrow, PendingUser
from okta_salesforce.sync.models import Action, ActionKind, Outcome

REPO = Path(__file__).resolve().parents[3]
CONFIG = str(REPO / "include" / "okta_salesforce.yaml")
KEY = escrow_key(load_config(CONFIG).okta_app_id)


class Ti:
    dag_id = "okta_salesforce_sync"
    run_id = "manual__1"
    task_id = "create_users"
    try_number = 1
    map_index = -1

    def __init__(self) -> None:
        self.xcoms: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.xcoms[key] = value


@pytest.fixture(autouse=True)
def storage(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("OKTA_SALESFORCE_STORAGE", tmp_path.as_uri())
    monkeypatch.setenv("OKTA_SALESFORCE_CONFIG", CONFIG)
    return tmp_path


def creates(count: int) -> list[Action]:
    return [Action(kind=ActionKind.CREATE, login=f"u{i}@x.com", okta_user_id=f"00u{i}") for i in range(count)]


def plan_xcom(actions: list[Action], *, dry_run: bool = False) -> dict[str, Any]:
    folder = run_folder(Ti.dag_id, Ti.run_id)
    write_jsonl(folder / "plan.jsonl", (a.to_dict() for a in actions))
    write_jsonl(folder / "actions_create.jsonl", (a.to_dict() for a in actions))
    write_json(folder / "directory.json", {})
    return {
        "path": str(folder / "plan.jsonl"),
        "action_paths": {"create": str(folder / "actions_create.jsonl")},
        "directory_path": str(folder / "directory.json"),
        "dry_run": dry_run,
        "incremental": True,
        "guard": {"tripped": False, "blocked": False, "message": ""},
    }


def fake_writer(monkeypatch: pytest.MonkeyPatch, result: Any) -> list[list[str]]:
    """Replace the Salesforce client and ``apply_plan``; returns the logins each call got."""
    import okta_salesforce.hooks.salesforce as hook_module
    import okta_salesforce.sync.writer as writer_module

    calls: list[list[str]] = []

    def apply_plan(
        sf: Any, plan: Any, config: Any, directory: Any, *, dry_run: bool = False
    ) -> list[Outcome]:
        calls.append([a.login for a in plan.actions])
        return [result(a) for a in plan.actions]

    monkeypatch.setattr(writer_module, "apply_plan", apply_plan)
    monkeypatch.setattr(hook_module.SalesforceOAuthHook, "get_conn", lambda self: object())
    return calls


def test_a_failed_request_publishes_the_outcomes_then_fails_the_writer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake_writer(
        monkeypatch,
        lambda a: Outcome(
            login=a.login, action="create", success=False, error_code="REQUEST_FAILED", message="HTTP 503"
        ),
    )
    ti = Ti()
    operator = ApplySalesforceChangesOperator(
        task_id="create_users",
        plan=plan_xcom(creates(3)),
        actions=["create"],
        escrow_store=MemoryEscrowStore(),
    )
    with pytest.raises(WritesUnfinished, match="3 create writes unfinished \\(3 REQUEST_FAILED\\): HTTP 503"):
        operator.execute({"ti": ti})
    assert ti.xcoms["return_value"]["failed"] == 3


def test_quarantined_writes_are_held_until_their_backoff_is_over(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = fake_writer(monkeypatch, lambda a: Outcome(login=a.login, action="create", success=True))
    store = MemoryEscrowStore()
    store.save(
        KEY,
        Escrow(
            [
                PendingUser(
                    login="u0@x.com", action="create", failures=5, retry_after="2999-01-01T00:00:00+00:00"
                ),
                PendingUser(
                    login="u1@x.com", action="create", failures=5, retry_after="2000-01-01T00:00:00+00:00"
                ),
                PendingUser(login="u2@x.com", action="create", failures=2),
            ]
        ).to_dict(),
    )
    result = ApplySalesforceChangesOperator(
        task_id="create_users", plan=plan_xcom(creates(3)), actions=["create"], escrow_store=store
    ).execute({"ti": Ti()})
    assert calls == [["u1@x.com", "u2@x.com"]]
    assert (result["success"], result["failed"]) == (2, 1)


def report(
    lines_outcomes: list[Outcome], actions: list[Action], store: MemoryEscrowStore, dry_run: bool = False
):
    plan = plan_xcom(actions, dry_run=dry_run)
    path = run_folder(Ti.dag_id, Ti.run_id) / "outcomes.jsonl"
    write_jsonl(path, (o.to_dict() for o in lines_outcomes))
    outlet = object()
    events: dict[Any, Any] = defaultdict(SimpleNamespace)
    operator = SyncReportOperator(
        task_id="report", plan=plan, outcomes=[{"path": str(path)}], escrow_store=store, outlets=[]
    )
    operator.outlets = [outlet]  # type: ignore[list-item]
    result = operator.execute({"ti": Ti(), "outlet_events": events})
    error = None
    try:
        RunVerdictOperator(task_id="check_run", report=result).execute({})
    except RunFailed as err:
        error = err
    return result, error, events[outlet].extra


def test_per_record_failures_over_the_ratio_fail_the_run_after_escrowing_them() -> None:
    store = MemoryEscrowStore()
    actions = creates(10)
    outcomes = [
        Outcome(
            login=a.login,
            action="create",
            success=i >= 2,
            error_code=None if i >= 2 else "LICENSE_LIMIT_EXCEEDED",
        )
        for i, a in enumerate(actions)
    ]
    _, error, extra = report(outcomes, actions, store)
    assert error is not None
    assert "2 of 10 writes failed (20%, over failures.max_failure_ratio=10%); 2 users pending" in str(error)
    assert sorted(u.login for u in load_escrow(store, KEY)) == ["u0@x.com", "u1@x.com"]
    assert extra["pending"] == 2


def test_failures_under_the_ratio_leave_a_green_run_with_users_pending() -> None:
    store = MemoryEscrowStore()
    actions = creates(20)
    outcomes = [
        Outcome(
            login=a.login, action="create", success=i > 0, error_code=None if i else "LICENSE_LIMIT_EXCEEDED"
        )
        for i, a in enumerate(actions)
    ]
    result, error, _ = report(outcomes, actions, store)
    assert error is None
    assert result["escrow"]["pending"] == 1
    assert [u.login for u in load_escrow(store, KEY)] == ["u0@x.com"]


def test_quarantined_users_are_listed_in_the_asset_event() -> None:
    store = MemoryEscrowStore()
    store.save(KEY, Escrow([PendingUser(login="u0@x.com", action="create", failures=4)]).to_dict())
    actions = creates(20)
    outcomes = [
        Outcome(login=a.login, action="create", success=i > 0, error_code=None if i else "X")
        for i, a in enumerate(actions)
    ]
    result, _, extra = report(outcomes, actions, store)
    assert (extra["quarantined"], extra["quarantined_logins"]) == (1, ["u0@x.com"])
    assert result["escrow"]["quarantined"] == 1


def test_a_dry_run_report_leaves_escrow_alone() -> None:
    store = MemoryEscrowStore()
    before = Escrow([PendingUser(login="u0@x.com", action="create", failures=1)]).to_dict()
    store.save(KEY, before)
    actions = creates(3)
    outcomes = [Outcome(login=a.login, action="create", success=True, message="dry run") for a in actions]
    result, error, _ = report(outcomes, actions, store, dry_run=True)
    assert error is None
    assert store.load(KEY) == before
    assert result["escrow"]["pending"] == 1


def test_the_verdict_fails_quietly_for_failures_already_announced() -> None:
    with pytest.raises(UpstreamFailed) as err:
        RunVerdictOperator(task_id="check_run", report=None).execute({})
    assert err.value.already_notified is True
    report = {"path": "r.jsonl", "escrow": {"pending": 3}, "verdict": {"failed_writers": ["create_users"]}}
    with pytest.raises(UpstreamFailed, match="create_users; 3 users pending"):
        RunVerdictOperator(task_id="check_run", report=report).execute({})
