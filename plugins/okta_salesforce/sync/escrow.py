"""Escrow: users whose Salesforce write has not succeeded yet, kept until a later run converges them.

The model, in five lines:

1. An incremental or event run puts every user it read into escrow *before* it moves the System
   Log cursor (write-ahead), so no event is ever passed over for a user nobody will retry.
2. Each real run settles its users from the report: converged (written or nothing to do) leave
   escrow; a per-record failure (Salesforce refused the record, invalid input) counts one failure;
   anything that did not get an answer for the record (a failed request, the API budget, not
   attempted, held by the guard or quarantine) stays pending without counting.
3. Every run of any DAG reads the due pending users again, even when no Okta event names them.
4. After ``failures.quarantine_after`` consecutive failures of the same write a user is quarantined:
   retried only after a backoff that doubles with each further failure, and listed in the report,
   the Asset event and the alert.
5. Dry runs read escrow but never change it.

Pure data and rules, no Airflow: the store lives in :mod:`okta_salesforce.escrow_store`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from okta_salesforce.sync.config_runtime import FailuresConfig
from okta_salesforce.sync.transport import STOP_CODES

#: Error code of a write the writer held back because the user is quarantined and not yet due.
QUARANTINED = "QUARANTINED"
#: Error codes that say nothing about the record itself: the user stays pending, uncounted.
UNANSWERED_CODES = frozenset({*STOP_CODES, QUARANTINED, "GUARD_TRIPPED"})


class Settlement(StrEnum):
    """What a run's report says about one user's write."""

    CONVERGED = "converged"  # written, or nothing to write
    FAILED = "failed"  # Salesforce (or the plan) refused this record
    UNANSWERED = "unanswered"  # no answer for the record: stays pending, uncounted


def settlement_of(line: dict[str, Any]) -> Settlement | None:
    """The settlement of one report line (None for a dry run line, which settles nothing)."""
    outcome = line.get("outcome")
    if outcome in ("success", "unchanged"):
        return Settlement.CONVERGED
    if outcome == "dry_run":
        return None
    if outcome == "failed" and line.get("error_code") not in UNANSWERED_CODES:
        return Settlement.FAILED
    return Settlement.UNANSWERED


@dataclass(frozen=True)
class PendingUser:
    """One user in escrow.

    :param login: the Okta login (or the Salesforce username of a user no Okta user matches).
    :param okta_user_id: the Okta user id, when known (read back by id, which survives renames).
    :param action: the write last planned for the user (None while only written ahead).
    :param failures: consecutive per-record failures of ``action``.
    :param error_code: the last failure's code.
    :param message: the last failure's message.
    :param since: when the user entered escrow (ISO 8601, UTC).
    :param retry_after: a quarantined user is not retried before this moment (ISO 8601, UTC).
    """

    login: str
    okta_user_id: str | None = None
    action: str | None = None
    failures: int = 0
    error_code: str | None = None
    message: str = ""
    since: str = ""
    retry_after: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v not in (None, "", 0)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PendingUser:
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


class Escrow:
    """The pending users of one target, keyed by case-folded login.

    :param users: the pending users.
    :param policy: the ``failures`` section of the config.
    """

    def __init__(self, users: Iterable[PendingUser] = (), policy: FailuresConfig | None = None) -> None:
        self.policy = policy or FailuresConfig()
        self.users: dict[str, PendingUser] = {u.login.casefold(): u for u in users}

    def __len__(self) -> int:
        return len(self.users)

    def __iter__(self) -> Iterator[PendingUser]:
        return iter(self.users.values())

    def get(self, login: str) -> PendingUser | None:
        return self.users.get(login.casefold())

    # Serialisation ------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {"version": 1, "users": [u.to_dict() for u in self.users.values()]}

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None, policy: FailuresConfig | None = None) -> Escrow:
        rows = (data or {}).get("users") or []
        return cls((PendingUser.from_dict(row) for row in rows if isinstance(row, dict)), policy)

    # Rules ----------------------------------------------------------------------------------
    def is_quarantined(self, user: PendingUser) -> bool:
        return user.failures >= self.policy.quarantine_after

    def quarantined(self) -> list[PendingUser]:
        return [u for u in self.users.values() if self.is_quarantined(u)]

    def due(self, now: datetime) -> list[PendingUser]:
        """Pending users a run should retry now (quarantined ones once their backoff is over)."""
        return [u for u in self.users.values() if not self._waiting(u, now)]

    def held(self, login: str, action: str, now: datetime) -> PendingUser | None:
        """The quarantined entry that holds back ``action`` for ``login`` now, if any.

        Only the write that kept failing is held: a different write (a leaver's deactivation
        after failed creates) is attempted at once.
        """
        user = self.get(login)
        if user is None or user.action != action or not self._waiting(user, now):
            return None
        return user

    def _waiting(self, user: PendingUser, now: datetime) -> bool:
        return self.is_quarantined(user) and bool(user.retry_after and _parse(user.retry_after) > now)

    def hold(self, users: Iterable[tuple[str, str | None]], now: datetime) -> int:
        """Write ahead: put ``(login, okta_user_id)`` pairs in escrow (existing entries are kept)."""
        added = 0
        for login, okta_user_id in users:
            key = login.casefold()
            current = self.users.get(key)
            if current is None:
                self.users[key] = PendingUser(login=login, okta_user_id=okta_user_id or None, since=_iso(now))
                added += 1
            elif okta_user_id and not current.okta_user_id:
                self.users[key] = replace(current, okta_user_id=okta_user_id)
        return added

    def settle(self, lines: Iterable[dict[str, Any]], now: datetime) -> dict[str, int]:
        """Apply a real run's report lines; returns counts by settlement."""
        return self.settle_users(_by_user(lines), now)

    def settle_users(
        self, users: Iterable[tuple[Settlement, dict[str, Any]]], now: datetime
    ) -> dict[str, int]:
        """:meth:`settle` from one ``(settlement, line)`` per user, the user's worst (see :data:`RANK`).

        The report streams these from its disk-backed store, so a run's lines are never all in memory.
        """
        counts = dict.fromkeys((str(s) for s in Settlement), 0)
        converged, pending = 0, self.users
        for settlement, line in users:
            if settlement is Settlement.CONVERGED:  # most users: leave escrow, if they were in it
                converged += 1
                if pending:
                    pending.pop(str(line["login"]).casefold(), None)
                continue
            counts[str(settlement)] += 1
            login = str(line["login"])
            key = login.casefold()
            current = self.users.get(key)
            base = current or PendingUser(login=login, since=_iso(now))
            okta_user_id = line.get("okta_user_id") or base.okta_user_id
            if settlement is Settlement.UNANSWERED:
                self.users[key] = replace(
                    base, okta_user_id=okta_user_id, action=base.action or line["action"]
                )
                continue
            failures = base.failures + 1 if base.action == line["action"] else 1
            self.users[key] = replace(
                base,
                okta_user_id=okta_user_id,
                action=line["action"],
                failures=failures,
                error_code=line.get("error_code"),
                message=str(line.get("message") or "")[:500],
                retry_after=self._retry_after(failures, now),
            )
        counts[str(Settlement.CONVERGED)] += converged
        return counts

    def _retry_after(self, failures: int, now: datetime) -> str | None:
        extra = failures - self.policy.quarantine_after
        if extra < 0:
            return None
        minutes = self.policy.quarantine_backoff_minutes * 2 ** min(extra, 30)
        wait = min(timedelta(minutes=minutes), timedelta(hours=self.policy.max_quarantine_backoff_hours))
        return _iso(now + wait)


#: How bad a settlement is: a user with several lines (e.g. activate + unfreeze) settles as the worst.
RANK = {Settlement.CONVERGED: 0, Settlement.UNANSWERED: 1, Settlement.FAILED: 2}


def _by_user(lines: Iterable[dict[str, Any]]) -> list[tuple[Settlement, dict[str, Any]]]:
    """One settlement per user (a user with several lines, e.g. activate + unfreeze, gets the worst)."""
    worst: dict[str, tuple[Settlement, dict[str, Any]]] = {}
    for line in lines:
        settlement = settlement_of(line)
        if settlement is None:
            continue
        key = str(line["login"]).casefold()
        if key not in worst or RANK[settlement] > RANK[worst[key][0]]:
            worst[key] = (settlement, line)
    return list(worst.values())


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def _parse(value: str) -> datetime:
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
