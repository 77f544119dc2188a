"""ApplyEntitlementsOperator with a fake writer: created users' ids reach it, a missing plan skips."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from okta_salesforce.operators.entitlements import ApplyEntitlementsOperator
from okta_salesforce.storage import RunFiles, write_jsonl
from okta_salesforce.sync.models import Action, ActionKind, Outcome
from okta_salesforce.sync.outcomes import WriteResult
from okta_salesforce.version_compat import AirflowSkipException

from .conftest import FakeTi, context, plan_handle


@pytest.fixture
def entitler(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    import okta_salesforce.sync.entitlement_writer as module

    calls: list[dict[str, Any]] = []

    def apply_entitlements(
        sf: Any, actions: Any, config: Any, directory: Any, **kwargs: Any
    ) -> list[Outcome]:
        calls.append({"logins": [a.login for a in actions], **kwargs})
        return [Outcome(login=a.login, action="entitle", success=True) for a in actions]

    monkeypatch.setattr(module, "apply_entitlements", apply_entitlements)
    return calls


def created_by_the_create_writer() -> dict[str, Any]:
    target = RunFiles(FakeTi("create_users")).outcomes()
    outcome = Outcome(login="New@x.com", action="create", success=True, salesforce_id="005NEW")
    write_jsonl(target, [outcome.to_dict()])
    return WriteResult.of(str(target), ["create"], [outcome], dry_run=True).to_xcom()


def test_entitles_with_the_ids_of_users_created_in_this_run(run_files: Path, entitler: list) -> None:
    plan = plan_handle([Action(kind=ActionKind.ENTITLE, login="new@x.com")], dry_run=True)
    operator = ApplyEntitlementsOperator(
        task_id="entitle_users", plan=plan, user_outcomes=[created_by_the_create_writer(), None]
    )
    result = WriteResult.from_xcom(operator.execute(context("entitle_users")))

    (call,) = entitler
    assert call["logins"] == ["new@x.com"]
    assert call["created"] == {"new@x.com": "005NEW"}
    assert call["dry_run"] is True
    assert (result.actions, result.success, result.dry_run) == (("entitle",), 1, True)


def test_no_entitle_actions_write_nothing(run_files: Path, entitler: list) -> None:
    plan = plan_handle([Action(kind=ActionKind.SKIP, login="a@x.com")])
    result = ApplyEntitlementsOperator(task_id="entitle_users", plan=plan).execute(context("entitle_users"))
    assert entitler == []
    assert (result["success"], result["failed"]) == (0, 0)


def test_without_a_plan_the_task_is_skipped() -> None:
    with pytest.raises(AirflowSkipException, match="No plan"):
        ApplyEntitlementsOperator(task_id="entitle_users", plan=None).execute(context("entitle_users"))
