"""Who is in scope in Okta, and which Salesforce users the sync manages.

An Okta assignment is *in scope* when it is assigned, the Okta user's status and the app
user's status are in the configured lists, and every attribute filter holds. A Salesforce user
is *managed* when it passes the ``managed`` section (by default: it has a FederationIdentifier,
its profile is not excluded, its UserType is ``Standard`` or ``CsnOnly``). Unmanaged users
(admins, integration users) are never written to, whatever Okta says. A user the sync creates
always passes: :mod:`okta_salesforce.sync.managed_profiles` refuses a config whose mapping could
give it a profile or user type this filter excludes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache
from typing import TYPE_CHECKING, Any

from okta_salesforce.sync.config_scope import AttributeFilter, FilterOperator
from okta_salesforce.sync.expressions import assignment_context

if TYPE_CHECKING:
    from okta_salesforce.sync.config_scope import ManagedConfig, ScopeConfig
    from okta_salesforce.sync.models import OktaAssignment, SalesforceUser

#: The key under which the user's profile name is kept in ``SalesforceUser.fields``.
PROFILE_NAME = "Profile.Name"
UNLINKED = "it has no FederationIdentifier (managed.require_federation_identifier)"


@cache
def _regex(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def filter_matches(flt: AttributeFilter, context: dict[str, Any]) -> bool:
    """Whether one attribute filter holds for an attribute ``context``.

    A list-valued attribute (``groups``) holds for ``in`` when any of its items is one of the
    values, for ``not_in`` when none is, for ``matches`` when any item matches, for ``present``
    when it is not empty.
    """
    value = context.get(flt.attribute)
    if isinstance(value, (list, tuple, set, frozenset)):
        return _list_matches(flt, [str(v).strip() for v in value if v is not None and str(v).strip()])
    present = value is not None and not (isinstance(value, str) and not value.strip())
    if flt.operator is FilterOperator.PRESENT:
        return present
    if flt.operator is FilterOperator.ABSENT:
        return not present
    text = str(value).strip() if present else ""
    if flt.operator is FilterOperator.MATCHES:
        return present and bool(_regex(flt.values[0]).search(text))
    folded = {v.casefold() for v in flt.values}
    inside = present and text.casefold() in folded
    return inside if flt.operator is FilterOperator.IN else not inside


def _list_matches(flt: AttributeFilter, items: list[str]) -> bool:
    if flt.operator is FilterOperator.PRESENT:
        return bool(items)
    if flt.operator is FilterOperator.ABSENT:
        return not items
    if flt.operator is FilterOperator.MATCHES:
        return any(_regex(flt.values[0]).search(item) for item in items)
    folded = {v.casefold() for v in flt.values}
    inside = any(item.casefold() in folded for item in items)
    return inside if flt.operator is FilterOperator.IN else not inside


def filters_match(filters: Iterable[AttributeFilter], context: dict[str, Any]) -> bool:
    """Whether every filter holds."""
    return all(filter_matches(f, context) for f in filters)


def scope_reason(assignment: OktaAssignment, scope: ScopeConfig) -> str | None:
    """None when ``assignment`` is in scope, else why it is not."""
    if not assignment.assigned:
        return "not assigned to the Salesforce app in Okta"
    if assignment.user_status.upper() not in scope.user_statuses:
        return f"Okta user status {assignment.user_status!r} is out of scope"
    if assignment.assignment_status.upper() not in scope.assignment_statuses:
        return f"app assignment status {assignment.assignment_status!r} is out of scope"
    if scope.filters:
        context = assignment_context(assignment)
        for flt in scope.filters:
            if not filter_matches(flt, context):
                return f"scope filter on {flt.attribute!r} ({flt.operator.value}) does not hold"
    return None


def unmanaged_reason(user: SalesforceUser, managed: ManagedConfig) -> str | None:
    """None when the sync manages ``user``, else why it does not."""
    return ManagedFilter(managed).reason(user)


class ManagedFilter:
    """:func:`unmanaged_reason` with the exclusion lists prepared once, for large runs."""

    def __init__(self, managed: ManagedConfig) -> None:
        self.managed = managed
        self._usernames = {u.casefold() for u in managed.exclude_usernames}
        self._profiles = set(managed.exclude_profiles)
        self._types = set(managed.user_types)

    def reason(self, user: SalesforceUser, *, check_filters: bool = True) -> str | None:
        """None when the sync manages ``user``, else why it does not.

        :param check_filters: also check ``managed.filters`` (off for a probe holding no field values).
        """
        if user.username.casefold() in self._usernames:
            return "its username is excluded (managed.exclude_usernames)"
        profile = user.fields.get(PROFILE_NAME)
        if profile and profile in self._profiles:
            return f"its profile {profile!r} is excluded (managed.exclude_profiles)"
        user_type = user.fields.get("UserType")
        if user_type and self._types and user_type not in self._types:
            return f"its UserType {user_type!r} is not managed (managed.user_types)"
        if self.managed.require_federation_identifier and not user.fields.get("FederationIdentifier"):
            return UNLINKED
        if check_filters and self.managed.filters:
            context = {**user.fields, "Username": user.username}
            for flt in self.managed.filters:
                if not filter_matches(flt, context):
                    operator = flt.operator.value
                    return f"managed filter on {flt.attribute!r} ({operator}) does not hold (managed.filters)"
        return None

    def adoptable(self, user: SalesforceUser) -> bool:
        """True when ``user`` is unmanaged only for lacking a FederationIdentifier, and the config
        lets the sync adopt such a user when an Okta user matches it (by writing the identifier)."""
        return self.managed.adopt_unlinked and self.reason(user) == UNLINKED
