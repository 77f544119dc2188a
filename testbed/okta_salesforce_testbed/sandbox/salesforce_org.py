"""The Salesforce sandbox's org: records, indexes, validation, DML and SOQL execution.

No HTTP here: :class:`Org` is the in-memory database the REST layer
(:mod:`okta_salesforce_testbed.sandbox.salesforce`) drives. Writes validate the way
Salesforce validates Users (required fields, lengths, restricted picklists,
unique Username / CommunityNickname / FederationIdentifier, license counts,
deactivation blockers) and can run inside an all-or-none :meth:`Org.transaction`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from okta_salesforce_testbed.sandbox import soql
from okta_salesforce_testbed.sandbox.salesforce_licenses import license_change_refusal, license_user_type
from okta_salesforce_testbed.sandbox.salesforce_permissions import (
    ASSIGNMENT_OBJECTS,
    check_delete,
    create_entitlement,
    index_license_assign,
)
from okta_salesforce_testbed.sandbox.salesforce_schema import (
    PREFIXES,
    SCHEMA,
    FieldDef,
    SObjectDef,
    make_id,
    normalize_id,
)

_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_USERNAME_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z0-9-]+$")
# Locales whose full name reads family name first.
_FAMILY_FIRST = ("ja", "zh", "ko", "hu")
DUPLICATE_USERNAME_MESSAGE = (
    "Duplicate Username.<br>The username already exists in this or another Salesforce organization. "
    "Usernames must be unique across all Salesforce organizations. To resolve, use a different username "
    "(it doesn't need to match the user's email address). "
)
DUPLICATE_NICKNAME_MESSAGE = (
    "Duplicate Nickname.<br>Another user has already selected this nickname.<br>Please select another."
)
ROLLED_BACK_MESSAGE = (
    "Record rolled back because not all records were valid and the request was using AllOrNone header"
)


class RecordError(Exception):
    """A per-record failure, rendered as ``{statusCode, message, fields}``."""

    def __init__(self, status_code: str, message: str, fields: list[str] | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.message = message
        self.fields = list(fields or [])

    def as_error(self) -> dict[str, Any]:
        """The sObject Collections form."""
        return {"statusCode": self.status_code, "message": self.message, "fields": self.fields}

    def as_api_error(self) -> dict[str, Any]:
        """The single-record REST form (``errorCode`` instead of ``statusCode``)."""
        return {"message": self.message, "errorCode": self.status_code, "fields": self.fields}


def format_datetime(value: datetime) -> str:
    """Salesforce's JSON datetime form: ``2024-01-31T10:00:00.000+0000``."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}+0000"


def _render_value(f: FieldDef, value: Any) -> Any:
    if isinstance(value, datetime):
        return format_datetime(value)
    return value


@dataclass
class QueryResult:
    """Matched records and how to render one record."""

    sobject: str
    records: list[dict[str, Any]]
    total_size: int
    count_only: bool
    render: Callable[[dict[str, Any], str], dict[str, Any]]


@dataclass
class _RenderNode:
    """A level of nested output: plain fields and relationships, in SELECT order."""

    sobject: SObjectDef
    entries: dict[str, tuple[str, Any]] = field(
        default_factory=dict
    )  # key -> ("field", FieldDef) | ("rel", ...)


