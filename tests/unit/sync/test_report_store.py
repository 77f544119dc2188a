"""The report's store on disk: outcomes by (login, action), lines in order, each user's worst settlement."""

from __future__ import annotations

import os
import stat
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

import okta_salesforce.sync.report_store as report_store
from okta_salesforce.sync.escrow import Escrow, PendingUser, Settlement
from okta_salesforce.sync.report_store import ReportStore

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def line(login: str, action: str, outcome: str, code: str | None = None, **extra: Any) -> dict[str, Any]:
    return {"login": login, "action": action, "outcome": outcome, "error_code": code, "message": "", **extra}


@pytest.fixture(autouse=True)
def small_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pages of 2 rows, so every read here crosses page boundaries."""
    monkeypatch.setattr(report_store, "CHUNK", 2)


def test_the_first_outcome_of_a_login_and_action_wins() -> None:
    with ReportStore(folder=":memory:") as store:
        store.add_outcomes(
            [
                {"login": "a@x.com", "action": "create", "success": True, "salesforce_id": "005A"},
                {"login": "a@x.com", "action": "create", "success": False, "error_code": "LATER"},
                {"login": "a@x.com", "action": "unfreeze", "success": False, "error_code": "X"},
            ]
        )
        assert store.get(("a@x.com", "create")) == {
            "login": "a@x.com",
            "action": "create",
            "success": True,
            "salesforce_id": "005A",
        }
        assert store.get(("a@x.com", "unfreeze"))["error_code"] == "X"  # type: ignore[index]
        assert store.get(("A@x.com", "create")) is None  # the join is exact, as in memory
        assert store.get(("b@x.com", "create")) is None


def test_lines_come_back_in_order_and_each_user_settles_once_as_their_worst_line() -> None:
    lines = [
        line("a@x.com", "activate", "success"),
        line("b@x.com", "skip", "unchanged"),
        line("c@x.com", "create", "failed", "REQUEST_FAILED"),
        line("d@x.com", "update", "dry_run"),
        line("e@x.com", "create", "failed", "FIELD_INTEGRITY_EXCEPTION"),
        line("A@X.com", "unfreeze", "failed", "INVALID_CROSS_REFERENCE_KEY"),  # a's second line, worse
        line("c@x.com", "update", "success"),  # c's second line, better: c stays unanswered
    ]
    with ReportStore(folder=":memory:") as store:
        assert store.add_lines(iter(lines)) == 7
        assert list(store.lines()) == lines
        settled = [(s, row["login"]) for s, row in store.settlements()]
    assert settled == [
        (Settlement.FAILED, "A@X.com"),  # at a's first line, with the failing line
        (Settlement.CONVERGED, "b@x.com"),  # converged users need only the (case-folded) login
        (Settlement.UNANSWERED, "c@x.com"),
        (Settlement.FAILED, "e@x.com"),
    ]


def test_escrow_settles_the_same_from_the_store_as_from_the_lines_in_memory() -> None:
    lines = [
        line("a@x.com", "activate", "success", okta_user_id="00ua"),
        line("a@x.com", "unfreeze", "failed", "INVALID_CROSS_REFERENCE_KEY", okta_user_id="00ua"),
        line("Pending@x.com", "skip", "unchanged"),
        line("c@x.com", "create", "not_run"),
        line("d@x.com", "update", "failed", "FIELD_INTEGRITY_EXCEPTION", message="bad"),
    ]
    before = [
        PendingUser(login="pending@x.com", since="2026-11-29T00:00:00+00:00"),
        PendingUser(login="d@x.com", action="update", failures=2, since="2026-11-29T00:00:00+00:00"),
    ]
    in_memory, streamed = Escrow(before), Escrow(before)
    expected = in_memory.settle(lines, NOW)
    with ReportStore(folder=":memory:") as store:
        store.add_lines(lines)
        assert streamed.settle_users(store.settlements(), NOW) == expected
    assert streamed.to_dict() == in_memory.to_dict()
    assert expected == {"converged": 1, "failed": 2, "unanswered": 1}


def test_the_store_is_a_private_file_removed_on_close(tmp_path: Path) -> None:
    store = ReportStore(folder=str(tmp_path))
    (folder,) = tmp_path.iterdir()
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE(os.stat(folder / "report.sqlite").st_mode) == 0o600
    store.add_lines([line("a@x.com", "skip", "unchanged")])
    store.close()
    assert list(tmp_path.iterdir()) == []


def test_outcomes_of_a_chunk_come_in_one_query_as_get_gives_them() -> None:
    with ReportStore(folder=":memory:") as store:
        store.add_outcomes(
            [
                {"login": "a@x.com", "action": "create", "success": True, "salesforce_id": "005A"},
                {"login": "a@x.com", "action": "create", "success": False, "error_code": "LATER"},
                {"login": 'q"uote@x.com', "action": "update", "success": True, "n": 2**70},
            ]
        )
        keys = [("a@x.com", "create"), ("A@x.com", "create"), ('q"uote@x.com', "update")]
        keys.append(("b@x.com", "create"))
        found = store.outcomes_for(keys)
        assert found == {key: store.get(key) for key in keys if store.get(key) is not None}
        assert list(found) == [("a@x.com", "create"), ('q"uote@x.com', "update")]
        with pytest.raises(UnicodeEncodeError):  # a lone surrogate: one query per key, as get fails
            store.outcomes_for([("x\ud800@x.com", "create")])
        assert store.outcomes_for([]) == {}


def test_encoded_lines_change_only_where_asked() -> None:
    """The report file's lines come back as stored, except a pending user's (decoded, changed, encoded)."""
    lines = [
        line("a@x.com", "skip", "unchanged", pending=False),
        line("B@x.com", "create", "failed", pending=False),
    ]
    with ReportStore(folder=":memory:") as store:
        store.add_lines([dict(row) for row in lines])
        plain = list(store.encoded())
        assert plain == [store.encode(row) for row in lines]
        changed = list(store.encoded(lambda key: {"pending": True} if key == "b@x.com" else None))
    assert changed == [plain[0], store.encode({**lines[1], "pending": True})]
