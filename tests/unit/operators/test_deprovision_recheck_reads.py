"""The deprovisioning re-check reads Okta per user, or lists the app once when that costs fewer requests."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from okta_salesforce.operators.recheck_okta import current_assignments
from okta_salesforce.sync.models import Action, ActionKind, OktaAssignment, SalesforceUser

APP = "0oaapp"


def assignment(user_id: str, login: str, *, assigned: bool = True) -> OktaAssignment:
    return OktaAssignment(
        okta_user_id=user_id,
        login=login,
        app_username=login,
        assignment_status="ACTIVE",
        scope="USER",
        user_status="ACTIVE",
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


def leavers(count: int) -> tuple[list[Action], dict[str, SalesforceUser]]:
    actions = [
        Action(
            kind=ActionKind.DEACTIVATE,
            login=f"leaver{i}@acme.test",
            okta_user_id=f"00uleaver{i}",
            salesforce_id=f"005{i:015d}",
        )
        for i in range(count)
    ]
    users = {
        a.salesforce_id: SalesforceUser(id=a.salesforce_id, username=a.login, is_active=True)
        for a in actions
        if a.salesforce_id
    }
    return actions, users


def company(size: int, *, back: list[OktaAssignment]) -> list[OktaAssignment]:
    return [assignment(f"00uuser{i}", f"user{i}@acme.test") for i in range(size)] + back


def test_many_deprovisions_list_the_app_once_and_find_who_came_back():
    actions, users = leavers(300)
    back = [
        assignment("00uleaver3", "leaver3@acme.test"),  # re-assigned, same Okta user
        assignment("00urecreated", "LEAVER7@acme.test"),  # re-created in Okta under the same login
    ]
    okta = FakeOkta(company(10_000, back=back))
    found = current_assignments(okta, APP, actions, users, assigned_estimate=10_000)
    assert okta.listed == 1
    assert okta.user_reads == 0
    assert {a.okta_user_id for a in found} == {"00uleaver3", "00urecreated"}


def test_few_deprovisions_read_each_user():
    actions, users = leavers(3)
    okta = FakeOkta(company(10_000, back=[assignment("00uleaver1", "leaver1@acme.test")]))
    found = current_assignments(okta, APP, actions, users, assigned_estimate=10_000)
    assert okta.listed == 0
    assert okta.user_reads == 3 + 2 * 3
    assert [a.okta_user_id for a in found if a.assigned] == ["00uleaver1"]


def test_without_an_estimate_each_user_is_read():
    actions, users = leavers(300)
    okta = FakeOkta(company(100, back=[]))
    current_assignments(okta, APP, actions, users)
    assert okta.listed == 0
