"""The slice of Salesforce's data model the sandbox serves: objects, fields, picklists and ids.

Field names, labels, lengths and which fields are createable/updateable follow
the Salesforce Object Reference for User, Profile, UserLicense, UserRole,
PermissionSet, PermissionSetAssignment and UserLogin. Restricted picklists
carry a realistic subset of the real values.
"""

from __future__ import annotations

import string
from dataclasses import dataclass, field

API_VERSIONS = [f"{major}.0" for major in range(31, 65)]
LATEST_API_VERSION = API_VERSIONS[-1]

_B62 = string.digits + string.ascii_uppercase + string.ascii_lowercase
_CHECKSUM = string.ascii_uppercase + "012345"


def id_checksum(id15: str) -> str:
    """The 3-character suffix that makes a 15-character id case-insensitively unique."""
    suffix = []
    for chunk in range(3):
        bits = 0
        for position, char in enumerate(id15[chunk * 5 : chunk * 5 + 5]):
            if "A" <= char <= "Z":
                bits |= 1 << position
        suffix.append(_CHECKSUM[bits])
    return "".join(suffix)


def make_id(prefix: str, number: int, pod: str = "5g") -> str:
    """An 18-character Salesforce id: key prefix, pod, base-62 number, checksum."""
    digits = []
    for _ in range(10):
        number, remainder = divmod(number, 62)
        digits.append(_B62[remainder])
    id15 = prefix + pod + "".join(reversed(digits))
    return id15 + id_checksum(id15)


def normalize_id(value: str) -> str | None:
    """The 18-character form of a 15- or 18-character id, or None when it is not id-shaped."""
    if len(value) not in (15, 18) or not value.isalnum():
        return None
    id15 = value[:15]
    full = id15 + id_checksum(id15)
    if len(value) == 18 and value[15:].upper() != full[15:]:
        return None
    return full


@dataclass(frozen=True)
class FieldDef:
    """One field of an sObject."""

    name: str
    type: str  # id, string, email, boolean, reference, picklist, datetime, int
    label: str
    length: int = 0
    createable: bool = True
    updateable: bool = True
    nillable: bool = True
    required: bool = False  # required on create (REQUIRED_FIELD_MISSING)
    reference_to: str | None = None
    relationship_name: str | None = None
    picklist: tuple[str, ...] = ()
    restricted: bool = False
    default: object = None


@dataclass
class SObjectDef:
    """An sObject type: key prefix, fields (by lower-cased name) and relationships."""

    name: str
    key_prefix: str
    label: str
    fields: dict[str, FieldDef] = field(default_factory=dict)
    createable: bool = False
    updateable: bool = False
    deletable: bool = False

    def __post_init__(self) -> None:
        self.relationships = {
            f.relationship_name.lower(): f for f in self.fields.values() if f.relationship_name
        }

    def field(self, name: str) -> FieldDef | None:
        return self.fields.get(name.lower())


def _fields(*defs: FieldDef) -> dict[str, FieldDef]:
    return {d.name.lower(): d for d in defs}


def _ro(name: str, type_: str, label: str, **kw: object) -> FieldDef:
    return FieldDef(name, type_, label, createable=False, updateable=False, **kw)  # type: ignore[arg-type]


def _audit() -> tuple[FieldDef, ...]:
    return (
        _ro("CreatedDate", "datetime", "Created Date", nillable=False),
        _ro("CreatedById", "reference", "Created By ID", reference_to="User", relationship_name="CreatedBy"),
        _ro("LastModifiedDate", "datetime", "Last Modified Date", nillable=False),
        _ro(
            "LastModifiedById",
            "reference",
            "Last Modified By ID",
            reference_to="User",
            relationship_name="LastModifiedBy",
        ),
        _ro("SystemModstamp", "datetime", "System Modstamp", nillable=False),
    )


