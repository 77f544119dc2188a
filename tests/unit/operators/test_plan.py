"""PlanSalesforceChangesOperator with a fake Salesforce: the handle it returns and the files it names."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from okta_salesforce.operators.plan import PlanHandle, PlanSalesforceChangesOperator, planned_logins
from okta_salesforce.storage import read_jsonl, run_folder, write_jsonl
from okta_salesforce.sync.directory import SalesforceSnapshot
from okta_salesforce.sync.models import DirectoryInfo, OktaAssignment, SalesforceUser
from okta_salesforce.sync.snapshot import OktaSnapshot

from .conftest import context


def person(login: str, *, assigned: bool = True) -> OktaAssignment:
    return OktaAssignment(
        okta_user_id=f"00u{login[:3]}",
        login=login,
        app_username=login,
        assignment_status="ACTIVE" if assigned else "UNASSIGNED",
        scope="USER",
        user_status="ACTIVE",
        profile={"login": login, "email": login, "firstName": "A", "lastName": login[:3].title()},
        assigned=assigned,
    )


def leaver(login: str) -> SalesforceUser:
    fields = {"FederationIdentifier": login, "FirstName": "Old", "LastName": "Timer", "ProfileId": "00eP"}
    return SalesforceUser(id="005LEAVER", username=login, is_active=True, fields=fields)


@pytest.fixture
def salesforce(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Salesforce holds one managed, active user nobody in Okta is; returns what each read was given."""
    import okta_salesforce.hooks.salesforce as hook_module
    import okta_salesforce.sync.directory as directory_module

    reads: list[Any] = []

    def read_salesforce(sf: Any, config: Any, assignments: Any = None, **kwargs: Any) -> SalesforceSnapshot:
        reads.append(assignments)
        return SalesforceSnapshot(users=[leaver("gone@acme.example.com")], directory=DirectoryInfo())

    monkeypatch.setattr(directory_module, "read_salesforce", read_salesforce)
    monkeypatch.setattr(hook_module.SalesforceOAuthHook, "get_conn", lambda self: object())
    return reads


def snapshot(records: list[OktaAssignment], **fields: Any) -> dict[str, Any]:
    path = run_folder("okta_salesforce_sync", "manual__1") / "okta_full_poll_okta_try1.jsonl"
    write_jsonl(path, (r.to_dict() for r in records))
    return OktaSnapshot(path=str(path), count=len(records), **{"mode": "full", **fields}).to_xcom()


def test_a_complete_snapshot_plans_everyone_and_names_every_file(run_files: Path, salesforce: list) -> None:
    poll = snapshot([], complete=True, dry_run=True)
    xcom = PlanSalesforceChangesOperator(task_id="plan", snapshot=poll).execute(context("plan"))

    plan = PlanHandle.from_xcom(xcom)
    assert salesforce == [None], "a complete snapshot reads every Salesforce user"
    assert plan.dry_run, "a dry-run snapshot gives a dry-run plan"
    assert plan.counts["deactivate"] + plan.counts["freeze"] == plan.counts["deprovision"] == 1
    assert plan.deprovisions is not None
    (row,) = read_jsonl(plan.deprovisions.path)
    assert (row["login"], row["name"]) == ("gone@acme.example.com", "Old Timer")
    assert [a.login for a in plan.actions(["deactivate", "freeze"])] == ["gone@acme.example.com"]
    assert plan.path.endswith("/plan_try1.jsonl")
    assert plan.plan_id
    assert plan.planned_at
    assert plan.run_id == "manual__1"
    assert PlanHandle.from_xcom(plan.to_xcom()) == plan


def test_the_users_param_limits_the_plan_to_them(run_files: Path, salesforce: list) -> None:
    poll = snapshot([person("ada@acme.example.com")], mode="users", requested=1)
    xcom = PlanSalesforceChangesOperator(
        task_id="plan", snapshot=poll, users=["ada@acme.example.com"]
    ).execute(context("plan"))

    plan = PlanHandle.from_xcom(xcom)
    assert salesforce[0] is not None, "an on-demand plan reads only the users it could match"
    assert not plan.dry_run
    assert plan.counts["deprovision"] == 0, "nobody outside the requested users is deprovisioned"
    assert {a.login for a in plan.all_actions()} == {"ada@acme.example.com"}


def test_planned_logins_add_the_users_escrow_had_due() -> None:
    records = [person("ada@acme.example.com"), person("bob@acme.example.com")]
    base = OktaSnapshot(path="p", mode="users", pending=("bob@acme.example.com",))
    assert planned_logins(base, records, ["ada@acme.example.com"]) == [
        "ada@acme.example.com",
        "bob@acme.example.com",
    ]
    incremental = OktaSnapshot(path="p", mode="incremental")
    assert planned_logins(incremental, records, []) == ["ada@acme.example.com", "bob@acme.example.com"]
    assert planned_logins(OktaSnapshot(path="p", mode="full", complete=True), records, []) is None


def test_a_missing_snapshot_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="snapshot: expected the poll_okta task's result"):
        PlanSalesforceChangesOperator(task_id="plan", snapshot={}).execute(context("plan"))
