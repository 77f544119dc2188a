"""Read Salesforce state with a simple-salesforce client: setup records, users, freeze flags.

:func:`resolve_directory` turns Profile, UserRole and PermissionSet names into ids (one small
query each, once per run), reads each profile's ``UserType`` and the org's restricted picklist
values from ``describe``.
:func:`read_salesforce` reads the users a plan needs: every user for a full run, or only the
users the given Okta assignments could match (chunked ``IN`` queries on each matching field)
for an incremental run. Every value placed in SOQL is escaped by :mod:`okta_salesforce.sync.soql`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from okta_salesforce.sync.entitlement_reader import (
    CurrentEntitlements,
    read_entitlements,
    resolve_entitlement_names,
)
from okta_salesforce.sync.expressions import assignment_context
from okta_salesforce.sync.fields import USER_FIELDS, FieldType, reference_name_field
from okta_salesforce.sync.managers import manager_probes
from okta_salesforce.sync.models import DirectoryInfo, SalesforceUser
from okta_salesforce.sync.soql import URI_MAX, URI_TARGET, in_queries

if TYPE_CHECKING:
    from simple_salesforce import Salesforce

    from okta_salesforce.sync.config import SyncConfig
    from okta_salesforce.sync.models import OktaAssignment
    from okta_salesforce.sync.progress import Progress

log = logging.getLogger(__name__)
_API_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)?$")

#: User fields always read, whatever the mapping says.
BASE_USER_FIELDS = (
    "Id",
    "Username",
    "IsActive",
    "FederationIdentifier",
    "Email",
    "FirstName",
    "LastName",
    "Alias",
    "CommunityNickname",
    "ProfileId",
    "UserRoleId",
    "UserType",
)


@dataclass(frozen=True)
class SalesforceSnapshot:
    """What :func:`read_salesforce` returns.

    :param users: the Salesforce users read.
    :param directory: resolved setup names and picklists.
    :param partial: True when only the users some assignments could match were read.
    :param entitlements: the managed entitlements the users read hold (empty without
        ``entitlements`` rules).
    """

    users: list[SalesforceUser]
    directory: DirectoryInfo
    partial: bool = False
    entitlements: CurrentEntitlements | None = None


def user_fields(config: SyncConfig, extra: Iterable[str] = ()) -> list[str]:
    """The User fields to query: the base fields, mapped fields and matching fields (and ``extra``)."""
    wanted = list(BASE_USER_FIELDS)
    filtered = [f.attribute for f in config.managed.filters]
    names = [m.target for m in config.mapping] + [r.salesforce for r in config.matching] + filtered
    for name in [*names, *extra]:
        if name not in wanted:
            wanted.append(name)
    return wanted


def user_select(config: SyncConfig, extra: Iterable[str] = ()) -> str:
    """``SELECT <fields> FROM User``; field names come from the validated config, never from data."""
    names = user_fields(config, extra)
    if not all(_API_NAME.match(n) for n in names):
        raise ValueError("invalid field name in the User select list")
    return f"SELECT {', '.join(names)} FROM User"  # noqa: S608 - API names checked above, no values


def _uri_prefix_len(sf: Salesforce) -> int:
    return len(getattr(sf, "base_url", "")) + len("query/?q=")


#: Bytes kept free beside the URI and the client's own headers: the request line's method and
#: version, ``Host``, and anything a proxy or the HTTP library adds on the way.
REQUEST_ALLOWANCE = 1_024


def header_bytes(sf: Salesforce) -> int:
    """The bytes of the headers a simple-salesforce client sends with a query (``Name: value``, CRLF)."""
    session = getattr(getattr(sf, "session", None), "headers", None) or {}
    merged = {**dict(session), **dict(getattr(sf, "headers", None) or {})}
    return sum(len(str(k)) + len(str(v)) + 4 for k, v in merged.items())


def bulk_uri_target(sf: Salesforce) -> int:
    """The longest query URI ``sf`` may send: Salesforce allows 16,384 bytes of URI plus headers.

    Salesforce suggests URIs near 2,000 characters (:data:`~okta_salesforce.sync.soql.URI_TARGET`)
    for interactive use; a bulk read of known ids fills the documented limit instead, less this
    client's headers (a JWT-based access token is long) and :data:`REQUEST_ALLOWANCE`.
    """
    return max(URI_MAX - header_bytes(sf) - REQUEST_ALLOWANCE, URI_TARGET)


def _records(sf: Salesforce, statement: str) -> Iterator[dict[str, Any]]:
    for record in sf.query_all_iter(statement):
        record.pop("attributes", None)
        yield record


def resolve_directory(sf: Salesforce, config: SyncConfig) -> DirectoryInfo:
    """Resolve Profile, UserRole and PermissionSet names to ids, and read User picklists.

    :param sf: a simple-salesforce client.
    :param config: the sync config (its mapped picklist fields are described).
    """
    profile_rows = list(_records(sf, "SELECT Id, Name, UserType FROM Profile"))
    profiles = {r["Name"]: r["Id"] for r in profile_rows}
    # Roles and permission sets cost a query each; read them only when the config uses them.
    roles = (
        {r["Name"]: r["Id"] for r in _records(sf, "SELECT Id, Name FROM UserRole")}
        if config.field("UserRoleId")
        else {}
    )
    entitlements = resolve_entitlement_names(sf, config)
    permission_sets = (
        {
            r["Name"]: r["Id"]
            for r in _records(sf, "SELECT Id, Name FROM PermissionSet WHERE IsOwnedByProfile = false")
        }
        if config.permission_sets and not entitlements
        else entitlements.pop("permission_sets", {})
    )
    described = _describe_user(sf, config)
    return DirectoryInfo(
        profiles=profiles,
        roles=roles,
        permission_sets=permission_sets,
        picklists=_picklists(described, config),
        profile_user_types={r["Name"]: r["UserType"] for r in profile_rows if r.get("UserType")},
        user_fields={
            f["name"]: str(f.get("type", ""))
            for f in (described or {}).get("fields", [])
            if config.field(f.get("name", "")) is not None
        },
        **entitlements,
    )


def _describe_user(sf: Salesforce, config: SyncConfig) -> dict[str, Any] | None:
    """``sobjects/User/describe`` when the mapping has picklist or feature-license fields, else None."""
    wanted = {
        m.target
        for m in config.mapping
        if (spec := USER_FIELDS.get(m.target)) is not None
        and spec.type in (FieldType.PICKLIST, FieldType.BOOLEAN)
    }
    if not wanted:
        return None
    try:
        return sf.restful("sobjects/User/describe") or {}
    except Exception as exc:  # noqa: BLE001 - describe is an optimisation; the built-in lists remain
        log.warning(
            "Could not describe User (%s); validating picklists with built-in lists", type(exc).__name__
        )
        return None


def _picklists(described: dict[str, Any] | None, config: SyncConfig) -> dict[str, list[str]]:
    """Restricted picklist values of the mapped picklist fields, from ``sobjects/User/describe``."""
    wanted = {
        m.target
        for m in config.mapping
        if (spec := USER_FIELDS.get(m.target)) is not None and spec.type is FieldType.PICKLIST
    }
    if not wanted or not described:
        return {}
    out = {}
    for f in described.get("fields", []):
        if f.get("name") in wanted and f.get("restrictedPicklist"):
            out[f["name"]] = [v["value"] for v in f.get("picklistValues", []) if v.get("active", True)]
    return out


def read_salesforce(
    sf: Salesforce,
    config: SyncConfig,
    assignments: Iterable[OktaAssignment] | None = None,
    *,
    directory: DirectoryInfo | None = None,
    progress: Progress | None = None,
) -> SalesforceSnapshot:
    """Read the Salesforce users a plan needs.

    :param sf: a simple-salesforce client.
    :param config: the sync config (which fields to read, how users are matched).
    :param assignments: for an incremental run, the Okta assignments considered: only the users
        they could match (by any matching rule) are read. None reads every user.
    :param directory: already-resolved setup names (resolved here when None).
    :param progress: counts the users read (progress lines every few thousand).
    """
    directory = directory or resolve_directory(sf, config)
    select = user_select(config)
    if assignments is None:
        users = list(iter_users(sf, config, directory, progress=progress))
        frozen = frozen_user_logins(sf)
        users = [_with_login(u, frozen[u.id], is_frozen=True) if u.id in frozen else u for u in users]
        entitlements = read_entitlements(sf, config, directory)
        return SalesforceSnapshot(users=users, directory=directory, entitlements=entitlements)

    assignments = list(assignments)
    contexts = [assignment_context(a) for a in assignments] + manager_probes(assignments, config)
    reader = _UserReader(directory)
    by_id: dict[str, SalesforceUser] = {}
    prefix = _uri_prefix_len(sf)
    for rule in config.matching:
        values = [str(c[rule.okta]).strip() for c in contexts if c.get(rule.okta) not in (None, "")]
        for statement in in_queries(select, rule.salesforce, values, uri_prefix_len=prefix):
            for record in _records(sf, statement):
                if record["Id"] not in by_id:
                    by_id[record["Id"]] = reader(record)
                    if progress is not None:
                        progress.add()
    logins: dict[str, tuple[str, bool]] = {}
    for statement in in_queries(
        "SELECT Id, UserId, IsFrozen FROM UserLogin", "UserId", by_id, uri_prefix_len=prefix
    ):
        for record in _records(sf, statement):
            logins[record["UserId"]] = (record["Id"], bool(record["IsFrozen"]))
    users = [_with_login(u, *logins[u.id]) if u.id in logins else u for u in by_id.values()]
    entitlements = read_entitlements(sf, config, directory, by_id)
    return SalesforceSnapshot(users=users, directory=directory, partial=True, entitlements=entitlements)


def iter_users(
    sf: Salesforce, config: SyncConfig, directory: DirectoryInfo, *, progress: Progress | None = None
) -> Iterator[SalesforceUser]:
    """Every Salesforce user, streamed page by page (without freeze state: see :func:`frozen_user_logins`)."""
    records: Iterable[dict[str, Any]] = _records(sf, user_select(config))
    if progress is not None:
        records = progress.iterate(records)
    reader = _UserReader(directory)
    for record in records:
        yield reader(record)


def frozen_user_logins(sf: Salesforce) -> dict[str, str]:
    """User id → ``UserLogin`` id of every frozen user (one query)."""
    return {
        r["UserId"]: r["Id"] for r in _records(sf, "SELECT Id, UserId FROM UserLogin WHERE IsFrozen = true")
    }


def user_login_ids(sf: Salesforce, user_ids: Iterable[str]) -> dict[str, str]:
    """``UserLogin`` ids of the given users (freezing writes to UserLogin)."""
    prefix = _uri_prefix_len(sf)
    out = {}
    for statement in in_queries(
        "SELECT Id, UserId FROM UserLogin", "UserId", user_ids, uri_prefix_len=prefix
    ):
        for record in _records(sf, statement):
            out[record["UserId"]] = record["Id"]
    return out


def users_by_username(
    sf: Salesforce, config: SyncConfig, usernames: Iterable[str], directory: DirectoryInfo
) -> dict[str, SalesforceUser]:
    """Users with the given usernames, keyed by lower-cased username."""
    select = user_select(config)
    out = {}
    reader = _UserReader(directory)
    for statement in in_queries(select, "Username", usernames, uri_prefix_len=_uri_prefix_len(sf)):
        for record in _records(sf, statement):
            user = reader(record)
            out[user.username.lower()] = user
    return out


def users_by_id(
    sf: Salesforce,
    config: SyncConfig,
    user_ids: Iterable[str],
    directory: DirectoryInfo,
    *,
    uri_target: int = URI_TARGET,
    extra_fields: Iterable[str] = (),
) -> dict[str, SalesforceUser]:
    """The current state of the given users (fields, ``IsActive``, frozen flag), keyed by id.

    An id that is not returned no longer exists (or is not visible to the integration user).

    :param uri_target: the longest query URI to send (:func:`bulk_uri_target` for large reads).
    :param extra_fields: User fields to read beside the config's (e.g. ``LastModifiedDate``).
    """
    prefix = _uri_prefix_len(sf)
    reader = _UserReader(directory)
    out: dict[str, SalesforceUser] = {}
    select = user_select(config, extra_fields)
    for statement in in_queries(select, "Id", user_ids, uri_prefix_len=prefix, uri_target=uri_target):
        for record in _records(sf, statement):
            out[record["Id"]] = reader(record)
    for statement in in_queries(
        "SELECT Id, UserId, IsFrozen FROM UserLogin",
        "UserId",
        out,
        uri_prefix_len=prefix,
        uri_target=uri_target,
    ):
        for record in _records(sf, statement):
            if record["UserId"] in out:
                user = out[record["UserId"]]
                out[user.id] = _with_login(user, record["Id"], bool(record["IsFrozen"]))
    return out


class _UserReader:
    """Turns User records into :class:`SalesforceUser`, adding ``Profile.Name`` and ``UserRole.Name``."""

    def __init__(self, directory: DirectoryInfo) -> None:
        self.names = {
            "ProfileId": {v: k for k, v in directory.profiles.items()},
            "UserRoleId": {v: k for k, v in directory.roles.items()},
        }

    def __call__(self, record: dict[str, Any]) -> SalesforceUser:
        return _user(record, self.names)


def _user(record: dict[str, Any], names: dict[str, dict[str, str]]) -> SalesforceUser:
    fields = dict(record)
    for target, table in names.items():
        name_field = reference_name_field(target)
        if name_field and fields.get(target):
            fields[name_field] = table.get(fields[target])
    return SalesforceUser(
        id=record["Id"],
        username=record.get("Username") or "",
        is_active=bool(record.get("IsActive")),
        fields=fields,
    )


def _with_login(user: SalesforceUser, login_id: str | None, is_frozen: bool) -> SalesforceUser:
    from dataclasses import replace

    return replace(user, user_login_id=login_id, is_frozen=is_frozen)
