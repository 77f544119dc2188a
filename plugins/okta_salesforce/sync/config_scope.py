"""Config sections on who is synced: ``scope``, ``managed``, ``permission_sets``, ``deprovisioning``.

Each is a frozen pydantic dataclass (see :mod:`okta_salesforce.sync.config_reader`);
``docs/configuration.md`` documents each key.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, model_validator
from pydantic.dataclasses import dataclass

from okta_salesforce.sync.config_reader import SECTION, Bool, Section, Strings, Text, problems
from okta_salesforce.sync.fields import USER_FIELDS, is_custom


class FilterOperator(StrEnum):
    IN = "in"
    NOT_IN = "not_in"
    PRESENT = "present"
    ABSENT = "absent"
    MATCHES = "matches"


@dataclass(frozen=True, config=SECTION)
class AttributeFilter(Section):
    """A condition on one Okta attribute.

    :param attribute: the Okta profile attribute (or ``login``, ``app_username``, ``okta_user_id``).
    :param operator: how to compare.
    :param values: for ``in``/``not_in``, the values (compared case-insensitively); for
        ``matches``, one regular expression.
    """

    attribute: Text
    operator: FilterOperator = FilterOperator.IN
    values: Strings = ()

    @model_validator(mode="after")
    def _values_fit_the_operator(self) -> AttributeFilter:
        if self.operator in (FilterOperator.IN, FilterOperator.NOT_IN) and not self.values:
            problems((".values", f"operator {self.operator.value!r} needs at least one value"))
        if self.operator is FilterOperator.MATCHES:
            if len(self.values) != 1:
                problems((".values", "operator 'matches' needs exactly one regular expression"))
            try:
                re.compile(self.values[0])
            except re.error as exc:
                problems((".values[0]", f"invalid regular expression: {exc}"))
        return self


def _upper(values: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(v.upper() for v in values)


Statuses = Annotated[Strings, AfterValidator(_upper)]


@dataclass(frozen=True, config=SECTION)
class ScopeConfig(Section):
    """Which Okta assignments are in scope.

    :param user_statuses: Okta user statuses in scope (others are deprovisioned).
    :param assignment_statuses: app-user statuses in scope.
    :param filters: every filter must hold.
    """

    user_statuses: Statuses = ("ACTIVE",)
    assignment_statuses: Statuses = ("ACTIVE", "PROVISIONED")
    filters: tuple[AttributeFilter, ...] = ()


@dataclass(frozen=True, config=SECTION)
class ManagedConfig(Section):
    """Which Salesforce users the sync may touch.

    :param require_federation_identifier: only users with a FederationIdentifier are managed.
    :param exclude_profiles: users with these profiles are never touched.
    :param exclude_usernames: these usernames (case-insensitive) are never touched.
    :param user_types: ``UserType`` values that can be managed (Standard: Salesforce and Salesforce
        Platform licenses; CsnOnly: Chatter Free). Every profile the mapping gives must be of one.
    :param adopt_unlinked: an in-scope Okta user that matches a user who is unmanaged only for
        lacking a FederationIdentifier adopts it (the mapping writes the identifier).
    :param filters: conditions on the Salesforce user's fields that must all hold (targets sharing
        one org partition its users with them, see :mod:`okta_salesforce.sync.targets`).
    """

    require_federation_identifier: Bool = True
    adopt_unlinked: Bool = True
    exclude_profiles: Strings = (
        "System Administrator",
        "API Only",
        "Salesforce API Only System Integrations",
    )
    exclude_usernames: Strings = ()
    user_types: Strings = ("Standard", "CsnOnly")
    filters: tuple[AttributeFilter, ...] = ()

    @model_validator(mode="after")
    def _filters_on_user_fields(self) -> ManagedConfig:
        problems(
            *(
                (f".filters[{i}].attribute", f"unknown User field {flt.attribute!r}")
                for i, flt in enumerate(self.filters)
                if flt.attribute not in USER_FIELDS and not is_custom(flt.attribute)
            )
        )
        return self


@dataclass(frozen=True, config=SECTION)
class PermissionSetRule(Section):
    """Assign the permission set ``name`` to users matching every filter in ``when``."""

    name: Text
    when: tuple[AttributeFilter, ...] = ()


class DeprovisioningMode(StrEnum):
    DEACTIVATE = "deactivate"
    FREEZE = "freeze"


@dataclass(frozen=True, config=SECTION)
class DeprovisioningConfig(Section):
    """How access is taken away.

    :param mode: ``deactivate`` (IsActive=false) or ``freeze`` (UserLogin.IsFrozen).
    :param unfreeze_assigned: unfreeze a frozen user who is assigned again.
    """

    mode: DeprovisioningMode = DeprovisioningMode.DEACTIVATE
    unfreeze_assigned: Bool = True