class Org:
    """All records of the sandbox org and the rules that guard them."""

    def __init__(
        self, *, org_id: str = make_id("00D", 1, pod="5g"), clock: Callable[[], datetime] | None = None
    ) -> None:
        self.org_id = org_id
        self.clock = clock or (lambda: datetime.now(UTC))
        self.tables: dict[str, dict[str, dict[str, Any]]] = {name: {} for name in SCHEMA}
        self._next_number: dict[str, int] = {}
        self.usernames: dict[str, str] = {}
        self.nicknames: dict[str, str] = {}
        self.federation_ids: dict[str, str] = {}
        self.login_by_user: dict[str, str] = {}
        self.assignments: set[tuple[str, str]] = set()
        self.license_assignments: set[tuple[str, str]] = set()  # (user, permission set license)
        self.used_licenses: dict[str, int] = {}
        self.reserved_usernames: set[str] = set()  # taken in "another org"
        self.default_workflow_user_id: str | None = None
        self.failures: dict[str, RecordError] = {}
        self.running_user_id: str | None = None
        self._journal: list[Callable[[], None]] | None = None

    # Ids and low-level storage ----------------------------------------------------
    def new_id(self, sobject: SObjectDef) -> str:
        number = self._next_number.get(sobject.key_prefix, 1000)
        self._next_number[sobject.key_prefix] = number + 1
        return make_id(sobject.key_prefix, number)

    def table(self, sobject: str) -> dict[str, dict[str, Any]]:
        return self.tables[sobject.lower()]

    def get(self, record_id: str | None) -> dict[str, Any] | None:
        """Any record by id (15 or 18 characters)."""
        if not record_id:
            return None
        full = normalize_id(record_id)
        sobject = PREFIXES.get(full[:3]) if full else None
        if not full or not sobject:
            return None
        return self.tables[sobject.name.lower()].get(full)

    def user_by_username(self, username: str) -> dict[str, Any] | None:
        user_id = self.usernames.get(username.lower())
        return self.tables["user"].get(user_id) if user_id else None

    def license_of_profile(self, profile_id: str | None) -> dict[str, Any] | None:
        profile = self.tables["profile"].get(profile_id or "")
        return self.tables["userlicense"].get(profile["UserLicenseId"]) if profile else None

    def user_type_of_profile(self, profile_id: str | None) -> str | None:
        """``Profile.UserType``: what Salesforce derives for users on ``profile_id``."""
        profile = self.tables["profile"].get(profile_id or "")
        return profile.get("UserType") if profile else None

    def insert_raw(self, sobject: str, values: dict[str, Any]) -> dict[str, Any]:
        """Store a record without validation (seeding and admin changes), keeping indexes right.

        Derived fields are computed as Salesforce computes them, whatever ``values`` says:
        ``Profile.UserType`` from the profile's license, ``User.UserType`` and ``User.Name``.
        """
        definition = SCHEMA[sobject.lower()]
        record = dict(values)
        record.setdefault("Id", self.new_id(definition))
        now = self.clock()
        if "createddate" in definition.fields:
            record.setdefault("CreatedDate", now)
            record.setdefault("LastModifiedDate", now)
            record.setdefault("CreatedById", self.running_user_id)
            record.setdefault("LastModifiedById", self.running_user_id)
        record.setdefault("SystemModstamp", now)
        for f in definition.fields.values():
            record.setdefault(f.name, f.default)
        if definition.name == "Profile" and record.get("UserLicenseId"):
            license_record = self.tables["userlicense"][record["UserLicenseId"]]
            record["UserType"] = license_user_type(license_record["Name"])
        if definition.name == "User":
            record["Name"] = full_name(record)
            record["UserType"] = self.user_type_of_profile(record.get("ProfileId")) or record.get("UserType")
        table = self.tables[definition.name.lower()]
        table[record["Id"]] = record
        self._index(definition, record, add=True)
        self._undo(lambda: self._remove_raw(definition, record))
        if definition is SCHEMA["user"] and record["Id"] not in self.login_by_user:
            self.insert_raw(
                "UserLogin", {"UserId": record["Id"], "IsFrozen": False, "IsPasswordLocked": False}
            )
        return record

    def _remove_raw(self, definition: SObjectDef, record: dict[str, Any]) -> None:
        self._index(definition, record, add=False)
        self.tables[definition.name.lower()].pop(record["Id"], None)

    def update_raw(self, record: dict[str, Any], changes: dict[str, Any]) -> None:
        """Change fields of a stored record without validation, keeping indexes right (a new
        ProfileId re-derives ``UserType`` unless the changes set it)."""
        definition = PREFIXES[record["Id"][:3]]
        if definition is SCHEMA["user"] and "ProfileId" in changes and "UserType" not in changes:
            changes = {**changes, "UserType": self.user_type_of_profile(changes["ProfileId"])}
        before = {key: record.get(key) for key in changes}
        self._index(definition, record, add=False)
        record.update(changes)
        if definition is SCHEMA["user"]:
            record["Name"] = full_name(record)
        self._index(definition, record, add=True)

        def undo() -> None:
            self._index(definition, record, add=False)
            record.update(before)
            if definition is SCHEMA["user"]:
                record["Name"] = full_name(record)
            self._index(definition, record, add=True)

        self._undo(undo)

    def _index(self, definition: SObjectDef, record: dict[str, Any], *, add: bool) -> None:
        name = definition.name
        if name == "User":
            keys = (
                (self.usernames, record.get("Username")),
                (self.nicknames, record.get("CommunityNickname")),
                (self.federation_ids, record.get("FederationIdentifier")),
            )
            for index, key in keys:
                if key:
                    if add:
                        index[key.lower()] = record["Id"]
                    elif index.get(key.lower()) == record["Id"]:
                        del index[key.lower()]
            if record.get("IsActive"):
                license_record = self.license_of_profile(record.get("ProfileId"))
                if license_record:
                    lid = license_record["Id"]
                    self.used_licenses[lid] = self.used_licenses.get(lid, 0) + (1 if add else -1)
                    license_record["UsedLicenses"] = self.used_licenses[lid]
        elif name == "UserLogin":
            if add:
                self.login_by_user[record["UserId"]] = record["Id"]
            else:
                self.login_by_user.pop(record["UserId"], None)
        elif name == "PermissionSetAssignment":
            pair = (record["AssigneeId"], record["PermissionSetId"])
            (self.assignments.add if add else self.assignments.discard)(pair)
        elif name == "PermissionSetLicenseAssign":
            index_license_assign(self, record, add=add)

    # Transactions -------------------------------------------------------------------
    def _undo(self, action: Callable[[], None]) -> None:
        if self._journal is not None:
            self._journal.append(action)

    @contextmanager
    def transaction(self) -> Iterator[Callable[[], None]]:
        """Collect undo steps; the yielded callable rolls back everything done inside."""
        outer = self._journal
        journal: list[Callable[[], None]] = []
        self._journal = journal

        def rollback() -> None:
            self._journal = None
            while journal:
                journal.pop()()
            self._journal = journal

        try:
            yield rollback
        finally:
            self._journal = outer
            if outer is not None:
                outer.extend(journal)  # a committed savepoint stays undoable by the enclosing transaction

    # DML ----------------------------------------------------------------------------------
    def create(self, sobject: str, values: dict[str, Any]) -> str:
        """Insert one record after Salesforce's validation; returns the new id."""
        definition = _createable(sobject)
        clean = self._clean(definition, values, creating=True)
        if definition.name == "User":
            self._check_failure(clean.get("Username"))
            record = self._validate_user(clean, None)
            return self.insert_raw("User", record)["Id"]
        if definition.name in ASSIGNMENT_OBJECTS:
            return create_entitlement(self, definition, clean)
        raise RecordError(
            "INVALID_TYPE_FOR_OPERATION", f"entity type {definition.name} does not support insert"
        )

    def update(self, sobject: str | None, record_id: str, values: dict[str, Any]) -> str:
        """Update one record by id after validation; returns the 18-character id."""
        full = normalize_id(record_id or "")
        definition = PREFIXES.get(full[:3]) if full else None
        if not full or not definition or (sobject and definition.name.lower() != sobject.lower()):
            expected = sobject or "record"
            raise RecordError(
                "MALFORMED_ID", f"{expected} ID: id value of incorrect type: {record_id}", ["Id"]
            )
        record = self.tables[definition.name.lower()].get(full)
        if record is None:
            raise RecordError("ENTITY_IS_DELETED", "entity is deleted", [])
        if not definition.updateable:
            raise RecordError(
                "INVALID_TYPE_FOR_OPERATION", f"entity type {definition.name} does not support update"
            )
        clean = self._clean(definition, values, creating=False)
        if definition.name == "User":
            self._check_failure(record["Username"])
            if "Username" in clean:
                self._check_failure(clean["Username"])
            changes = self._validate_user(clean, record)
        else:  # UserLogin
            user = self.tables["user"].get(record["UserId"])
            if user:
                self._check_failure(user["Username"])
            if clean.get("IsPasswordLocked") is True:
                raise RecordError(
                    "FIELD_INTEGRITY_EXCEPTION",
                    "Is Password Locked: you can only unlock a user",
                    ["IsPasswordLocked"],
                )
            changes = dict(clean)
        changes.update(self._audit_changes(definition))
        self.update_raw(record, changes)
        return full

    def delete(self, sobject: str, record_id: str) -> None:
        definition = SCHEMA[sobject.lower()]
        full = normalize_id(record_id)
        record = self.tables[definition.name.lower()].get(full or "")
        if record is None:
            raise RecordError("ENTITY_IS_DELETED", "entity is deleted")
        check_delete(self, definition, record)
        self._remove_raw(definition, record)

        def restore() -> None:
            self.tables[definition.name.lower()][record["Id"]] = record
            self._index(definition, record, add=True)

        self._undo(restore)

    def _audit_changes(self, definition: SObjectDef) -> dict[str, Any]:
        now = self.clock()
        changes: dict[str, Any] = {"SystemModstamp": now} if "systemmodstamp" in definition.fields else {}
        if "lastmodifieddate" in definition.fields:
            changes.update(LastModifiedDate=now, LastModifiedById=self.running_user_id)
        return changes

    def _check_failure(self, username: str | None) -> None:
        if username and username.lower() in self.failures:
            raise self.failures[username.lower()]

    def _clean(self, definition: SObjectDef, values: dict[str, Any], *, creating: bool) -> dict[str, Any]:
        """Canonical field names and coerced values; rejects unknown and read-only fields."""
        clean: dict[str, Any] = {}
        readonly: list[str] = []
        for key, value in values.items():
            if key in ("attributes", "Id", "id") and (key == "attributes" or not creating):
                continue
            f = definition.field(key)
            if f is None:
                raise RecordError(
                    "INVALID_FIELD", f"No such column '{key}' on sobject of type {definition.name}"
                )
            if not (f.createable if creating else f.updateable):
                readonly.append(f.name)
                continue
            clean[f.name] = _coerce(f, value)
        if readonly:
            raise RecordError(
                "INVALID_FIELD_FOR_INSERT_UPDATE",
                f"Unable to create/update fields: {', '.join(readonly)}. Please check the security settings "
                "of "
                "this field and verify that it is read/write for your profile or permission set.",
                readonly,
            )
        for f in definition.fields.values():
            if f.type == "reference" and clean.get(f.name):
                clean[f.name] = self._reference_id(f, clean[f.name])
        return clean

    def _reference_id(self, f: FieldDef, value: str) -> str:
        full = normalize_id(str(value))
        if not full or full[:3] != SCHEMA[(f.reference_to or "").lower()].key_prefix:
            raise RecordError("MALFORMED_ID", f"{f.label}: id value of incorrect type: {value}", [f.name])
        return full

    def _check_reference(self, f: FieldDef, value: str | None) -> None:
        if value and value not in self.tables[(f.reference_to or "").lower()]:
            raise RecordError("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", [])

    def _require(self, definition: SObjectDef, merged: dict[str, Any]) -> None:
        missing = [
            f.name for f in definition.fields.values() if f.required and merged.get(f.name) in (None, "")
        ]
        if missing:
            raise RecordError(
                "REQUIRED_FIELD_MISSING", f"Required fields are missing: [{', '.join(missing)}]", missing
            )

    def _validate_user(self, clean: dict[str, Any], existing: dict[str, Any] | None) -> dict[str, Any]:
        """Salesforce's User checks, in its order; returns the values to store."""
        definition = SCHEMA["user"]
        merged = {**(existing or {}), **clean}
        if existing is None:
            for f in definition.fields.values():
                if f.default is not None and merged.get(f.name) is None:
                    merged[f.name] = clean[f.name] = f.default
        self._require(definition, merged)
        for name, value in clean.items():
            f = definition.fields[name.lower()]
            if value is None and not f.nillable:
                raise RecordError(
                    "REQUIRED_FIELD_MISSING", f"Required fields are missing: [{f.name}]", [f.name]
                )
            if isinstance(value, str) and f.length and len(value) > f.length and f.type != "picklist":
                raise RecordError(
                    "STRING_TOO_LONG",
                    f"{f.label}: data value too large: {value} (max length={f.length})",
                    [f.name],
                )
            if f.restricted and value not in f.picklist:
                raise RecordError(
                    "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                    f"{f.label}: bad value for restricted picklist field: {value}",
                    [f.name],
                )
        if "Username" in clean:
            clean["Username"] = clean["Username"].lower()
            if not _USERNAME_RE.match(clean["Username"]):
                raise RecordError(
                    "INVALID_EMAIL_ADDRESS",
                    "Username must be in the form of an email address (for example, john@acme.com)",
                    ["Username"],
                )
        if "Email" in clean and not _EMAIL_RE.match(clean["Email"]):
            raise RecordError(
                "INVALID_EMAIL_ADDRESS", f"Email: invalid email address: {clean['Email']}", ["Email"]
            )
        for name in ("ProfileId", "UserRoleId", "ManagerId"):
            if clean.get(name):
                self._check_reference(definition.fields[name.lower()], clean[name])
        if clean.get("ProfileId"):
            clean["UserType"] = self._user_type_for(existing, clean["ProfileId"])
        own_id = existing["Id"] if existing else None
        if "Username" in clean:
            holder = self.usernames.get(clean["Username"])
            if (holder and holder != own_id) or clean["Username"] in self.reserved_usernames:
                raise RecordError("DUPLICATE_USERNAME", DUPLICATE_USERNAME_MESSAGE, ["Username"])
        if existing is None and not clean.get("CommunityNickname"):
            clean["CommunityNickname"] = self._free_nickname(clean["Email"].split("@")[0])
        if clean.get("CommunityNickname"):
            holder = self.nicknames.get(clean["CommunityNickname"].lower())
            if holder and holder != own_id:
                raise RecordError(
                    "DUPLICATE_COMM_NICKNAME", DUPLICATE_NICKNAME_MESSAGE, ["CommunityNickname"]
                )
        if clean.get("FederationIdentifier"):
            holder = self.federation_ids.get(clean["FederationIdentifier"].lower())
            if holder and holder != own_id:
                raise RecordError(
                    "DUPLICATE_VALUE",
                    "This Federation ID is already in use. Use a different Federation ID.",
                    ["FederationIdentifier"],
                )
        was_active = bool(existing and existing["IsActive"])
        now_active = bool(merged.get("IsActive"))
        if was_active and not now_active and existing is not None:
            self._check_deactivation(existing)
        old_license = self.license_of_profile(existing["ProfileId"]) if was_active and existing else None
        new_license = self.license_of_profile(merged["ProfileId"]) if now_active else None
        takes_seat = new_license is not None and (
            old_license is None or old_license["Id"] != new_license["Id"]
        )
        if (
            new_license is not None
            and takes_seat
            and self.used_licenses.get(new_license["Id"], 0) >= new_license["TotalLicenses"]
        ):
            raise RecordError("LICENSE_LIMIT_EXCEEDED", "License Limit Exceeded", [])
        if existing is None:
            clean["Name"] = full_name({**clean})
        return clean

    def _user_type_for(self, existing: dict[str, Any] | None, profile_id: str) -> str | None:
        """The UserType a user gets on ``profile_id``, refusing the license moves Salesforce refuses."""
        new = self.user_type_of_profile(profile_id)
        refusal = license_change_refusal(existing.get("UserType") if existing else None, new)
        if refusal:
            raise RecordError("FIELD_INTEGRITY_EXCEPTION", refusal, ["ProfileId"])
        return new

    def _check_deactivation(self, user: dict[str, Any]) -> None:
        if user["Id"] == self.default_workflow_user_id:
            raise RecordError(
                "FIELD_INTEGRITY_EXCEPTION",
                "You cannot deactivate this user. You cannot deactivate the Default Workflow User.",
                [],
            )
        admin_profile = next(
            (p["Id"] for p in self.tables["profile"].values() if p["Name"] == "System Administrator"), None
        )
        if user["ProfileId"] == admin_profile:
            active_admins = sum(
                1 for u in self.tables["user"].values() if u["IsActive"] and u["ProfileId"] == admin_profile
            )
            if active_admins <= 1:
                raise RecordError(
                    "CANNOT_DISABLE_LAST_ADMIN", "Cannot deactivate the last active administrator", []
                )

    def _free_nickname(self, base: str) -> str:
        base = base[:34] or "user"
        candidate, counter = base, 1
        while candidate.lower() in self.nicknames:
            candidate = f"{base}{counter}"
            counter += 1
        return candidate

    # SOQL -----------------------------------------------------------------------------------
    def query(self, text: str) -> QueryResult:
        """Run one SOQL statement; raises :class:`soql.SoqlError` for anything Salesforce rejects."""
        parsed = soql.parse(text)
        definition = SCHEMA.get(parsed.sobject.lower())
        if definition is None:
            raise soql.SoqlError(
                "INVALID_TYPE",
                f"sObject type '{parsed.sobject}' is not supported. If you are attempting to use a custom "
                "object, "
                "be sure to append the '__c' after the entity name. Please reference your WSDL or the "
                "describe "
                "call for the appropriate names.",
                parsed.sobject_position,
            )
        root = _RenderNode(definition)
        for ref in parsed.fields:
            self._add_render_path(root, definition, ref)
        predicate = self._compile_condition(definition, parsed.where) if parsed.where else None
        candidates = self._candidates(definition, parsed.where)
        table = self.tables[definition.name.lower()]
        pool = table.values() if candidates is None else (table[i] for i in candidates if i in table)
        rows = [r for r in pool if predicate is None or predicate(r)]
        if parsed.order_by:
            for item in reversed(parsed.order_by):
                getter = self._getter(definition, item.field)[1]
                rows.sort(
                    key=_sort_key(getter, item.effective_nulls_last, item.descending), reverse=item.descending
                )
        if parsed.offset is not None:
            if parsed.offset > 2000:
                raise soql.SoqlError("NUMBER_OUTSIDE_VALID_RANGE", "Maximum SOQL offset allowed is 2000")
            rows = rows[parsed.offset :]
        if parsed.limit is not None:
            rows = rows[: parsed.limit]

        def render(record: dict[str, Any], version: str) -> dict[str, Any]:
            return _render(root, record, version, self)

        return QueryResult(definition.name, rows, len(rows), parsed.count, render)

    def _resolve(self, definition: SObjectDef, ref: soql.FieldRef) -> list[tuple[SObjectDef, FieldDef]]:
        """The chain of (object, field) a dotted path walks; the last is the selected field."""
        path = list(ref.path)
        if (
            len(path) > 1
            and path[0].lower() == definition.name.lower()
            and path[0].lower() not in definition.relationships
        ):
            path = path[1:]
        chain: list[tuple[SObjectDef, FieldDef]] = []
        current = definition
        for index, part in enumerate(path):
            last = index == len(path) - 1
            f = current.field(part) if last else current.relationships.get(part.lower())
            if f is None:
                if last:
                    raise soql.SoqlError(
                        "INVALID_FIELD",
                        f"No such column '{part}' on entity '{current.name}'. If you are attempting to use "
                        "a custom "
                        "field, be sure to append the '__c' after the custom field name. Please reference "
                        "your WSDL "
                        "or the describe call for the appropriate names.",
                        ref.position,
                    )
                raise soql.SoqlError(
                    "INVALID_FIELD",
                    f"Didn't understand relationship '{part}' in field path. If you are attempting to use a "
                    "custom "
                    "relationship, be sure to append the '__r' after the custom relationship name. Please "
                    "reference "
                    "your WSDL or the describe call for the appropriate names.",
                    ref.position,
                )
            chain.append((current, f))
            if not last:
                current = SCHEMA[(f.reference_to or "").lower()]
        return chain

    def _getter(
        self, definition: SObjectDef, ref: soql.FieldRef
    ) -> tuple[FieldDef, Callable[[dict[str, Any]], Any]]:
        chain = self._resolve(definition, ref)
        hops = [(SCHEMA[(f.reference_to or "").lower()].name.lower(), f.name) for _, f in chain[:-1]]
        leaf = chain[-1][1].name
        tables = self.tables

        def get(record: dict[str, Any] | None) -> Any:
            for table, key in hops:
                if record is None:
                    return None
                record = tables[table].get(record.get(key) or "")
            return None if record is None else record.get(leaf)

        return chain[-1][1], get

    def _add_render_path(self, node: _RenderNode, definition: SObjectDef, ref: soql.FieldRef) -> None:
        chain = self._resolve(definition, ref)
        for _, f in chain[:-1]:
            key = f.relationship_name or f.name
            if key not in node.entries:
                node.entries[key] = ("rel", (f, _RenderNode(SCHEMA[(f.reference_to or "").lower()])))
            node = node.entries[key][1][1]
        leaf = chain[-1][1]
        node.entries.setdefault(leaf.name, ("field", leaf))

    def _candidates(self, definition: SObjectDef, condition: soql.Condition | None) -> set[str] | None:
        """Ids an indexed filter narrows the scan to (None = full scan)."""
        if condition is None:
            return None
        if isinstance(condition, soql.BoolOp):
            found = [self._candidates(definition, c) for c in condition.operands]
            if condition.operator == "AND":
                narrowed = [c for c in found if c is not None]
                return min(narrowed, key=len) if narrowed else None
            if any(c is None for c in found):
                return None
            return set().union(*[c for c in found if c is not None])
        if not isinstance(condition, soql.Comparison) or condition.operator not in ("=", "IN"):
            return None
        if len(condition.field.path) != 1:
            return None
        name = condition.field.path[0].lower()
        values = condition.value if isinstance(condition.value, tuple) else (condition.value,)
        if any(v.kind != "string" for v in values):
            return None
        if name == "id":
            return {i for v in values if (i := normalize_id(v.value))}
        if definition.name == "UserLogin" and name == "userid":  # indexed, as in a real org
            logins = self.login_by_user
            return {login for v in values if (i := normalize_id(v.value)) and (login := logins.get(i))}
        index = {"username": self.usernames, "federationidentifier": self.federation_ids}.get(name)
        if definition.name != "User" or index is None:
            return None
        return {i for v in values if (i := index.get(v.value.lower()))}

    def _compile_condition(
        self, definition: SObjectDef, condition: soql.Condition
    ) -> Callable[[dict[str, Any]], bool]:
        if isinstance(condition, soql.BoolOp):
            parts = [self._compile_condition(definition, c) for c in condition.operands]
            if condition.operator == "AND":
                return lambda r: all(p(r) for p in parts)
            return lambda r: any(p(r) for p in parts)
        if isinstance(condition, soql.Not):
            inner = self._compile_condition(definition, condition.operand)
            return lambda r: not inner(r)
        f, get = self._getter(definition, condition.field)
        op = condition.operator
        literals = condition.value if isinstance(condition.value, tuple) else (condition.value,)
        values = [_filter_value(f, lit, op) for lit in literals]
        if op == "LIKE":
            if f.type not in ("string", "email", "picklist"):
                raise soql.SoqlError(
                    "INVALID_QUERY_FILTER_OPERATOR",
                    f"invalid operator on {f.type} field",
                    condition.field.position,
                )
            pattern = soql.like_to_regex(literals[0].value or "")
            return lambda r: (v := get(r)) is not None and pattern.fullmatch(v) is not None
        if op in ("IN", "NOT IN"):
            wanted = {_fold(v) for v in values}
            if op == "IN":
                return lambda r: _fold(get(r)) in wanted
            return lambda r: _fold(get(r)) not in wanted
        target = values[0]
        if target is None:
            if op not in ("=", "!="):
                raise soql.SoqlError(
                    "MALFORMED_QUERY", "invalid operator for null value", condition.field.position
                )
            return (lambda r: get(r) is None) if op == "=" else (lambda r: get(r) is not None)
        folded = _fold(target)
        compare: dict[str, Callable[[Any, Any], bool]] = {
            "=": lambda a, b: a == b,
            "!=": lambda a, b: a != b,
            "<": lambda a, b: a is not None and a < b,
            "<=": lambda a, b: a is not None and a <= b,
            ">": lambda a, b: a is not None and a > b,
            ">=": lambda a, b: a is not None and a >= b,
        }
        check = compare[op]
        return lambda r: check(_fold(get(r)), folded)


