"""Report lines from the plan's and the writers' rows, and the tally the report keeps of them."""

from __future__ import annotations

from typing import Any

from okta_salesforce.sync.models import Action, ActionKind, FieldError, Outcome
from okta_salesforce.sync.report import (
    LOGGED_FAILURES,
    ReportTally,
    first_outcomes,
    report_lines,
    summarize,
    summary_table,
)


def lines(actions: list[Action], outcomes: list[Outcome], **kwargs: Any) -> list[dict[str, Any]]:
    options = {"dry_run": False, "guard_blocked": False, **kwargs}
    return list(report_lines((a.to_dict() for a in actions), first_outcomes(outcomes), **options))


def test_each_action_row_becomes_one_line_joined_with_its_first_outcome() -> None:
    actions = [
        Action(kind=ActionKind.CREATE, login="new@x.com", fields={"Title": "A", "Email": "n@x.com"}),
        Action(
            kind=ActionKind.UPDATE,
            login="moved@x.com",
            salesforce_id="005M",
            changes={"Title": {"old": "a", "new": "b"}},
        ),
        Action(
            kind=ActionKind.ERROR,
            login="bad@x.com",
            errors=(FieldError("Email", "missing"),),
            reason="invalid",
        ),
        Action(kind=ActionKind.SKIP, login="same@x.com", salesforce_id="005S"),
        Action(kind=ActionKind.DEACTIVATE, login="gone@x.com", salesforce_id="005G"),
    ]
    outcomes = [
        Outcome(login="new@x.com", action="create", success=True, salesforce_id="005N"),
        Outcome(login="new@x.com", action="create", success=False, error_code="LATER"),  # not the first
        Outcome(
            login="moved@x.com",
            action="update",
            success=False,
            error_code="FIELD_INTEGRITY_EXCEPTION",
            message="no",
            fields=("Title",),
        ),
    ]
    by_login = {line["login"]: line for line in lines(actions, outcomes, guard_blocked=True)}
    assert by_login["new@x.com"] == {
        "login": "new@x.com",
        "okta_user_id": None,
        "salesforce_id": "005N",
        "username": None,
        "action": "create",
        "reason": "",
        "changed_fields": ["Email", "Title"],
        "error_code": None,
        "message": "",
        "fields": [],
        "outcome": "success",
    }
    assert (by_login["moved@x.com"]["outcome"], by_login["moved@x.com"]["fields"]) == ("failed", ["Title"])
    assert by_login["moved@x.com"]["changed_fields"] == ["Title"]
    bad = by_login["bad@x.com"]
    assert (bad["outcome"], bad["error_code"], bad["message"], bad["fields"]) == (
        "failed",
        "INVALID_INPUT",
        "Email: missing",
        ["Email"],
    )
    assert by_login["same@x.com"]["outcome"] == "unchanged"
    assert by_login["gone@x.com"]["outcome"] == "not_approved"


def test_the_tally_counts_what_the_report_needs_as_lines_pass() -> None:
    rows = [
        {"login": f"u{i}", "action": "create", "outcome": "failed", "error_code": "FIELD_INTEGRITY_EXCEPTION"}
        for i in range(LOGGED_FAILURES + 5)
    ]
    rows += [
        {"login": "r", "action": "update", "outcome": "failed", "error_code": "REQUEST_FAILED"},
        {"login": "s", "action": "skip", "outcome": "unchanged", "error_code": None},
        {"login": "t", "action": "activate", "outcome": "success", "error_code": None},
    ]
    tally = ReportTally()
    assert list(map(tally.add, iter(rows))) == rows
    assert (tally.users, tally.failed, tally.writes, tally.failed_writes) == (
        len(rows),
        26,
        len(rows) - 1,
        25,
    )
    assert [line["login"] for line in tally.first_failures] == [f"u{i}" for i in range(LOGGED_FAILURES)]
    assert (
        tally.counts()
        == summarize(rows)
        == {
            "activate": {"success": 1},
            "create": {"failed": 25},
            "skip": {"unchanged": 1},
            "update": {"failed": 1},
        }
    )
    assert summary_table(tally.counts()).splitlines()[2].split() == ["activate", "0", "1", "0"]
