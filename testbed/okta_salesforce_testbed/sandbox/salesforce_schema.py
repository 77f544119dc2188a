"""The slice of Salesforce's data model the sandbox serves: objects, fields, picklists and ids.

Field names, labels, lengths and which fields are createable/updateable follow
the Salesforce Object Reference for User, Profile, UserLicense, UserRole,
PermissionSet, PermissionSetGroup, PermissionSetLicense, PermissionSetAssignment,
PermissionSetLicenseAssign and UserLogin (the permission objects live in
``salesforce_permissions``, the building blocks in ``salesforce_sobject``). Restricted
picklists carry a realistic subset of the real values.
"""

from __future__ import annotations

from okta_salesforce_testbed.sandbox.salesforce_permissions import (
    PERMISSION_SET,
    PERMISSION_SET_ASSIGNMENT,
    PERMISSION_SET_GROUP,
    PERMISSION_SET_LICENSE,
    PERMISSION_SET_LICENSE_ASSIGN,
)
from okta_salesforce_testbed.sandbox.salesforce_sobject import (
    API_VERSIONS,
    LATEST_API_VERSION,
    FieldDef,
    SObjectDef,
    _audit,
    _fields,
    _ro,
    id_checksum,
    make_id,
    normalize_id,
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


#: The User checkboxes that give a feature license (Object Reference, User), with their labels.
FEATURE_LICENSES = (
    ("UserPermissionsMarketingUser", "Marketing User"),
    ("UserPermissionsOfflineUser", "Offline User"),
    ("UserPermissionsKnowledgeUser", "Knowledge User"),
    ("UserPermissionsInteractionUser", "Flow User"),
    ("UserPermissionsSupportUser", "Service Cloud User"),
    ("UserPermissionsSFContentUser", "Salesforce CRM Content User"),
    ("UserPermissionsLiveAgentUser", "Chat User"),
    ("UserPermissionsMobileUser", "Apex Mobile User"),
    ("UserPermissionsCallCenterAutoLogin", "Auto-login Call Center"),
    ("UserPermissionsChatterAnswersUser", "Chatter Answers User"),
    ("UserPermissionsSiteforceContributorUser", "Site.com Contributor User"),
    ("UserPermissionsSiteforcePublisherUser", "Site.com Publisher User"),
    ("UserPermissionsWorkDotComUserFeature", "WDC User"),
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
        *(
            FieldDef(name, "boolean", label, nillable=False, default=False)
            for name, label in FEATURE_LICENSES
        ),
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
    for d in (
        USER,
        USER_LICENSE,
        PROFILE,
        USER_ROLE,
        PERMISSION_SET,
        PERMISSION_SET_GROUP,
        PERMISSION_SET_LICENSE,
        PERMISSION_SET_ASSIGNMENT,
        PERMISSION_SET_LICENSE_ASSIGN,
        USER_LOGIN,
    )
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


__all__ = [
    "API_VERSIONS",
    "LATEST_API_VERSION",
    "PREFIXES",
    "SCHEMA",
    "FieldDef",
    "SObjectDef",
    "describe_field",
    "id_checksum",
    "make_id",
    "normalize_id",
]
