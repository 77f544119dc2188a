"""The building blocks of the sandbox's Salesforce schema: ids, field and sObject definitions.

Ids follow Salesforce's shape (key prefix, pod, base-62 number, case-safety checksum); field
definitions carry what ``describe`` reports (type, length, createable, updateable, nillable,
references, restricted picklists).
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
