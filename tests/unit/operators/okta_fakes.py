"""An Okta hook's assignment reads, in memory, counting requests: for the deprovisioning re-check tests."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from okta_salesforce.sync.models import Action, ActionKind, OktaAssignment, SalesforceUser

APP = "0oaapp"
#: Salesforce's LastModifiedDate form, before the re-check tests' snapshot.
BEFORE = "2026-11-30T08:00:00.000+0000"


def assignment(user_id: str, login: str, *, assigned: bool = True) -> OktaAssignment:
    """An ACTIVE user assigned (or not) to :data:`APP`, by login."""
    return OktaAssignment(
        okta_user_id=user_id,
        login=login,
        app_username=login,
        assignment_status="ACTIVE",
        scope="USER",
        user_status="ACTIVE",
        profile={"login": login, "email": login},
        assigned=assigned,
    )


class FakeOkta:
    """The app's current assignments, with a count of requests of each kind."""

    page_size = 500

    def __init__(self, assigned: list[OktaAssignment]) -> None:
        self.assigned = assigned
        self.listed = 0
        self.user_reads = 0

    def iter_assignments(self, app_id: str) -> Iterator[OktaAssignment]:
        assert app_id == APP
        self.listed += 1
        yield from self.assigned

    def find_users(self, logins: Iterable[str]) -> dict[str, dict[str, Any] | None]:
        by_login = {a.login.lower(): a for a in self.assigned}
        out: dict[str, dict[str, Any] | None] = {}
        for login in logins:
            self.user_reads += 1
            found = by_login.get(login.lower())
            out[login] = {"id": found.okta_user_id} if found else None
        return out

    def get_assignments(self, app_id: str, users: Mapping[str, str]) -> list[OktaAssignment]:
        by_id = {a.okta_user_id: a for a in self.assigned}
        self.user_reads += 2 * len(users)
        return [by_id.get(u) or assignment(u, login, assigned=False) for u, login in users.items()]


def leavers(count: int, *, modified: str = BEFORE) -> tuple[list[Action], dict[str, SalesforceUser]]:
    """``count`` deactivations and their active Salesforce users (federated by login,
    last changed ``modified``).
    """
    actions = [
        Action(
            kind=ActionKind.DEACTIVATE,
            login=f"leaver{i}@acme.test",
            okta_user_id=f"00uleaver{i}",
            salesforce_id=f"005{i:015d}",
            username=f"leaver{i}@acme.test",
        )
        for i in range(count)
    ]
    users = {
        a.salesforce_id: SalesforceUser(
            id=a.salesforce_id,
            username=a.login,
            is_active=True,
            fields={"FederationIdentifier": a.login, "Email": a.login, "LastModifiedDate": modified},
        )
        for a in actions
        if a.salesforce_id
    }
    return actions, users


def company(size: int, back: Sequence[OktaAssignment] = ()) -> list[OktaAssignment]:
    """``size`` users assigned to the app, then ``back``."""
    return [assignment(f"00uuser{i}", f"user{i}@acme.test") for i in range(size)] + list(back)
