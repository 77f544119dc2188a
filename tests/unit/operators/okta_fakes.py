"""An Okta hook's assignment reads, in memory, counting requests: for the deprovisioning re-check tests."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from okta_salesforce.sync.models import OktaAssignment

APP = "0oaapp"


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
