"""ApplySalesforceChangesOperator with a fake writer: which actions it applies, its typed result."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from okta_salesforce.escrow_store import MemoryEscrowStore
from okta_salesforce.operators.salesforce import ApplySalesforceChangesOperator
from okta_salesforce.storage import read_jsonl
from okta_salesforce.sync.models import Action, ActionKind, Outcome
from okta_salesforce.sync.outcomes import WriteResult

from .conftest import context, plan_handle


@pytest.fixture
def writer(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """``apply_plan`` and the Salesforce client replaced; each call's client, logins and dry_run."""
    import okta_salesforce.hooks.salesforce as hook_module
    import okta_salesforce.sync.writer as writer_module

    calls: list[dict[str, Any]] = []

    def apply_plan(
        sf: Any, plan: Any, config: Any, directory: Any, *, dry_run: bool = False
    ) -> list[Outcome]:
        calls.append({"sf": sf, "logins": [a.login for a in plan.actions], "dry_run": dry_run})
        return [Outcome(login=a.login, action=str(a.kind), success=True) for a in plan.actions]

    monkeypatch.setattr(writer_module, "apply_plan", apply_plan)
    monkeypatch.setattr(hook_module.SalesforceOAuthHook, "get_conn", lambda self: "client")
    return calls


def actions() -> list[Action]:
    return [
        Action(kind=ActionKind.CREATE, login="new@x.com"),
        Action(kind=ActionKind.ACTIVATE, login="back@x.com", salesforce_id="005B"),
        Action(kind=ActionKind.UNFREEZE, login="thawed@x.com", salesforce_id="005T"),
        Action(kind=ActionKind.SKIP, login="same@x.com", salesforce_id="005S"),
    ]


def apply(plan: dict[str, Any], kinds: list[str]) -> WriteResult:
    operator = ApplySalesforceChangesOperator(
        task_id="activate_users", plan=plan, actions=kinds, escrow_store=MemoryEscrowStore()
    )
    return WriteResult.from_xcom(operator.execute(context("activate_users")))


def test_applies_only_its_kinds_and_returns_the_outcomes_file(run_files: Path, writer: list) -> None:
    result = apply(plan_handle(actions()), ["activate", "unfreeze"])

    assert writer == [{"sf": "client", "logins": ["back@x.com", "thawed@x.com"], "dry_run": False}]
    assert (result.actions, result.success, result.failed, result.dry_run) == (
        ("activate", "unfreeze"),
        2,
        0,
        False,
    )
    assert result.path.endswith("/outcomes_activate_users_try1.jsonl")
    assert [row["login"] for row in read_jsonl(result.path)] == ["back@x.com", "thawed@x.com"]


def test_a_dry_run_plan_opens_no_connection(run_files: Path, writer: list) -> None:
    result = apply(plan_handle(actions(), dry_run=True), ["create"])
    assert writer == [{"sf": None, "logins": ["new@x.com"], "dry_run": True}]
    assert result.dry_run


def test_nothing_of_its_kinds_writes_an_empty_outcomes_file(run_files: Path, writer: list) -> None:
    result = apply(plan_handle(actions()), ["update"])
    assert writer == []
    assert (result.success, result.failed, list(read_jsonl(result.path))) == (0, 0, [])


def test_unknown_kinds_fail_when_the_dag_is_parsed() -> None:
    with pytest.raises(ValueError, match="unknown kinds \\['delete'\\]"):
        ApplySalesforceChangesOperator(task_id="w", plan={}, actions=["delete"])
