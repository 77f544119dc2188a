"""Fill a sandbox :class:`~okta_salesforce_testbed.sandbox.salesforce_org.Org` from the shared company seed.

Licenses, profiles, roles and permission sets look like a real org's; every
person whose Salesforce state is not ABSENT gets a User (inactive, frozen or
with stale attributes as the seed says), and three unmanaged users exist
beside them: the admin, the API-only integration user and the default
workflow user (which cannot be deactivated).
"""

from __future__ import annotations

import math
import random
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from okta_salesforce_testbed.sandbox.salesforce_org import Org
from okta_salesforce_testbed.sandbox.seed import (
    _TITLES,
    DEFAULT_PROFILE,
    DEPARTMENT_PROFILES,
    DEPARTMENTS,
    EMAIL_DOMAIN,
    Person,
    SalesforceState,
    Seed,
)

# Profile -> its user license (the license gives Profile.UserType and so User.UserType).
PROFILES = {
    "System Administrator": "Salesforce",
    "Standard User": "Salesforce",
    "Marketing User": "Salesforce",
    "Read Only": "Salesforce",
    "Chatter Free User": "Chatter Free",
    "Salesforce API Only System Integrations": "Salesforce Integration",
}
LICENSE_KEYS = {
    "Salesforce": "SFDC",
    "Chatter Free": "PID_Chatter",
    "Salesforce Integration": "PID_SFDC_Integration",
}
ROLES = {  # role -> parent role
    "CEO": None,
    "VP, Sales": "CEO",
    "Sales Manager": "VP, Sales",
    "Sales Representative": "Sales Manager",
    "VP, Marketing": "CEO",
    "Marketing Team": "VP, Marketing",
    "Customer Support": "CEO",
}
DEPARTMENT_ROLES = {
    "Sales": "Sales Representative",
    "Marketing": "Marketing Team",
    "Support": "Customer Support",
}
PERMISSION_SETS = {
    "Sales_Operations": "Sales Operations",
    "Marketing_Campaigns": "Marketing Campaigns",
    "Knowledge_User": "Knowledge User",
    "Okta_Provisioning_Integration": "Okta Provisioning Integration",
}
#: Permission set licenses (developer name -> label) and the permission sets that need one.
PERMISSION_SET_LICENSES = {
    "SalesConsoleUser": "Sales Console User",
    "LightningScheduler": "Lightning Scheduler",
}
LICENSED_PERMISSION_SETS = {  # name -> (label, permission set license)
    "Sales_Console": ("Sales Console", "SalesConsoleUser"),
    "Scheduler_User": ("Scheduler User", "LightningScheduler"),
}
#: Permission set groups (developer name -> label); each owns an aggregate permission set.
PERMISSION_SET_GROUPS = {
    "Sales_Cloud_Users": "Sales Cloud Users",
    "Service_Cloud_Agents": "Service Cloud Agents",
}
LANGUAGE_OF_LOCALE = {"en_US": "en_US", "en_GB": "en_GB", "de_DE": "de", "fr_FR": "fr", "ja_JP": "ja"}
WORKFLOW_USERNAME = f"automation@{EMAIL_DOMAIN}"


@dataclass(frozen=True)
class SeedOptions:
    """How licenses are sized: ``factor`` times the seeded users of each license plus ``headroom``.

    ``licenses`` gives explicit totals by license name instead.
    """

    license_factor: float = 1.5
    license_headroom: int = 50
    licenses: dict[str, int] | None = None


