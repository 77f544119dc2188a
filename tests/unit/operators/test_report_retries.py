"""The report after a failed try: writes an earlier try of the run made are reported as made.

The events fast path plans again in its next try (and a cleared run re-plans): a user written in
the failed try is then in sync, and the new plan says ``skip``. The run did write that user, so the
report says so: the earlier try's outcome replaces the ``unchanged`` line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from okta_salesforce.escrow_store import MemoryEscrowStore
from okta_salesforce.operators.report import RunReport, SyncReportOperator
from okta_salesforce.storage import RunFiles, read_jsonl, write_jsonl
from okta_salesforce.sync.models import Action, ActionKind, Outcome
from okta_salesforce.sync.outcomes import WriteResult

from .conftest import FakeTi, context, plan_handle


def written(task_id: str, outcomes: list[Outcome], *, try_number: int) -> dict[str, Any]:
    target = RunFiles(FakeTi(task_id, try_number=try_number)).outcomes()
    write_jsonl(target, (o.to_dict() for o in outcomes))
    return WriteResult.of(str(target), [o.action for o in outcomes], outcomes, dry_run=False).to_xcom()


def report(plan: dict[str, Any], outcomes: list[dict[str, Any] | None]) -> tuple[RunReport, list[dict]]:
    operator = SyncReportOperator(
        task_id="report", plan=plan, outcomes=outcomes, escrow_store=MemoryEscrowStore()
    )
    result = RunReport.from_xcom(operator.execute({**context("report", try_number=2), "outlet_events": {}}))
    return result, list(read_jsonl(result.path))


def test_a_user_written_in_a_failed_try_is_reported_as_written_not_unchanged(run_files: Path) -> None:
    # Try 1 created new@x.com, deactivated gone@x.com and updated moved@x.com, then a request failed.
    written(
        "create_users",
        [Outcome(login="new@x.com", action="create", success=True, salesforce_id="005N")],
        try_number=1,
    )
    written(
        "update_users",
        [
            Outcome(login="moved@x.com", action="update", success=True, salesforce_id="005M"),
            Outcome(login="late@x.com", action="update", success=False, error_code="REQUEST_FAILED"),
        ],
        try_number=1,
    )
    written(
        "deprovision_users",
        [Outcome(login="gone@x.com", action="deactivate", success=True, salesforce_id="005G")],
        try_number=1,
    )
    # Try 2 planned again: those three are in sync now; moved@x.com changed again and is updated anew.
    plan = plan_handle(
        [
            Action(
                kind=ActionKind.SKIP,
                login="new@x.com",
                okta_user_id="00un",
                salesforce_id="005N",
                reason="in sync",
            ),
            Action(kind=ActionKind.SKIP, login="gone@x.com", salesforce_id="005G", reason="already inactive"),
            Action(kind=ActionKind.UPDATE, login="moved@x.com", salesforce_id="005M"),
            Action(kind=ActionKind.UPDATE, login="late@x.com", salesforce_id="005L"),
            Action(kind=ActionKind.SKIP, login="same@x.com", salesforce_id="005S", reason="in sync"),
        ]
    )
    update = written(
        "update_users",
        [
            Outcome(
                login="moved@x.com", action="update", success=False, error_code="FIELD_INTEGRITY_EXCEPTION"
            ),
            Outcome(login="late@x.com", action="update", success=True, salesforce_id="005L"),
        ],
        try_number=2,
    )

    result, lines = report(plan, [None, None, update, None])

    by_login = {line["login"]: line for line in lines}
    assert len(lines) == 5
    assert {login: (line["action"], line["outcome"]) for login, line in by_login.items()} == {
        "new@x.com": ("create", "success"),
        "gone@x.com": ("deactivate", "success"),
        "moved@x.com": ("update", "failed"),  # planned again in this try: this try's outcome stands
        "late@x.com": ("update", "success"),
        "same@x.com": ("skip", "unchanged"),
    }
    new = by_login["new@x.com"]
    assert (new["okta_user_id"], new["salesforce_id"]) == ("00un", "005N")
    assert "outcomes_create_users_try1.jsonl" in new["reason"]
    assert result.counts == {
        "create": {"success": 1},
        "deactivate": {"success": 1},
        "skip": {"unchanged": 1},
        "update": {"failed": 1, "success": 1},
    }
    assert result.escrow.settled == {"converged": 4, "failed": 1, "unanswered": 0}


def test_an_earlier_write_of_a_user_the_plan_no_longer_holds_gets_a_line_of_its_own(run_files: Path) -> None:
    written(
        "deprovision_users",
        [Outcome(login="gone@x.com", action="deactivate", success=True, salesforce_id="005G")],
        try_number=1,
    )
    plan = plan_handle([Action(kind=ActionKind.SKIP, login="same@x.com", reason="in sync")])

    result, lines = report(plan, [])

    assert [(line["login"], line["action"], line["outcome"]) for line in lines] == [
        ("same@x.com", "skip", "unchanged"),
        ("gone@x.com", "deactivate", "success"),
    ]
    assert result.users == 2


def test_a_cut_outcomes_file_of_a_crashed_try_is_read_up_to_the_cut(run_files: Path) -> None:
    written(
        "create_users",
        [Outcome(login="new@x.com", action="create", success=True, salesforce_id="005N")],
        try_number=1,
    )
    path = Path(str(RunFiles(FakeTi("create_users", try_number=1)).outcomes()).removeprefix("file://"))
    path.write_text(path.read_text(encoding="utf-8") + '{"login": "cut@x.com", "act', encoding="utf-8")
    plan = plan_handle([Action(kind=ActionKind.SKIP, login="new@x.com", reason="in sync")])

    _result, lines = report(plan, [])

    assert [(line["login"], line["action"], line["outcome"]) for line in lines] == [
        ("new@x.com", "create", "success")
    ]


def test_a_dry_run_reports_only_its_own_plan(run_files: Path) -> None:
    written("create_users", [Outcome(login="new@x.com", action="create", success=True)], try_number=1)
    plan = plan_handle([Action(kind=ActionKind.SKIP, login="new@x.com", reason="in sync")], dry_run=True)

    _result, lines = report(plan, [])

    assert [(line["action"], line["outcome"]) for line in lines] == [("skip", "unchanged")]
