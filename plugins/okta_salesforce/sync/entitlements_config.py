"""The ``entitlements`` section and ``okta.groups``: which permission sets, permission set groups and
permission set licenses the sync manages, and which Okta groups it reads.

::

    okta:
      app_id: 0oa...
      groups: [Sales, Support Agents]          # read for the ``groups`` attribute (optional)
    entitlements:
      permission_set_groups:
        - {name: Sales_Cloud_Users, when: [{attribute: groups, values: [Sales]}]}
      permission_sets:
        - {name: Sales_Console, when: [{attribute: title, operator: matches, values: [Manager]}]}
      permission_set_licenses:
        - {name: LightningScheduler, when: [{attribute: groups, values: [Support Agents]}]}

Each rule grants its entitlement to in-scope, managed users for whom every ``when`` filter holds
(no ``when``: everyone); several rules for one name grant it when any holds. Only the names listed
are managed: they are assigned when granted and removed when no longer granted; assignments of
anything else are never touched. ``docs/configuration.md`` documents the section.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from functools import cached_property
from typing import TYPE_CHECKING

from pydantic.dataclasses import dataclass as pydantic_dataclass

from okta_salesforce.sync.config_reader import SECTION, Section, Text
from okta_salesforce.sync.config_scope import AttributeFilter

if TYPE_CHECKING:
    from okta_salesforce.sync.config_model import SyncConfig

#: The attribute holding the user's Okta group names.
GROUPS_ATTRIBUTE = "groups"


class EntitlementType(StrEnum):
    """What an entitlement rule assigns (the config key is the plural)."""

    PERMISSION_SET = "permission_set"
    PERMISSION_SET_GROUP = "permission_set_group"
    PERMISSION_SET_LICENSE = "permission_set_license"

    @property
    def sobject(self) -> str:
        """The Salesforce object named by the rule's ``name``."""
        return {
            "permission_set": "PermissionSet",
            "permission_set_group": "PermissionSetGroup",
            "permission_set_license": "PermissionSetLicense",
        }[self.value]


@dataclass(frozen=True)
class EntitlementRule:
    """Grant ``name`` (a PermissionSet ``Name``, or a group's or license's ``DeveloperName``) to the
    users for whom every filter of ``when`` holds."""

    type: EntitlementType
    name: str
    when: tuple[AttributeFilter, ...] = ()


@pydantic_dataclass(frozen=True, config=SECTION)
class EntitlementEntry(Section):
    """A rule in the file: the entitlement's ``name`` and the filters of ``when``."""

    name: Text
    when: tuple[AttributeFilter, ...] = ()


@pydantic_dataclass(frozen=True, config=SECTION)
class EntitlementsConfig(Section):
    """The managed entitlements: one list of rules per kind, as in the file."""

    permission_sets: tuple[EntitlementEntry, ...] = ()
    permission_set_groups: tuple[EntitlementEntry, ...] = ()
    permission_set_licenses: tuple[EntitlementEntry, ...] = ()

    @cached_property
    def rules(self) -> tuple[EntitlementRule, ...]:
        """Every rule, kind by kind in config order."""
        return tuple(
            EntitlementRule(kind, entry.name.strip(), entry.when)
            for kind in EntitlementType
            for entry in getattr(self, f"{kind.value}s")
        )

    def managed(self, kind: EntitlementType) -> tuple[str, ...]:
        """The names of ``kind`` the config manages, without duplicates."""
        return tuple(dict.fromkeys(r.name for r in self.rules if r.type is kind))


def entitlement_problems(config: SyncConfig) -> list[str]:
    """Settings that contradict each other: a permission set both granted-only (``permission_sets``)
    and managed (``entitlements.permission_sets``)."""
    managed = set(config.entitlements.managed(EntitlementType.PERMISSION_SET))
    return [
        f"permission_sets[{i}].name: {rule.name!r} is also managed by entitlements.permission_sets; "
        "keep it in one place"
        for i, rule in enumerate(config.permission_sets)
        if rule.name in managed
    ]


def group_names(config: SyncConfig) -> tuple[str, ...]:
    """The Okta groups a run reads: ``okta.groups`` plus every group a ``groups`` filter names."""
    names = list(config.okta_groups)
    filters = [*config.scope.filters]
    for rule in config.permission_sets:
        filters.extend(rule.when)
    for entitlement in config.entitlements.rules:
        filters.extend(entitlement.when)
    for flt in filters:
        if flt.attribute == GROUPS_ATTRIBUTE and flt.operator.value in ("in", "not_in"):
            names.extend(flt.values)
    return tuple(dict.fromkeys(n.strip() for n in names if n.strip()))