def seed_org(org: Org, seed: Seed, options: SeedOptions | None = None) -> dict[str, str]:
    """Populate ``org``; returns the ids of the unmanaged users by role (admin, integration, workflow)."""
    options = options or SeedOptions()
    rnd = random.Random(seed.seed * 7919 + 11)
    creds = seed.credentials
    created = datetime(2021, 3, 1, 9, 0, tzinfo=UTC)
    people = [p for p in seed.people if p.salesforce is not SalesforceState.ABSENT]

    # Licenses sized from the people who will hold them.
    demand: Counter[str] = Counter(PROFILES[_profile_name(p)] for p in people)
    demand["Salesforce"] += 2  # admin and workflow user
    demand["Salesforce Integration"] += 1
    licenses: dict[str, str] = {}
    for name, key in LICENSE_KEYS.items():
        total = (options.licenses or {}).get(name)
        if total is None:
            total = math.ceil(demand[name] * options.license_factor) + options.license_headroom
        record = org.insert_raw(
            "UserLicense",
            {
                "Name": name,
                "LicenseDefinitionKey": key,
                "Status": "Active",
                "TotalLicenses": total,
                "CreatedDate": created,
            },
        )
        licenses[name] = record["Id"]
    profiles: dict[str, str] = {}
    for name, license_name in PROFILES.items():
        record = org.insert_raw(
            "Profile",
            {
                "Name": name,
                "UserLicenseId": licenses[license_name],  # UserType derives from it
                "CreatedDate": created,
            },
        )
        profiles[name] = record["Id"]
    roles: dict[str, str] = {}
    for name, parent in ROLES.items():
        developer_name = "".join(c if c.isalnum() else "_" for c in name).replace("__", "_")
        record = org.insert_raw(
            "UserRole",
            {
                "Name": name,
                "DeveloperName": developer_name,
                "ParentRoleId": roles.get(parent or ""),
                "RollupDescription": name,
                "CreatedDate": created,
            },
        )
        roles[name] = record["Id"]
    permission_sets: dict[str, str] = {}
    for name, label in PERMISSION_SETS.items():
        record = org.insert_raw(
            "PermissionSet", {"Name": name, "Label": label, "IsOwnedByProfile": False, "CreatedDate": created}
        )
        permission_sets[name] = record["Id"]
    permission_sets.update(_seed_permission_objects(org, created, len(people) + options.license_headroom))
    for profile_name, profile_id in profiles.items():  # every profile owns a permission set
        org.insert_raw(
            "PermissionSet",
            {
                "Name": f"X{profile_id[:15]}",
                "Label": profile_name,
                "IsOwnedByProfile": True,
                "ProfileId": profile_id,
                "CreatedDate": created,
            },
        )

    def unmanaged(username: str, first: str, last: str, profile: str, **extra: object) -> str:
        record = org.insert_raw(
            "User",
            {
                "Username": username,
                "Email": username,
                "FirstName": first,
                "LastName": last,
                "Alias": (first[:1] + last[:4]).lower(),
                "CommunityNickname": username.split("@")[0],
                "ProfileId": profiles[profile],
                "IsActive": True,
                "TimeZoneSidKey": "America/Los_Angeles",
                "LocaleSidKey": "en_US",
                "LanguageLocaleKey": "en_US",
                "EmailEncodingKey": "UTF-8",
                "CreatedDate": created,
                "LastModifiedDate": created,
                **extra,
            },
        )
        return record["Id"]

    admin_id = unmanaged(
        creds.salesforce_admin_username,
        "Avery",
        "Admin",
        "System Administrator",
        Title="Salesforce Administrator",
        Department="IT",
    )
    org.running_user_id = admin_id
    integration_id = unmanaged(
        creds.salesforce_username,
        "Okta",
        "Integration",
        "Salesforce API Only System Integrations",
        Title="Integration User",
    )
    workflow_id = unmanaged(
        WORKFLOW_USERNAME, "Process", "Automation", "System Administrator", Department="IT"
    )
    org.default_workflow_user_id = workflow_id
    for user_id in (admin_id, integration_id, workflow_id):
        org.table("User")[user_id]["CreatedById"] = admin_id
    org.insert_raw(
        "PermissionSetAssignment",
        {"AssigneeId": integration_id, "PermissionSetId": permission_sets["Okta_Provisioning_Integration"]},
    )

    aliases: set[str] = {u["Alias"] for u in org.table("User").values()}
    alias_counters: dict[str, int] = {}
    for person in people:
        modified = created + timedelta(days=rnd.randint(0, 1000), seconds=rnd.randint(0, 86_400))
        department, title = person.department, person.title
        if person.salesforce is SalesforceState.STALE:
            department = rnd.choice([d for d in DEPARTMENTS if d != person.department])
            title = rnd.choice(_TITLES[department])
        role = DEPARTMENT_ROLES.get(person.department)
        record = org.insert_raw(
            "User",
            {
                "Username": person.login.lower(),
                "Email": person.email,
                "FederationIdentifier": person.login,
                "FirstName": person.first_name,
                "LastName": person.last_name,
                "Department": department,
                "Title": title,
                "Alias": _alias(person, aliases, alias_counters),
                "CommunityNickname": person.login.split("@")[0][:40],
                "ProfileId": profiles[_profile_name(person)],
                "UserRoleId": roles[role] if role else None,
                "TimeZoneSidKey": person.time_zone,
                "LocaleSidKey": person.locale,
                "LanguageLocaleKey": LANGUAGE_OF_LOCALE.get(person.locale, "en_US"),
                "EmailEncodingKey": "UTF-8",
                "EmployeeNumber": person.employee_number,
                "CompanyName": "Acme",
                "IsActive": person.salesforce is not SalesforceState.INACTIVE,
                "CreatedDate": created,
                "LastModifiedDate": modified,
                "SystemModstamp": modified,
                "CreatedById": admin_id,
                "LastModifiedById": admin_id,
            },
        )
        if person.salesforce is SalesforceState.FROZEN:
            login = org.table("UserLogin")[org.login_by_user[record["Id"]]]
            login["IsFrozen"] = True
        if person.department == "Sales" and person.index % 3 == 0:
            org.insert_raw(
                "PermissionSetAssignment",
                {"AssigneeId": record["Id"], "PermissionSetId": permission_sets["Sales_Operations"]},
            )
        if person.department == "Sales" and person.index % 2 == 0:
            org.insert_raw(
                "PermissionSetAssignment",
                {
                    "AssigneeId": record["Id"],
                    "PermissionSetId": permission_sets["Sales_Cloud_Users"],
                    "PermissionSetGroupId": org.table("PermissionSet")[permission_sets["Sales_Cloud_Users"]][
                        "PermissionSetGroupId"
                    ],
                },
            )
    return {"admin": admin_id, "integration": integration_id, "workflow": workflow_id}