TIME_ZONES = (
    "America/Los_Angeles",
    "America/Denver",
    "America/Phoenix",
    "America/Chicago",
    "America/New_York",
    "America/Sao_Paulo",
    "America/Mexico_City",
    "America/Toronto",
    "America/Anchorage",
    "Pacific/Honolulu",
    "Europe/London",
    "Europe/Dublin",
    "Europe/Lisbon",
    "Europe/Paris",
    "Europe/Berlin",
    "Europe/Madrid",
    "Europe/Rome",
    "Europe/Amsterdam",
    "Europe/Brussels",
    "Europe/Stockholm",
    "Europe/Oslo",
    "Europe/Copenhagen",
    "Europe/Warsaw",
    "Europe/Prague",
    "Europe/Helsinki",
    "Europe/Athens",
    "Europe/Istanbul",
    "Europe/Moscow",
    "Africa/Johannesburg",
    "Africa/Lagos",
    "Africa/Cairo",
    "Asia/Dubai",
    "Asia/Kolkata",
    "Asia/Singapore",
    "Asia/Shanghai",
    "Asia/Hong_Kong",
    "Asia/Seoul",
    "Asia/Tokyo",
    "Australia/Sydney",
    "Australia/Perth",
    "Pacific/Auckland",
    "GMT",
)
LOCALES = (
    "en_US",
    "en_GB",
    "en_CA",
    "en_AU",
    "en_IE",
    "en_IN",
    "de_DE",
    "de_AT",
    "de_CH",
    "fr_FR",
    "fr_CA",
    "fr_BE",
    "es_ES",
    "es_MX",
    "it_IT",
    "nl_NL",
    "pt_BR",
    "pt_PT",
    "sv_SE",
    "da_DK",
    "fi_FI",
    "no_NO",
    "pl_PL",
    "cs_CZ",
    "ru_RU",
    "tr_TR",
    "ja_JP",
    "ko_KR",
    "zh_CN",
    "zh_TW",
)
LANGUAGES = (
    "en_US",
    "en_GB",
    "de",
    "fr",
    "es",
    "es_MX",
    "it",
    "nl_NL",
    "pt_BR",
    "sv",
    "da",
    "fi",
    "no",
    "pl",
    "cs",
    "ru",
    "tr",
    "ja",
    "ko",
    "zh_CN",
    "zh_TW",
)
EMAIL_ENCODINGS = (
    "UTF-8",
    "ISO-8859-1",
    "Shift_JIS",
    "ISO-2022-JP",
    "EUC-JP",
    "ks_c_5601-1987",
    "Big5",
    "GB2312",
)
#: ``User.UserType`` / ``Profile.UserType`` values (the Object Reference's list, API 10.0 and later).
USER_TYPES = (
    "Standard",
    "PowerPartner",
    "PowerCustomerSuccess",
    "CustomerSuccess",
    "CspLitePortal",
    "CsnOnly",
    "Guest",
    "SelfService",
    "AutomatedProcess",
)


USER = SObjectDef(
    "User",
    "005",
    "User",
    _fields(
        _ro("Id", "id", "User ID", nillable=False),
        FieldDef("Username", "string", "Username", 80, nillable=False, required=True),
        FieldDef("LastName", "string", "Last Name", 80, nillable=False, required=True),
        FieldDef("FirstName", "string", "First Name", 40),
        _ro("Name", "string", "Full Name", length=121, nillable=False),
        FieldDef("Email", "email", "Email", 128, nillable=False, required=True),
        FieldDef("Alias", "string", "Alias", 8, nillable=False, required=True),
        FieldDef("CommunityNickname", "string", "Nickname", 40, nillable=False),
        FieldDef(
            "ProfileId",
            "reference",
            "Profile ID",
            nillable=False,
            required=True,
            reference_to="Profile",
            relationship_name="Profile",
        ),
        FieldDef("UserRoleId", "reference", "Role ID", reference_to="UserRole", relationship_name="UserRole"),
        FieldDef("ManagerId", "reference", "Manager ID", reference_to="User", relationship_name="Manager"),
        FieldDef("IsActive", "boolean", "Active", nillable=False, default=True),
        FieldDef(
            "TimeZoneSidKey",
            "picklist",
            "Time Zone",
            40,
            nillable=False,
            required=True,
            picklist=TIME_ZONES,
            restricted=True,
        ),
        FieldDef(
            "LocaleSidKey",
            "picklist",
            "Locale",
            40,
            nillable=False,
            required=True,
            picklist=LOCALES,
            restricted=True,
        ),
        FieldDef(
            "LanguageLocaleKey",
            "picklist",
            "Language",
            40,
            nillable=False,
            required=True,
            picklist=LANGUAGES,
            restricted=True,
        ),
        FieldDef(
            "EmailEncodingKey",
            "picklist",
            "Email Encoding",
            40,
            nillable=False,
            required=True,
            picklist=EMAIL_ENCODINGS,
            restricted=True,
        ),
        FieldDef("FederationIdentifier", "string", "SAML Federation ID", 512),
        FieldDef("Department", "string", "Department", 80),
        FieldDef("Division", "string", "Division", 80),
        FieldDef("Title", "string", "Title", 80),
        FieldDef("CompanyName", "string", "Company Name", 80),
        FieldDef("EmployeeNumber", "string", "Employee Number", 20),
        FieldDef("Phone", "string", "Phone", 40),
        FieldDef("MobilePhone", "string", "Mobile", 40),
        FieldDef("City", "string", "City", 40),
        FieldDef("Country", "string", "Country", 80),
        _ro("UserType", "picklist", "User Type", length=40, picklist=USER_TYPES),
        _ro("LastLoginDate", "datetime", "Last Login"),
        *_audit(),
    ),
    createable=True,
    updateable=True,
)

