"""Escrow rules: write-ahead, settlement from report lines, quarantine with backoff."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from okta_salesforce.sync.config_runtime import FailuresConfig
from okta_salesforce.sync.escrow import Escrow, PendingUser, Settlement, settlement_of

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def line(login: str, outcome: str, action: str = "create", code: str | None = None, **extra) -> dict:
    return {"login": login, "action": action, "outcome": outcome, "error_code": code, "message": "", **extra}


def test_settlement_of_each_outcome() -> None:
    assert settlement_of(line("a", "success")) is Settlement.CONVERGED
    assert settlement_of(line("a", "unchanged", "skip")) is Settlement.CONVERGED
    assert settlement_of(line("a", "dry_run")) is None
    assert settlement_of(line("a", "failed", code="LICENSE_LIMIT_EXCEEDED")) is Settlement.FAILED
    assert settlement_of(line("a", "failed", "error", code="INVALID_INPUT")) is Settlement.FAILED
    for code in ("REQUEST_FAILED", "NOT_ATTEMPTED", "API_BUDGET", "QUARANTINED", "GUARD_TRIPPED"):
        assert settlement_of(line("a", "failed", code=code)) is Settlement.UNANSWERED
    assert settlement_of(line("a", "not_run")) is Settlement.UNANSWERED
    assert settlement_of(line("a", "not_approved", "deactivate")) is Settlement.UNANSWERED


def test_write_ahead_then_converge_and_fail() -> None:
    escrow = Escrow()
    assert escrow.hold([("A@x.com", "00u1"), ("b@x.com", None)], NOW) == 2
    assert escrow.hold([("a@x.com", "00u1")], NOW) == 0  # case-insensitive, kept
    counts = escrow.settle(
        [line("a@x.com", "success"), line("b@x.com", "failed", code="FIELD_INTEGRITY_EXCEPTION")], NOW
    )
    assert counts == {"converged": 1, "failed": 1, "unanswered": 0}
    assert escrow.get("a@x.com") is None
    pending = escrow.get("B@X.COM")
    assert pending is not None
    assert pending.failures == 1
    assert pending.action == "create"
    assert pending.error_code == "FIELD_INTEGRITY_EXCEPTION"
    assert [u.login for u in escrow.due(NOW)] == ["b@x.com"]


def test_request_failures_stay_pending_without_counting() -> None:
    escrow = Escrow()
    for _ in range(10):
        escrow.settle([line("a@x.com", "failed", code="REQUEST_FAILED", okta_user_id="00u1")], NOW)
    pending = escrow.get("a@x.com")
    assert pending is not None
    assert pending.failures == 0
    assert pending.okta_user_id == "00u1"
    assert not escrow.quarantined()


def test_quarantine_after_n_failures_with_doubling_backoff() -> None:
    escrow = Escrow(policy=FailuresConfig(quarantine_after=3, quarantine_backoff_minutes=60))
    failure = line("a@x.com", "failed", code="LICENSE_LIMIT_EXCEEDED")
    for _ in range(2):
        escrow.settle([failure], NOW)
    assert not escrow.quarantined()
    assert escrow.due(NOW)
    escrow.settle([failure], NOW)
    (user,) = escrow.quarantined()
    assert user.failures == 3
    assert escrow.due(NOW) == []
    assert escrow.held("a@x.com", "create", NOW) == user
    assert escrow.held("a@x.com", "deactivate", NOW) is None  # a different write is not held
    assert escrow.due(NOW + timedelta(minutes=61)) == [user]
    escrow.settle([failure], NOW)
    assert escrow.get("a@x.com").retry_after == (NOW + timedelta(minutes=120)).isoformat(timespec="seconds")
    escrow.settle([line("a@x.com", "success")], NOW)
    assert len(escrow) == 0


def test_backoff_is_capped() -> None:
    escrow = Escrow(policy=FailuresConfig(quarantine_after=1, max_quarantine_backoff_hours=2))
    for _ in range(40):
        escrow.settle([line("a@x.com", "failed", code="X")], NOW)
    assert escrow.get("a@x.com").retry_after == (NOW + timedelta(hours=2)).isoformat(timespec="seconds")


def test_a_different_action_starts_counting_again() -> None:
    escrow = Escrow(policy=FailuresConfig(quarantine_after=2))
    escrow.settle([line("a@x.com", "failed", code="X")], NOW)
    escrow.settle([line("a@x.com", "failed", "deactivate", code="Y")], NOW)
    assert escrow.get("a@x.com").failures == 1


def test_round_trip() -> None:
    escrow = Escrow([PendingUser(login="a@x.com", okta_user_id="00u1", failures=2, since="x")])
    again = Escrow.from_dict(escrow.to_dict())
    assert again.get("a@x.com") == escrow.get("a@x.com")
    assert Escrow.from_dict(None).users == {}


def test_a_user_with_several_lines_settles_on_the_worst() -> None:
    escrow = Escrow()
    escrow.settle(
        [line("a@x.com", "failed", "activate", code="X"), line("a@x.com", "success", "unfreeze")], NOW
    )
    assert escrow.get("a@x.com").action == "activate"
    escrow.settle([line("a@x.com", "success", "activate"), line("a@x.com", "success", "unfreeze")], NOW)
    assert escrow.get("a@x.com") is None
