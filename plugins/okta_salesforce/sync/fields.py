"""What Salesforce accepts in the User fields the sync writes: types, lengths, picklists.

Lengths follow the User object reference (``describe`` of User). Salesforce counts a string's
length in UTF-16 code units (it is Java underneath), so an emoji counts twice: we count the same
way, and a value we accept is never refused for its length.
"""

from __future__ import annotations

import re
import zoneinfo
from dataclasses import dataclass
from enum import StrEnum


class FieldType(StrEnum):
    STRING = "string"
    EMAIL = "email"
    PICKLIST = "picklist"
    REFERENCE = "reference"
    BOOLEAN = "boolean"


@dataclass(frozen=True)
class UserField:
    """One User field.

    :param name: the API name.
    :param type: the kind of value.
    :param length: the maximum length, in UTF-16 code units.
    :param required: required on insert.
    :param updateable: can be changed after insert.
    :param references: for reference fields, the sObject whose ``Name`` the mapping gives.
    """

    name: str
    type: FieldType = FieldType.STRING
    length: int | None = None
    required: bool = False
    updateable: bool = True
    references: str | None = None


#: The User checkboxes that give a feature license (Object Reference, User): Marketing User,
#: Offline User, Knowledge User, Flow User, Service Cloud User, Salesforce CRM Content User, Chat
#: User, Apex Mobile User, Auto-login Call Center, Chatter Answers User, Site.com Contributor and
#: Publisher User, WDC User. An org shows only those of features it has (checked against describe).
FEATURE_LICENSES = (
    "UserPermissionsMarketingUser",
    "UserPermissionsOfflineUser",
    "UserPermissionsKnowledgeUser",
    "UserPermissionsInteractionUser",
    "UserPermissionsSupportUser",
    "UserPermissionsSFContentUser",
    "UserPermissionsLiveAgentUser",
    "UserPermissionsMobileUser",
    "UserPermissionsCallCenterAutoLogin",
    "UserPermissionsChatterAnswersUser",
    "UserPermissionsSiteforceContributorUser",
    "UserPermissionsSiteforcePublisherUser",
    "UserPermissionsWorkDotComUserFeature",
)

_S, _E, _P, _R = FieldType.STRING, FieldType.EMAIL, FieldType.PICKLIST, FieldType.REFERENCE

USER_FIELDS: dict[str, UserField] = {
    f.name: f
    for f in (
        UserField("Username", _E, 80, required=True),
        UserField("Email", _E, 128, required=True),
        UserField("LastName", _S, 80, required=True),
        UserField("FirstName", _S, 40),
        UserField("MiddleName", _S, 40),
        UserField("Suffix", _S, 40),
        UserField("Alias", _S, 8, required=True),
        UserField("CommunityNickname", _S, 40),
        UserField("Title", _S, 80),
        UserField("Department", _S, 80),
        UserField("Division", _S, 80),
        UserField("CompanyName", _S, 80),
        UserField("EmployeeNumber", _S, 20),
        UserField("FederationIdentifier", _S, 512),
        UserField("Phone", _S, 40),
        UserField("MobilePhone", _S, 40),
        UserField("Fax", _S, 40),
        UserField("Extension", _S, 40),
        UserField("Street", _S, 255),
        UserField("City", _S, 40),
        UserField("State", _S, 80),
        UserField("PostalCode", _S, 20),
        UserField("Country", _S, 80),
        UserField("AboutMe", _S, 1000),
        UserField("SenderEmail", _E, 80),
        UserField("SenderName", _S, 80),
        UserField("TimeZoneSidKey", _P, 40, required=True),
        UserField("LocaleSidKey", _P, 40, required=True),
        UserField("EmailEncodingKey", _P, 40, required=True),
        UserField("LanguageLocaleKey", _P, 40, required=True),
        UserField("ProfileId", _R, required=True, references="Profile"),
        UserField("UserRoleId", _R, references="UserRole"),
        UserField("ManagerId", _R, references="User"),
        *(UserField(name, FieldType.BOOLEAN) for name in FEATURE_LICENSES),
    )
}