USER_LICENSE = SObjectDef(
    "UserLicense",
    "100",
    "User License",
    _fields(
        _ro("Id", "id", "User License ID", nillable=False),
        _ro("Name", "string", "Name", length=40),
        _ro("LicenseDefinitionKey", "string", "License Definition Key", length=40),
        _ro("Status", "picklist", "Status", length=40, picklist=("Active", "Disabled")),
        _ro("TotalLicenses", "int", "Total Licenses"),
        _ro("UsedLicenses", "int", "Used Licenses"),
        *_audit(),
    ),
)

PROFILE = SObjectDef(
    "Profile",
    "00e",
    "Profile",
    _fields(
        _ro("Id", "id", "Profile ID", nillable=False),
        _ro("Name", "string", "Name", length=255),
        _ro(
            "UserLicenseId",
            "reference",
            "User License ID",
            reference_to="UserLicense",
            relationship_name="UserLicense",
        ),
        _ro("UserType", "picklist", "User Type", length=40, picklist=USER_TYPES),
        _ro("Description", "string", "Description", length=255),
        *_audit(),
    ),
)

USER_ROLE = SObjectDef(
    "UserRole",
    "00E",
    "Role",
    _fields(
        _ro("Id", "id", "Role ID", nillable=False),
        _ro("Name", "string", "Name", length=80),
        _ro("DeveloperName", "string", "Developer Name", length=80),
        _ro("ParentRoleId", "reference", "Parent Role ID", reference_to="UserRole"),
        _ro("RollupDescription", "string", "Description", length=80),
        *_audit(),
    ),
)

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
        *_audit(),
    ),
)

PERMISSION_SET_ASSIGNMENT = SObjectDef(
    "PermissionSetAssignment",
    "0Pa",
    "Permission Set Assignment",
    _fields(
        _ro("Id", "id", "Permission Set Assignment ID", nillable=False),
        FieldDef(
            "AssigneeId",
            "reference",
            "Assignee ID",
            nillable=False,
            required=True,
            updateable=False,
            reference_to="User",
            relationship_name="Assignee",
        ),
        FieldDef(
            "PermissionSetId",
            "reference",
            "Permission Set ID",
            nillable=False,
            required=True,
            updateable=False,
            reference_to="PermissionSet",
            relationship_name="PermissionSet",
        ),
        _ro("SystemModstamp", "datetime", "System Modstamp", nillable=False),
    ),
    createable=True,
    deletable=True,
)

USER_LOGIN = SObjectDef(
    "UserLogin",
    "060",
    "User Login",
    _fields(
        _ro("Id", "id", "User Login ID", nillable=False),
        _ro("UserId", "reference", "User ID", reference_to="User"),
        FieldDef("IsFrozen", "boolean", "Is Frozen", createable=False, nillable=False, default=False),
        FieldDef(
            "IsPasswordLocked",
            "boolean",
            "Is Password Locked",
            createable=False,
            nillable=False,
            default=False,
        ),
        _ro("LastModifiedDate", "datetime", "Last Modified Date", nillable=False),
        _ro("LastModifiedById", "reference", "Last Modified By ID", reference_to="User"),
    ),
    updateable=True,
)

SCHEMA: dict[str, SObjectDef] = {
    d.name.lower(): d
    for d in (USER, USER_LICENSE, PROFILE, USER_ROLE, PERMISSION_SET, PERMISSION_SET_ASSIGNMENT, USER_LOGIN)
}
PREFIXES: dict[str, SObjectDef] = {d.key_prefix: d for d in SCHEMA.values()}


def describe_field(f: FieldDef) -> dict[str, object]:
    """A field as ``/sobjects/{type}/describe`` shows it (the commonly read keys)."""
    return {
        "name": f.name,
        "label": f.label,
        "type": f.type,
        "length": f.length,
        "createable": f.createable,
        "updateable": f.updateable,
        "nillable": f.nillable,
        "defaultedOnCreate": f.default is not None,
        "referenceTo": [f.reference_to] if f.reference_to else [],
        "relationshipName": f.relationship_name,
        "restrictedPicklist": f.restricted,
        "picklistValues": [
            {"active": True, "defaultValue": False, "label": v, "validFor": None, "value": v}
            for v in f.picklist
        ],
    }
