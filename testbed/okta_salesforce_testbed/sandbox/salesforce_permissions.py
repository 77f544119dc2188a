"""Permission sets, permission set groups and permission set licenses, as the sandbox serves them.

Field names, key prefixes and rules follow the Salesforce Object Reference:

* ``PermissionSet`` (``0PS``): ``LicenseId`` is the UserLicense (``100``) or PermissionSetLicense
  (``0PL``) the permission set needs; every permission set group owns an aggregate permission set
  (``Type`` ``Group``, ``PermissionSetGroupId`` set).
* ``PermissionSetGroup`` (``0PG``), ``PermissionSetLicense`` (``0PL``, with ``TotalLicenses`` and
  ``UsedLicenses``).
* ``PermissionSetAssignment`` (``0Pa``): insert with ``PermissionSetId`` *or*
  ``PermissionSetGroupId`` (the group's aggregate permission set then fills ``PermissionSetId``);
  a permission set whose license the assignee lacks is refused; a second assignment of the same
  set is ``DUPLICATE_VALUE``.
* ``PermissionSetLicenseAssign`` (``2LA``): takes a seat of the license (``LICENSE_LIMIT_EXCEEDED``
  when none is left); cannot be deleted while the user holds a permission set that needs it.

Every object here can be queried; the two assignment objects can be inserted and deleted, never
updated.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from okta_salesforce_testbed.sandbox.salesforce_sobject import FieldDef, SObjectDef, _audit, _fields, _ro

if TYPE_CHECKING:
    from okta_salesforce_testbed.sandbox.salesforce_org import Org

PERMISSION_SET = SObjectDef(
    "PermissionSet",
    "0PS",
    "Permission Set",
    _fields(
        _ro("Id", "id", "Permission Set ID", nillable=False),
        _ro("Name", "string", "Name", length=80),
        _ro("Label", "string", "Label", length=80),
        _ro("Description", "string", "Description", length=255),
        _ro("IsOwnedByProfile", "boolean", "Is Owned By Profile"),
        _ro("ProfileId", "reference", "Profile ID", reference_to="Profile", relationship_name="Profile"),
        _ro("LicenseId", "reference", "License ID"),  # a UserLicense or a PermissionSetLicense
        _ro(
            "PermissionSetGroupId",
            "reference",
            "Permission Set Group ID",
            reference_to="PermissionSetGroup",
            relationship_name="PermissionSetGroup",
        ),
        _ro(
            "Type",
            "picklist",
            "Permission Set Type",
            length=40,
            picklist=("Regular", "Group", "Profile", "Session", "Standard"),
        ),
        *_audit(),
    ),
)

PERMISSION_SET_GROUP = SObjectDef(
    "PermissionSetGroup",
    "0PG",
    "Permission Set Group",
    _fields(
        _ro("Id", "id", "Permission Set Group ID", nillable=False),
        _ro("DeveloperName", "string", "Developer Name", length=80),
        _ro("MasterLabel", "string", "Label", length=80),
        _ro("Description", "string", "Description", length=255),
        _ro(
            "Status",
            "picklist",
            "Status",
            length=40,
            picklist=("Updated", "Outdated", "Updating", "Failed"),
        ),
        *_audit(),
    ),
)

PERMISSION_SET_LICENSE = SObjectDef(
    "PermissionSetLicense",
    "0PL",
    "Permission Set License",
    _fields(
        _ro("Id", "id", "Permission Set License ID", nillable=False),
        _ro("DeveloperName", "string", "Developer Name", length=80),
        _ro("MasterLabel", "string", "Label", length=80),
        _ro("PermissionSetLicenseKey", "string", "Permission Set License Key", length=80),
        _ro("Status", "picklist", "Status", length=40, picklist=("Active", "Disabled", "Expired")),
        _ro("TotalLicenses", "int", "Total Licenses"),
        _ro("UsedLicenses", "int", "Used Licenses"),
        *_audit(),
    ),
)


def _assignee() -> FieldDef:
    return FieldDef(
        "AssigneeId",
        "reference",
        "Assignee ID",
        nillable=False,
        required=True,
        updateable=False,
        reference_to="User",
        relationship_name="Assignee",
    )


PERMISSION_SET_ASSIGNMENT = SObjectDef(
    "PermissionSetAssignment",
    "0Pa",
    "Permission Set Assignment",
    _fields(
        _ro("Id", "id", "Permission Set Assignment ID", nillable=False),
        _assignee(),
        FieldDef(
            "PermissionSetId",
            "reference",
            "Permission Set ID",
            updateable=False,
            reference_to="PermissionSet",
            relationship_name="PermissionSet",
        ),
        FieldDef(
            "PermissionSetGroupId",
            "reference",
            "Permission Set Group ID",
            updateable=False,
            reference_to="PermissionSetGroup",
            relationship_name="PermissionSetGroup",
        ),
        _ro("IsActive", "boolean", "Is Active", default=True),
        _ro("SystemModstamp", "datetime", "System Modstamp", nillable=False),
    ),
    createable=True,
    deletable=True,
)

PERMISSION_SET_LICENSE_ASSIGN = SObjectDef(
    "PermissionSetLicenseAssign",
    "2LA",
    "Permission Set License Assignment",
    _fields(
        _ro("Id", "id", "Permission Set License Assign ID", nillable=False),
        _assignee(),
        FieldDef(
            "PermissionSetLicenseId",
            "reference",
            "Permission Set License ID",
            nillable=False,
            required=True,
            updateable=False,
            reference_to="PermissionSetLicense",
            relationship_name="PermissionSetLicense",
        ),
        *_audit(),
    ),
    createable=True,
    deletable=True,
)

#: The objects whose inserts and deletes :func:`create_entitlement` and :func:`check_delete` rule.
ASSIGNMENT_OBJECTS = frozenset({"PermissionSetAssignment", "PermissionSetLicenseAssign"})


def _error(status: str, message: str, fields: list[str] | None = None) -> Exception:
    from okta_salesforce_testbed.sandbox.salesforce_org import RecordError

    return RecordError(status, message, fields or [])


def create_entitlement(org: Org, definition: SObjectDef, clean: dict[str, Any]) -> str:
    """Insert a PermissionSetAssignment or PermissionSetLicenseAssign after Salesforce's checks."""
    org._require(definition, clean)
    user = org.table("User").get(clean["AssigneeId"])
    if user is None:
        raise _error("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id")
    org._check_failure(user["Username"])
    if definition.name == "PermissionSetLicenseAssign":
        return _assign_license(org, user, clean)
    return _assign_permission_set(org, user, clean)


