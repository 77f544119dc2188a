"""SyncReportOperator: one line per planned action, joined with the writers' typed results."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from okta_salesforce.escrow_store import MemoryEscrowStore
from okta_salesforce.operators.report import RunReport, SyncReportOperator
from okta_salesforce.storage import RunFiles, read_jsonl, write_jsonl
from okta_salesforce.sync.models import Action, ActionKind, GuardResult, Outcome
from okta_salesforce.sync.outcomes import WriteResult

from .conftest import FakeTi, context, plan_handle

TRIPPED = GuardResult(tripped=True, allowed=False, deprovisions=1, managed_active=2, message="Too many.")


def written(task_id: str, outcomes: list[Outcome]) -> dict[str, Any]:
    target = RunFiles(FakeTi(task_id)).outcomes()
    write_jsonl(target, (o.to_dict() for o in outcomes))
    return WriteResult.of(str(target), ["create"], outcomes, dry_run=False).to_xcom()


def test_lines_join_outcomes_and_say_what_did_not_run(run_files: Path) -> None:
    plan = plan_handle(
        [
            Action(kind=ActionKind.CREATE, login="new@x.com"),
            Action(kind=ActionKind.UPDATE, login="moved@x.com", salesforce_id="005M"),
            Action(kind=ActionKind.DEACTIVATE, login="gone@x.com", salesforce_id="005G"),
            Action(kind=ActionKind.SKIP, login="same@x.com", salesforce_id="005S"),
        ],
        guard=TRIPPED,
    )
    create = written(
        "create_users", [Outcome(login="new@x.com", action="create", success=True, salesforce_id="005N")]
    )
    ctx = {**context("report", states={"update_users": "failed"}), "outlet_events": {}}
    operator = SyncReportOperator(
        task_id="report",
        plan=plan,
        outcomes=[create, None],  # update_users failed before publishing anything
        writer_task_ids=["create_users", "update_users"],
        escrow_store=MemoryEscrowStore(),
    )

    report = RunReport.from_xcom(operator.execute(ctx))

    outcome = {line["login"]: line["outcome"] for line in read_jsonl(report.path)}
    assert outcome == {
        "new@x.com": "success",
        "moved@x.com": "not_run",
        "gone@x.com": "not_approved",
        "same@x.com": "unchanged",
    }
    assert report.counts["create"] == {"success": 1}
    assert report.verdict.failed_writers == ("update_users",)
    assert report.guard is not None
    assert report.guard.blocked
    assert RunReport.from_xcom(report.to_xcom()) == report


def test_the_asset_event_carries_the_counts(run_files: Path) -> None:
    plan = plan_handle([Action(kind=ActionKind.SKIP, login="same@x.com")], dry_run=True)
    outlet, event = object(), SimpleNamespace()
    operator = SyncReportOperator(task_id="report", plan=plan, outcomes=[], escrow_store=MemoryEscrowStore())
    operator.outlets = [outlet]  # type: ignore[list-item]
    ctx = {**context("report"), "outlet_events": {outlet: event}}

    result = operator.execute(ctx)

    extra = event.extra
    assert (extra["users"], extra["dry_run"], extra["counts"]) == (1, True, {"skip": {"unchanged": 1}})
    assert extra["report"] == result["path"]
    assert result["verdict"] == {"failed_writers": [], "failure_ratio": None}


def test_lines_stream_through_the_store_in_plan_order_and_settle_per_user(
    run_files: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pages of 2 rows: every line crosses the disk-backed store; the file, counts and escrow hold."""
    import okta_salesforce.sync.report_store as report_store

    monkeypatch.setattr(report_store, "CHUNK", 2)
    plan = plan_handle(
        [
            *(
                Action(kind=ActionKind.SKIP, login=f"same{i}@x.com", salesforce_id=f"005S{i}")
                for i in range(3)
            ),
            Action(kind=ActionKind.ACTIVATE, login="back@x.com", salesforce_id="005B", okta_user_id="00ub"),
            Action(kind=ActionKind.UNFREEZE, login="back@x.com", salesforce_id="005B", okta_user_id="00ub"),
            Action(kind=ActionKind.CREATE, login="new@x.com", okta_user_id="00un"),
        ]
    )
    activate = written(
        "activate_users",
        [
            Outcome(login="back@x.com", action="activate", success=True, salesforce_id="005B"),
            Outcome(
                login="back@x.com",
                action="unfreeze",
                success=False,
                error_code="INSUFFICIENT_ACCESS",
                message="no",
            ),
        ],
    )
    create = written(
        "create_users", [Outcome(login="new@x.com", action="create", success=True, salesforce_id="005N")]
    )
    store = MemoryEscrowStore()
    operator = SyncReportOperator(
        task_id="report", plan=plan, outcomes=[create, activate], escrow_store=store
    )

    report = RunReport.from_xcom(operator.execute({**context("report"), "outlet_events": {}}))

    lines = list(read_jsonl(report.path))
    assert [(line["login"], line["action"], line["outcome"]) for line in lines] == [
        *((f"same{i}@x.com", "skip", "unchanged") for i in range(3)),
        ("back@x.com", "activate", "success"),
        ("back@x.com", "unfreeze", "failed"),
        ("new@x.com", "create", "success"),
    ]
    back = [line for line in lines if line["login"] == "back@x.com"]
    assert {(line["pending"], line["failures"], line["target"]) for line in back} == {(True, 1, "default")}
    assert all(not line["pending"] for line in lines if line["login"] != "back@x.com")
    assert (report.users, report.failed) == (6, 1)
    assert report.counts == {
        "activate": {"success": 1},
        "create": {"success": 1},
        "skip": {"unchanged": 3},
        "unfreeze": {"failed": 1},
    }
    assert (report.escrow.pending, report.escrow.settled) == (
        1,
        {"converged": 4, "failed": 1, "unanswered": 0},
    )
    assert report.verdict.failure_ratio is not None  # 1 of 3 writes failed: over the default ratio