def _coerce(f: FieldDef, value: Any) -> Any:
    if value is None:
        return None
    if f.type == "boolean":
        if not isinstance(value, bool):
            raise RecordError(
                "JSON_PARSER_ERROR",
                f"Cannot deserialize instance of boolean from VALUE_STRING value {value} or request may be "
                "missing "
                "a required field",
            )
        return value
    if isinstance(value, (bool, dict, list)):
        raise RecordError(
            "JSON_PARSER_ERROR",
            f"Cannot deserialize instance of string from {type(value).__name__} value or request may be "
            "missing "
            "a required field",
        )
    return value if isinstance(value, str) else str(value)


def _filter_value(f: FieldDef, literal: soql.Literal, op: str) -> Any:
    """A WHERE literal checked against the field's type, as Salesforce checks it."""
    if literal.kind == "null":
        return None
    name = f.name
    if f.type == "boolean":
        if literal.kind != "boolean":
            raise soql.SoqlError(
                "INVALID_FIELD",
                f"value of filter criterion for field '{name}' must be of type boolean and should not be "
                "enclosed "
                "in quotes",
                literal.position,
            )
        return literal.value
    if f.type in ("id", "reference"):
        full = normalize_id(literal.value) if literal.kind == "string" else None
        if full is None:
            raise soql.SoqlError(
                "INVALID_QUERY_FILTER_OPERATOR", f"invalid ID field: {literal.value}", literal.position
            )
        return full
    if f.type == "datetime":
        if literal.kind == "date":
            raise soql.SoqlError(
                "INVALID_FIELD",
                f"value of filter criterion for field '{name}' must be of type dateTime and should not be "
                "enclosed "
                "in quotes",
                literal.position,
            )
        if literal.kind != "datetime":
            raise soql.SoqlError(
                "INVALID_FIELD",
                f"value of filter criterion for field '{name}' must be of type dateTime and should not be "
                "enclosed "
                "in quotes",
                literal.position,
            )
        return literal.value
    if f.type == "int":
        if literal.kind != "number":
            raise soql.SoqlError(
                "INVALID_FIELD",
                f"value of filter criterion for field '{name}' must be of type double and should not be "
                "enclosed "
                "in quotes",
                literal.position,
            )
        return literal.value
    if literal.kind != "string":
        raise soql.SoqlError(
            "INVALID_FIELD",
            f"value of filter criterion for field '{name}' must be of type string and should be enclosed in "
            "quotes",
            literal.position,
        )
    value: str = literal.value
    return value if op == "LIKE" else value.replace("\\%", "%").replace("\\_", "_")


