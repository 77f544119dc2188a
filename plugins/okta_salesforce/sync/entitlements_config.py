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
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from okta_salesforce.sync.config import AttributeFilter, SyncConfig

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


@dataclass(frozen=True)
class EntitlementsConfig:
    """The managed entitlements, as rules in config order."""

    rules: tuple[EntitlementRule, ...] = ()

    def managed(self, kind: EntitlementType) -> tuple[str, ...]:
        """The names of ``kind`` the config manages, without duplicates."""
        return tuple(dict.fromkeys(r.name for r in self.rules if r.type is kind))


def parse_entitlements(parser: Any, value: Any) -> EntitlementsConfig:
    """Read the ``entitlements`` section with the config parser (problems go to ``parser.fail``)."""
    keys = {f"{kind.value}s" for kind in EntitlementType}
    raw = parser.mapping(value, "entitlements", keys)
    rules = []
    for kind in EntitlementType:
        key = f"{kind.value}s"
        items = raw.get(key)
        if items is None:
            continue
        if not isinstance(items, list):
            parser.fail(f"entitlements.{key}", "expected a list of {name, when} rules")
            continue
        for i, item in enumerate(items):
            path = f"entitlements.{key}[{i}]"
            entry = parser.mapping(item, path, {"name", "when"})
            name = parser.string(entry.get("name"), f"{path}.name", required=True)
            when = parser.filters(entry.get("when"), f"{path}.when")
            if name:
                rules.append(EntitlementRule(kind, name.strip(), when))
    return EntitlementsConfig(tuple(rules))


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
