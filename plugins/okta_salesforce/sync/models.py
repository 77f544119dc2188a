"""The records the sync core works on: what Okta says and what Salesforce has.

Plain, frozen dataclasses that serialise to JSON-friendly dicts, so that snapshots
and plans can travel through files and XCom and be read back unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any


@dataclass(frozen=True)
class OktaAssignment:
    """One user's assignment to the Salesforce app in Okta (or its absence, for incremental runs).

    :param okta_user_id: the Okta user id (``00u...``).
    :param login: the Okta login (``profile.login``).
    :param app_username: the username for the app (``credentials.userName`` of the app user).
    :param assignment_status: the app user's ``status`` as Okta reports it (``ACTIVE``,
        ``PROVISIONED``, ``DEPROVISIONED``, ... or a value we do not know; kept verbatim).
    :param scope: ``USER`` (direct) or ``GROUP`` (through a group assignment).
    :param user_status: the Okta user's own ``status`` (``ACTIVE``, ``SUSPENDED``, ...).
    :param profile: the Okta user profile merged with the app user profile (app profile wins),
        holding at least the attributes the field mapping reads.
    :param assigned: False for a user whose assignment was removed (incremental runs report them).
    :param groups: names of the user's Okta groups, among those the config reads (``okta.groups``
        and groups named in rules); the mapping sees them as the attribute ``groups``.
    """

    okta_user_id: str
    login: str
    app_username: str
    assignment_status: str
    scope: str
    user_status: str
    profile: dict[str, Any] = field(default_factory=dict)
    assigned: bool = True
    groups: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        data = _shallow(self)
        data["profile"] = dict(self.profile)
        data["groups"] = list(self.groups)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> OktaAssignment:
        values = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        values["groups"] = tuple(values.get("groups", ()))
        return cls(**values)


@dataclass(frozen=True)
class SalesforceUser:
    """A Salesforce User row as read by SOQL, with the fields the mapping and matching use.

    :param fields: every queried User field by API name (``Username``, ``Email``,
        ``FederationIdentifier``, ``ProfileId``, ``Department``, ...).
    :param is_frozen: ``UserLogin.IsFrozen`` for this user.
    :param user_login_id: the id of the user's ``UserLogin`` row, when it was read (freezing
        writes to it; the writer looks it up when it is missing).
    """

    id: str
    username: str
    is_active: bool
    fields: dict[str, Any] = field(default_factory=dict)
    is_frozen: bool = False
    user_login_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data = _shallow(self)
        data["fields"] = dict(self.fields)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SalesforceUser:
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


class ActionKind(StrEnum):
    """What the plan does for one user."""

    CREATE = "create"
    ACTIVATE = "activate"
    UPDATE = "update"
    DEACTIVATE = "deactivate"
    FREEZE = "freeze"
    UNFREEZE = "unfreeze"
    ENTITLE = "entitle"
    SKIP = "skip"
    ERROR = "error"


#: Kinds that write to Salesforce.
WRITE_KINDS = frozenset(
    {
        ActionKind.CREATE,
        ActionKind.ACTIVATE,
        ActionKind.UPDATE,
        ActionKind.DEACTIVATE,
        ActionKind.FREEZE,
        ActionKind.UNFREEZE,
        ActionKind.ENTITLE,
    }
)
#: Kinds that take access away (counted by the deactivation guard).
DEPROVISION_KINDS = frozenset({ActionKind.DEACTIVATE, ActionKind.FREEZE})


@dataclass(frozen=True)
class FieldError:
    """Why one field of one record is wrong.

    :param field: the Salesforce field (or mapping key) at fault; empty when the record as a whole is.
    :param message: a sentence for an administrator; never holds secrets.
    """

    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message


@dataclass(frozen=True)
class Action:
    """One step of a plan, with the reason for it.

    :param kind: what to do.
    :param login: the Okta login, or the Salesforce username for a user no Okta user matched.
    :param okta_user_id: the Okta user id, when the action comes from an Okta assignment.
    :param salesforce_id: the Salesforce User id (None for a create).
    :param username: the Salesforce username the action is about (the new one for a create).
    :param fields: the User fields to write (for a create, all of them; for an update or an
        activation, only the changed ones). Reference fields such as ``ProfileId`` hold the
        record's *name*; the writer resolves names to ids.
    :param changes: for updates and activations, ``{field: {"old": ..., "new": ...}}``.
    :param reason: why, in one sentence.
    :param errors: for ``error`` actions, what is wrong, field by field.
    :param warnings: values that were replaced by a default, and similar notes.
    :param permission_sets: permission set names to assign (creates and activations).
    :param user_login_id: the ``UserLogin`` id for freeze and unfreeze, when known.
    :param entitlements: for ``entitle`` actions, the assignments to make and remove, each
        ``{"op": "assign"|"remove", "type": "permission_set"|"permission_set_group"|
        "permission_set_license", "name": ..., "id": <assignment id, for removals>, "reason": ...}``;
        an ``entitle`` action's ``fields`` hold second-pass User fields (``ManagerId`` by login).
    """

    kind: ActionKind
    login: str
    okta_user_id: str | None = None
    salesforce_id: str | None = None
    username: str | None = None
    fields: dict[str, Any] = field(default_factory=dict)
    changes: dict[str, dict[str, Any]] = field(default_factory=dict)
    reason: str = ""
    errors: tuple[FieldError, ...] = ()
    warnings: tuple[str, ...] = ()
    permission_sets: tuple[str, ...] = ()
    user_login_id: str | None = None
    entitlements: tuple[dict[str, str], ...] = ()

    def refused(self, errors: Iterable[FieldError], reason: str) -> Action:
        """An ``error`` action about this action's user (same login and ids) instead of this one."""
        return Action(
            kind=ActionKind.ERROR,
            login=self.login,
            okta_user_id=self.okta_user_id,
            salesforce_id=self.salesforce_id,
            username=self.username,
            errors=tuple(errors),
            reason=reason,
        )

    def to_dict(self) -> dict[str, Any]:
        # Spelled out (in field order) rather than copied field by field: once per user per plan.
        return {
            "kind": str(self.kind),
            "login": self.login,
            "okta_user_id": self.okta_user_id,
            "salesforce_id": self.salesforce_id,
            "username": self.username,
            "fields": dict(self.fields),
            "changes": {name: dict(change) for name, change in self.changes.items()},
            "reason": self.reason,
            "errors": [{"field": e.field, "message": e.message} for e in self.errors],
            "warnings": list(self.warnings),
            "permission_sets": list(self.permission_sets),
            "user_login_id": self.user_login_id,
            "entitlements": [dict(e) for e in self.entitlements],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Action:
        values = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        values["kind"] = ActionKind(values["kind"])
        values["errors"] = tuple(FieldError(**e) for e in values.get("errors", ()))
        values["warnings"] = tuple(values.get("warnings", ()))
        values["permission_sets"] = tuple(values.get("permission_sets", ()))
        values["entitlements"] = tuple(dict(e) for e in values.get("entitlements", ()))
        return cls(**values)


@dataclass(frozen=True)
class GuardResult:
    """What the deactivation guard decided.

    :param tripped: True when the planned deprovisioning went over a threshold.
    :param allowed: True when the admin's setting let the run's ``allow_mass_deactivation``
        through (``guards.trust_allow_mass_deactivation_param``); no approval is needed then.
    :param deprovisions: how many deactivations/freezes the plan wanted.
    :param managed_active: how many managed, active Salesforce users the plan considered.
    :param message: the explanation shown to the operator.
    """

    tripped: bool
    allowed: bool
    deprovisions: int
    managed_active: int
    message: str = ""

    @property
    def blocked(self) -> bool:
        """True when deprovisioning needs an approval of this plan before it is written."""
        return self.tripped and not self.allowed


@dataclass(frozen=True)
class Plan:
    """The whole plan: actions in order, and the guard's verdict.

    :param actions: every action, including skips and errors (reports show them all).
    :param incremental: True when only a subset of users was considered.
    :param guard: the deactivation guard's verdict.
    :param plan_id: the plan's fingerprint (:func:`okta_salesforce.sync.guards.plan_fingerprint`),
        which an approval must name; empty for a plan not made for writing.
    :param planned_at: when the plan was made (ISO 8601, UTC); the writer refuses to
        deprovision from a plan older than ``guards.max_plan_age_minutes``.
    """

    actions: tuple[Action, ...]
    incremental: bool = False
    guard: GuardResult | None = None
    plan_id: str = ""
    planned_at: str = ""

    @property
    def writes(self) -> list[Action]:
        """The actions that write to Salesforce."""
        return [a for a in self.actions if a.kind in WRITE_KINDS]

    @property
    def errors(self) -> list[Action]:
        return [a for a in self.actions if a.kind is ActionKind.ERROR]

    def summary(self) -> dict[str, int]:
        """Count of actions by kind (every kind present, zeros included)."""
        counts = dict.fromkeys((str(k) for k in ActionKind), 0)
        for action in self.actions:
            counts[str(action.kind)] += 1
        return counts

    def to_dict(self) -> dict[str, Any]:
        return {
            "actions": [a.to_dict() for a in self.actions],
            "incremental": self.incremental,
            "guard": asdict(self.guard) if self.guard else None,
            "plan_id": self.plan_id,
            "planned_at": self.planned_at,
            "summary": self.summary(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Plan:
        guard = data.get("guard")
        return cls(
            actions=tuple(Action.from_dict(a) for a in data.get("actions", ())),
            incremental=bool(data.get("incremental", False)),
            guard=GuardResult(**guard) if guard else None,
            plan_id=str(data.get("plan_id") or ""),
            planned_at=str(data.get("planned_at") or ""),
        )


@dataclass(frozen=True)
class Outcome:
    """What happened to one record when a plan was applied.

    :param login: the Okta login (or Salesforce username) of the action.
    :param action: the action kind that was attempted.
    :param success: True when Salesforce accepted the write (or nothing needed writing).
    :param salesforce_id: the User id (the new one for a create).
    :param error_code: Salesforce's ``statusCode`` (e.g. ``DUPLICATE_USERNAME``) or one of ours
        (``INVALID_INPUT``, ``UNKNOWN_REFERENCE``, ``API_BUDGET``, ``NOT_ATTEMPTED``,
        ``REQUEST_FAILED``, ``GUARD_TRIPPED``, ``PLAN_EXPIRED``).
    :param message: the error message, or a note on success (``linked to existing user``).
    :param fields: the fields the error names.
    """

    login: str
    action: str
    success: bool
    salesforce_id: str | None = None
    error_code: str | None = None
    message: str = ""
    fields: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        data = _shallow(self)
        data["fields"] = list(self.fields)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Outcome:
        values = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        values["fields"] = tuple(values.get("fields", ()))
        return cls(**values)


@dataclass(frozen=True)
class DirectoryInfo:
    """Names of Salesforce setup records resolved to ids once per run.

    :param profiles: Profile name → id.
    :param roles: UserRole name → id.
    :param permission_sets: PermissionSet API name → id.
    :param picklists: User field → the values its restricted picklist accepts in this org
        (from ``describe``; the mapping validates against them when present).
    :param profile_user_types: Profile name → ``Profile.UserType`` (from the profile's license).
    :param permission_set_groups: PermissionSetGroup ``DeveloperName`` → id.
    :param permission_set_licenses: PermissionSetLicense ``DeveloperName`` → id.
    :param permission_set_license_needs: PermissionSet name → the ``DeveloperName`` of the
        permission set license it needs (only permission sets that need one).
    :param user_fields: User field → its ``describe`` type, for the mapped fields the org's
        describe was read for (empty when describe was not read).
    """

    profiles: dict[str, str] = field(default_factory=dict)
    roles: dict[str, str] = field(default_factory=dict)
    permission_sets: dict[str, str] = field(default_factory=dict)
    picklists: dict[str, list[str]] = field(default_factory=dict)
    profile_user_types: dict[str, str] = field(default_factory=dict)
    permission_set_groups: dict[str, str] = field(default_factory=dict)
    permission_set_licenses: dict[str, str] = field(default_factory=dict)
    permission_set_license_needs: dict[str, str] = field(default_factory=dict)
    user_fields: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DirectoryInfo:
        return cls(**{k: dict(data.get(k, {})) for k in cls.__dataclass_fields__})


def _shallow(record: Any) -> dict[str, Any]:
    """A dataclass's fields as a dict, without ``asdict``'s recursive deep copy.

    ``to_dict`` runs once per user per task (100k users: millions of ``asdict`` calls); each
    caller copies the containers it owns instead.
    """
    return {name: getattr(record, name) for name in record.__dataclass_fields__}