def _fold(value: Any) -> Any:
    """SOQL compares text case-insensitively."""
    return value.casefold() if isinstance(value, str) else value


def _sort_key(
    getter: Callable[[dict[str, Any]], Any], nulls_last: bool, descending: bool
) -> Callable[[dict[str, Any]], Any]:
    # With reverse=True the null flag flips, so compute it so that the final order honours nulls_last.
    null_rank = (0 if nulls_last else 1) if descending else (1 if nulls_last else 0)

    def key(record: dict[str, Any]) -> tuple[int, Any]:
        value = getter(record)
        if value is None:
            return (null_rank, 0)
        if isinstance(value, (datetime, date)):
            return (1 - null_rank, value.isoformat())
        return (1 - null_rank, _fold(value))

    return key


def _render(node: _RenderNode, record: dict[str, Any], version: str, org: Org) -> dict[str, Any]:
    out: dict[str, Any] = {
        "attributes": {
            "type": node.sobject.name,
            "url": f"/services/data/v{version}/sobjects/{node.sobject.name}/{record['Id']}",
        }
    }
    for key, (kind, payload) in node.entries.items():
        if kind == "field":
            out[key] = _render_value(payload, record.get(payload.name))
        else:
            ref_field, child = payload
            related = org.tables[child.sobject.name.lower()].get(record.get(ref_field.name) or "")
            out[key] = None if related is None else _render(child, related, version, org)
    return out


def _createable(sobject: str) -> SObjectDef:
    definition = SCHEMA.get(sobject.lower())
    if definition is None:
        raise RecordError("INVALID_TYPE", f"sObject type '{sobject}' is not supported.")
    if not definition.createable:
        raise RecordError(
            "INVALID_TYPE_FOR_OPERATION", f"entity type {definition.name} does not support insert"
        )
    return definition


def full_name(user: dict[str, Any]) -> str:
    """User.Name as Salesforce composes it (family name first for CJK locales)."""
    first, last = user.get("FirstName") or "", user.get("LastName") or ""
    if str(user.get("LocaleSidKey") or "").startswith(_FAMILY_FIRST):
        return f"{last} {first}".strip()
    return f"{first} {last}".strip()