def _assign_license(org: Org, user: dict[str, Any], clean: dict[str, Any]) -> str:
    license_record = org.table("PermissionSetLicense").get(clean["PermissionSetLicenseId"])
    if license_record is None:
        raise _error("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id")
    if (user["Id"], license_record["Id"]) in org.license_assignments:
        raise _error(
            "DUPLICATE_VALUE",
            "duplicate value found: <unknown> duplicates value on record with id: <unknown>",
        )
    if license_record.get("UsedLicenses", 0) >= license_record.get("TotalLicenses", 0):
        raise _error("LICENSE_LIMIT_EXCEEDED", "License Limit Exceeded")
    return org.insert_raw("PermissionSetLicenseAssign", clean)["Id"]


def _assign_permission_set(org: Org, user: dict[str, Any], clean: dict[str, Any]) -> str:
    set_id, group_id = clean.get("PermissionSetId"), clean.get("PermissionSetGroupId")
    if bool(set_id) == bool(group_id):
        raise _error(
            "FIELD_INTEGRITY_EXCEPTION",
            "Specify either a permission set or a permission set group, not both",
            ["PermissionSetId", "PermissionSetGroupId"],
        )
    if group_id:
        if group_id not in org.table("PermissionSetGroup"):
            raise _error("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id")
        set_id = next(
            (
                p["Id"]
                for p in org.table("PermissionSet").values()
                if p.get("PermissionSetGroupId") == group_id
            ),
            None,
        )
        if set_id is None:
            raise _error(
                "FIELD_INTEGRITY_EXCEPTION", "The permission set group has no aggregate permission set"
            )
    permission_set = org.table("PermissionSet").get(set_id or "")
    if permission_set is None:
        raise _error("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id")
    if permission_set.get("IsOwnedByProfile") or (permission_set.get("Type") == "Group" and not group_id):
        raise _error(
            "INVALID_CROSS_REFERENCE_KEY",
            "You can't assign or unassign this permission set because it's associated with a profile "
            "or a permission set group.",
        )
    if (user["Id"], permission_set["Id"]) in org.assignments:
        raise _error(
            "DUPLICATE_VALUE",
            "duplicate value found: <unknown> duplicates value on record with id: <unknown>",
        )
    license_id = permission_set.get("LicenseId") or ""
    if license_id.startswith("0PL") and (user["Id"], license_id) not in org.license_assignments:
        label = org.table("PermissionSetLicense")[license_id]["MasterLabel"]
        raise _error(
            "FIELD_INTEGRITY_EXCEPTION",
            f"Can't assign permission set {permission_set['Label']} to user {user['Username']}. "
            f"The user needs the permission set license {label} first.",
            ["AssigneeId"],
        )
    user_license = org.license_of_profile(user.get("ProfileId"))
    if license_id.startswith("100") and user_license and user_license["Id"] != license_id:
        raise _error(
            "FIELD_INTEGRITY_EXCEPTION",
            f"Can't assign permission set {permission_set['Label']} to user {user['Username']}. "
            "The user license doesn't allow the permission set's license.",
            ["AssigneeId"],
        )
    record = {
        "AssigneeId": user["Id"],
        "PermissionSetId": permission_set["Id"],
        "PermissionSetGroupId": group_id,
    }
    return org.insert_raw("PermissionSetAssignment", record)["Id"]


def check_delete(org: Org, definition: SObjectDef, record: dict[str, Any]) -> None:
    """Refuse the deletes Salesforce refuses (a license still needed by an assigned permission set)."""
    if definition.name == "PermissionSetAssignment":
        permission_set = org.table("PermissionSet").get(record["PermissionSetId"]) or {}
        if permission_set.get("IsOwnedByProfile"):
            raise _error("DELETE_FAILED", "You can't delete a profile's permission set assignment.")
        return
    if definition.name != "PermissionSetLicenseAssign":
        return
    license_id = record["PermissionSetLicenseId"]
    needing = [
        org.table("PermissionSet")[set_id]["Label"]
        for user_id, set_id in org.assignments
        if user_id == record["AssigneeId"]
        and (org.table("PermissionSet").get(set_id) or {}).get("LicenseId") == license_id
    ]
    if needing:
        raise _error(
            "DELETE_FAILED",
            "Can't remove the permission set license: the user has permission sets that need it "
            f"({', '.join(sorted(needing))}).",
        )


def index_license_assign(org: Org, record: dict[str, Any], *, add: bool) -> None:
    """Keep the (user, license) pairs and the license's ``UsedLicenses`` in step with the rows."""
    pair = (record["AssigneeId"], record["PermissionSetLicenseId"])
    (org.license_assignments.add if add else org.license_assignments.discard)(pair)
    license_record = org.table("PermissionSetLicense").get(record["PermissionSetLicenseId"])
    if license_record is not None:
        license_record["UsedLicenses"] = license_record.get("UsedLicenses", 0) + (1 if add else -1)
