"""Read what the sync needs for entitlements: setup names to ids, and who holds what.

:func:`resolve_entitlement_names` reads the permission sets (with the license each needs),
permission set groups and permission set licenses: three small queries, once per run, only when
the config manages entitlements. :func:`read_entitlements` reads the current assignments of the
*managed* names only (nothing else is ever compared or touched): for a full run every assignment
of those names (chunked ``IN`` lists of their ids), for a partial run only those of the users read
(chunked ``AssigneeId IN`` lists). Cost: one query page per 2,000 assignments.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from okta_salesforce.sync.entitlements_config import EntitlementType
from okta_salesforce.sync.soql import in_queries, quote

if TYPE_CHECKING:
    from simple_salesforce import Salesforce

    from okta_salesforce.sync.config import SyncConfig
    from okta_salesforce.sync.models import DirectoryInfo

_PSL_PREFIX = "0PL"


@dataclass
class CurrentEntitlements:
    """Managed entitlements held by Salesforce users.

    :param held: User id → ``{(type, name): assignment id}`` (PermissionSetAssignment or
        PermissionSetLicenseAssign id, which removals delete).
    """

    held: dict[str, dict[tuple[EntitlementType, str], str]] = field(default_factory=dict)

    def of(self, user_id: str | None) -> dict[tuple[EntitlementType, str], str]:
        """What ``user_id`` holds (nothing for a user not yet created)."""
        return self.held.get(user_id or "", {})

    def add(self, user_id: str, kind: EntitlementType, name: str, record_id: str) -> None:
        self.held.setdefault(user_id, {})[(kind, name)] = record_id


def _records(sf: Salesforce, statement: str) -> Iterator[dict[str, Any]]:
    for record in sf.query_all_iter(statement):
        record.pop("attributes", None)
        yield record


def resolve_entitlement_names(sf: Salesforce, config: SyncConfig) -> dict[str, dict[str, str]]:
    """``DirectoryInfo`` fields for the managed entitlements (empty when the config manages none)."""
    if not config.entitlements.rules:
        return {}
    licenses = {
        r["DeveloperName"]: r["Id"]
        for r in _records(sf, "SELECT Id, DeveloperName FROM PermissionSetLicense")
    }
    license_names = {v: k for k, v in licenses.items()}
    permission_sets, needs = {}, {}
    for row in _records(sf, "SELECT Id, Name, LicenseId FROM PermissionSet WHERE IsOwnedByProfile = false"):
        permission_sets[row["Name"]] = row["Id"]
        license_id = str(row.get("LicenseId") or "")
        if license_id.startswith(_PSL_PREFIX) and license_id in license_names:
            needs[row["Name"]] = license_names[license_id]
    groups = {
        r["DeveloperName"]: r["Id"] for r in _records(sf, "SELECT Id, DeveloperName FROM PermissionSetGroup")
    }
    return {
        "permission_sets": permission_sets,
        "permission_set_groups": groups,
        "permission_set_licenses": licenses,
        "permission_set_license_needs": needs,
    }


def relevant_licenses(config: SyncConfig, directory: DirectoryInfo) -> list[str]:
    """License names whose assignments matter: managed ones, and those managed permission sets need."""
    names = list(config.entitlements.managed(EntitlementType.PERMISSION_SET_LICENSE))
    for name in config.entitlements.managed(EntitlementType.PERMISSION_SET):
        needed = directory.permission_set_license_needs.get(name)
        if needed:
            names.append(needed)
    return list(dict.fromkeys(names))


def read_entitlements(
    sf: Salesforce,
    config: SyncConfig,
    directory: DirectoryInfo,
    user_ids: Iterable[str] | None = None,
) -> CurrentEntitlements:
    """The managed assignments, for every user (``user_ids`` None) or only the given users."""
    current = CurrentEntitlements()
    if not config.entitlements.rules:
        return current
    prefix = len(getattr(sf, "base_url", "")) + len("query/?q=")
    users = None if user_ids is None else list(dict.fromkeys(user_ids))
    sets = {
        directory.permission_sets[n]: n
        for n in config.entitlements.managed(EntitlementType.PERMISSION_SET)
        if n in directory.permission_sets
    }
    groups = {
        directory.permission_set_groups[n]: n
        for n in config.entitlements.managed(EntitlementType.PERMISSION_SET_GROUP)
        if n in directory.permission_set_groups
    }
    licenses = {
        directory.permission_set_licenses[n]: n
        for n in relevant_licenses(config, directory)
        if n in directory.permission_set_licenses
    }
    plan = (
        ("PermissionSetAssignment", "PermissionSetId", sets, EntitlementType.PERMISSION_SET),
        ("PermissionSetAssignment", "PermissionSetGroupId", groups, EntitlementType.PERMISSION_SET_GROUP),
        (
            "PermissionSetLicenseAssign",
            "PermissionSetLicenseId",
            licenses,
            EntitlementType.PERMISSION_SET_LICENSE,
        ),
    )
    for sobject, key, names, kind in plan:
        if not names or users == []:
            continue
        select = f"SELECT Id, AssigneeId, {key} FROM {sobject}"  # noqa: S608 - constant names, no values
        if users is None:
            statements = in_queries(select, key, names, uri_prefix_len=prefix)
        else:
            where = f"{key} IN ({', '.join(quote(i) for i in names)})"
            statements = in_queries(select, "AssigneeId", users, extra_where=where, uri_prefix_len=prefix)
        for statement in statements:
            for row in _records(sf, statement):
                name = names.get(row.get(key) or "")
                if name:
                    current.add(row["AssigneeId"], kind, name, row["Id"])
    return current