#: Fields the sync manages itself and that a mapping must not target.
RESERVED_FIELDS = frozenset({"Id", "IsActive"})
#: Fields Salesforce compares case-insensitively (matching and diffing do the same).
CASE_INSENSITIVE = frozenset({"Username", "Email"})
#: Fields a generator fills when the mapping says ``source: generated``.
GENERATED = ("Alias", "CommunityNickname")


def reference_name_field(target: str) -> str | None:
    """For a reference field (``ProfileId``), the key holding the referenced name (``Profile.Name``)."""
    spec = USER_FIELDS.get(target)
    return f"{spec.references}.Name" if spec and spec.references else None


#: ``EmailEncodingKey`` picklist values.
EMAIL_ENCODINGS = frozenset(
    {
        "UTF-8",
        "ISO-8859-1",
        "Shift_JIS",
        "ISO-2022-JP",
        "EUC-JP",
        "ks_c_5601-1987",
        "Big5",
        "GB2312",
        "Big5-HKSCS",
        "x-SJIS_0213",
    }
)
#: ``LanguageLocaleKey`` values: Salesforce's fully supported and end-user languages.
LANGUAGES = frozenset(
    {
        "en_US", "en_GB", "de", "es", "es_MX", "fr", "it", "ja", "sv", "ko", "zh_CN", "zh_TW",
        "pt_BR", "nl_NL", "da", "th", "fi", "ru", "no", "ar", "bg", "hr", "cs", "el", "iw", "hu",
        "in", "pl", "pt_PT", "ro", "sk", "sl", "tr", "uk", "vi",
    }
)  # fmt: skip
_LOCALE = re.compile(r"^[a-z]{2,3}(_[A-Z]{2})?(_[A-Za-z0-9]{1,8})?$")
_TIMEZONES = frozenset(zoneinfo.available_timezones()) | {"GMT"}

# Salesforce's email syntax: an ASCII local part of atext characters and dots (no leading,
# trailing or doubled dot), "@", and a domain of at least two DNS labels.
_EMAIL = re.compile(
    r"^(?!\.)(?!.*\.\.)[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]{1,64}(?<!\.)"
    r"@(?=.{1,255}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$"
)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def utf16_len(value: str) -> int:
    """Length as Salesforce counts it (UTF-16 code units)."""
    return len(value.encode("utf-16-le")) // 2


def truncate_utf16(value: str, limit: int) -> str:
    """Cut ``value`` to at most ``limit`` UTF-16 code units without splitting a character."""
    out, used = [], 0
    for char in value:
        size = 2 if ord(char) > 0xFFFF else 1
        if used + size > limit:
            break
        out.append(char)
        used += size
    return "".join(out).rstrip()


def is_email(value: str) -> bool:
    """True when ``value`` has the form Salesforce accepts for Email and Username."""
    return bool(_EMAIL.match(value))


_SURROGATE = re.compile(r"[\ud800-\udfff]")


def has_lone_surrogate(value: str) -> bool:
    """True when ``value`` holds a lone UTF-16 surrogate (JSON allows it, UTF-8 and Salesforce do not)."""
    return bool(_SURROGATE.search(value))


def has_control_characters(value: str) -> bool:
    """True when ``value`` holds a control character other than tab, newline and carriage return."""
    return bool(_CONTROL.search(value))


def picklist_allows(field: str, value: str) -> bool | None:
    """Whether a built-in picklist allows ``value``; None for a field we have no list for."""
    if field == "TimeZoneSidKey":
        return value in _TIMEZONES
    if field == "LocaleSidKey":
        return bool(_LOCALE.match(value))
    if field == "EmailEncodingKey":
        return value in EMAIL_ENCODINGS
    if field == "LanguageLocaleKey":
        return value in LANGUAGES
    return None


_TRUE = frozenset({"true", "yes", "1", "on"})
_FALSE = frozenset({"false", "no", "0", "off"})


def parse_boolean(value: str) -> bool | None:
    """``true``/``false`` (also yes/no, 1/0, on/off, any case) as a bool; None when it is neither."""
    folded = value.strip().casefold()
    return True if folded in _TRUE else False if folded in _FALSE else None


#: A custom field's API name (``Something__c``).
CUSTOM_FIELD = re.compile(r"^[A-Za-z][A-Za-z0-9_]*__c$")


def is_custom(field: str) -> bool:
    """True for a custom field API name (``Something__c``)."""
    return bool(CUSTOM_FIELD.match(field))