def _seed_permission_objects(org: Org, created: datetime, seats: int) -> dict[str, str]:
    """Permission set licenses, the permission sets that need them, and permission set groups (each
    with its aggregate permission set); returns permission set name -> id (a group's aggregate set
    under the group's developer name)."""
    ids: dict[str, str] = {}
    licenses = {}
    for name, label in PERMISSION_SET_LICENSES.items():
        licenses[name] = org.insert_raw(
            "PermissionSetLicense",
            {
                "DeveloperName": name,
                "MasterLabel": label,
                "PermissionSetLicenseKey": name,
                "Status": "Active",
                "TotalLicenses": seats,
                "UsedLicenses": 0,
                "CreatedDate": created,
            },
        )["Id"]
    for name, (label, license_name) in LICENSED_PERMISSION_SETS.items():
        ids[name] = org.insert_raw(
            "PermissionSet",
            {
                "Name": name,
                "Label": label,
                "IsOwnedByProfile": False,
                "Type": "Regular",
                "LicenseId": licenses[license_name],
                "CreatedDate": created,
            },
        )["Id"]
    for name, label in PERMISSION_SET_GROUPS.items():
        group = org.insert_raw(
            "PermissionSetGroup",
            {"DeveloperName": name, "MasterLabel": label, "Status": "Updated", "CreatedDate": created},
        )
        ids[name] = org.insert_raw(
            "PermissionSet",
            {
                "Name": f"{name}_Group",
                "Label": label,
                "IsOwnedByProfile": False,
                "Type": "Group",
                "PermissionSetGroupId": group["Id"],
                "CreatedDate": created,
            },
        )["Id"]
    return ids


def _profile_name(person: Person) -> str:
    return DEPARTMENT_PROFILES.get(person.department, DEFAULT_PROFILE)


def _alias(person: Person, taken: set[str], counters: dict[str, int]) -> str:
    """Salesforce's default alias (first letter + 4 of the last name), made unique within 8 characters."""
    parts = person.login.split("@")[0].split(".")
    base = (parts[0][:1] + (parts[1] if len(parts) > 2 else parts[0])[:4]).lower() or "user"
    alias, counter = base, counters.get(base, 1)
    while alias in taken:
        suffix = str(counter)
        alias = base[: 8 - len(suffix)] + suffix
        counter += 1
    counters[base] = counter
    taken.add(alias)
    return alias
