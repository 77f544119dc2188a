"""Compare the two sandboxes: does Salesforce agree with who is assigned in Okta?

Used by the demo to tell a new user what the runs achieved, and by the integration tests
as their oracle. It reads the sandboxes' state directly (not through the APIs under test).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from okta_salesforce_testbed.sandbox import Sandboxes

#: Assignment statuses and user statuses that put an Okta user in scope (the shipped config's).
IN_SCOPE_ASSIGNMENTS = frozenset({"ACTIVE", "PROVISIONED"})
IN_SCOPE_USERS = frozenset({"ACTIVE"})


@dataclass
class Audit:
    """The differences between Okta and Salesforce, by kind (logins, lower-cased)."""

    assigned: set[str] = field(default_factory=set)
    missing: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    lingering: list[str] = field(default_factory=list)
    mismatched: dict[str, dict[str, tuple[Any, Any]]] = field(default_factory=dict)

    @property
    def consistent(self) -> bool:
        return not (self.missing or self.duplicates or self.lingering or self.mismatched)


def audit(sandboxes: Sandboxes, *, compare_fields: tuple[str, ...] = ("Department", "Title")) -> Audit:
    """Check every in-scope assigned Okta user has exactly one active Salesforce user with the mapped
    fields, and every managed Salesforce user nobody is assigned to is inactive or frozen.

    :param compare_fields: Salesforce fields that must equal the Okta profile attribute of the
        same name in lower camel case (``Department`` ← ``department``).
    """
    okta = sandboxes.okta_app
    with okta.lock:
        directory = okta.directory
        profiles = {
            user.login.lower(): dict(user.profile)
            for user_id, app_user in directory.app_users.items()
            if (user := directory.users[user_id]).status in IN_SCOPE_USERS
            and app_user.status in IN_SCOPE_ASSIGNMENTS
        }
    result = Audit(assigned=set(profiles))
    by_federation: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for sf_user in sandboxes.salesforce_app.users():
        if sf_user.get("FederationIdentifier"):
            by_federation[str(sf_user["FederationIdentifier"]).lower()].append(sf_user)
    for login, profile in profiles.items():
        active = [u for u in by_federation.get(login, []) if u.get("IsActive") and not u.get("IsFrozen")]
        if not active:
            result.missing.append(login)
            continue
        if len(by_federation[login]) > 1:
            result.duplicates.append(login)
        differences = {
            name: (active[0].get(name), profile.get(name[:1].lower() + name[1:]))
            for name in compare_fields
            if (active[0].get(name) or None) != (profile.get(name[:1].lower() + name[1:]) or None)
        }
        if differences:
            result.mismatched[login] = differences
    result.lingering = sorted(
        login
        for login, users in by_federation.items()
        if login not in profiles and any(u.get("IsActive") and not u.get("IsFrozen") for u in users)
    )
    result.missing.sort()
    result.duplicates.sort()
    return result
