"""One user's actions: what the plan does for an Okta user and the Salesforce user it matched.

:class:`Decisions` holds the rules of :func:`~okta_salesforce.sync.plan.build_plan` for a single
user, so that the plan can be computed in a streaming pass (:mod:`okta_salesforce.sync.plan_store`
holds everything else on disk): in scope (activate, update, unfreeze, skip, or a create to make),
out of scope (deprovision or skip), a create's checks and generated identity, and the directory
check of unknown Profile/UserRole/PermissionSet names.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import MISSING, replace
from dataclasses import fields as dataclass_fields
from typing import TYPE_CHECKING, Any

from okta_salesforce.sync.config import DeprovisioningMode
from okta_salesforce.sync.diff import diff
from okta_salesforce.sync.fields import USER_FIELDS
from okta_salesforce.sync.managed_profiles import check_mapped_profiles, unmanaged_after_write
from okta_salesforce.sync.mapping import IdentityAllocator, MappedUser, Mapper
from okta_salesforce.sync.models import Action, ActionKind, FieldError
from okta_salesforce.sync.scoping import ManagedFilter

if TYPE_CHECKING:
    from okta_salesforce.sync.config import SyncConfig
    from okta_salesforce.sync.models import DirectoryInfo, OktaAssignment, SalesforceUser

WRITES = (ActionKind.CREATE, ActionKind.ACTIVATE, ActionKind.UPDATE)


class Decisions:
    """The per-user rules of a plan.

    :param config: the sync config.
    :param directory: resolved setup names; with it, unknown names become errors at plan time.
    :raises ConfigError: with ``directory``, when the mapping gives a profile the managed filter excludes.
    """

    def __init__(self, config: SyncConfig, directory: DirectoryInfo | None) -> None:
        self.config = config
        self.directory = directory
        self.mapper = Mapper(config, directory.picklists if directory else None)
        self.managed = ManagedFilter(config.managed)
        if directory is not None:  # every user the sync creates must stay managed
            check_mapped_profiles(directory.profile_user_types, config)
        self.mode = DeprovisioningMode(config.deprovisioning.mode)
        self.always = self.mapper.always
        self._tables = (
            {"Profile": directory.profiles, "UserRole": directory.roles} if directory is not None else {}
        )

    # In scope ------------------------------------------------------------------------
    def in_scope(self, assignment: OktaAssignment, user: SalesforceUser | None) -> list[Action] | MappedUser:
        """The actions for an in-scope user, or the mapped user to create when nobody matched."""
        mapped = self.mapper.map(assignment)
        if user is None:
            return mapped
        unmanaged = self.managed.reason(user)
        if unmanaged is not None and not self.managed.adoptable(user):
            return [
                action(
                    ActionKind.SKIP,
                    assignment,
                    user,
                    reason=f"matched Salesforce user is not managed: {unmanaged}",
                )
            ]
        errors = [e for e in mapped.errors if e.field in self.always]
        if errors:
            return [error(assignment, errors, "the Okta profile has invalid values", user)]
        changes = diff(user, mapped.values, self.always)
        fields = {k: v["new"] for k, v in changes.items()}
        adopted = " (adopting a user that had no FederationIdentifier)" if unmanaged else ""
        actions = []
        if not user.is_active:
            changes = {"IsActive": {"old": False, "new": True}, **changes}
            actions.append(
                action(
                    ActionKind.ACTIVATE,
                    assignment,
                    user,
                    fields={"IsActive": True, **fields},
                    changes=changes,
                    reason=f"assigned in Okta and inactive in Salesforce{adopted}",
                    warnings=mapped.warnings,
                    permission_sets=mapped.permission_sets,
                )
            )
        elif changes:
            actions.append(
                action(
                    ActionKind.UPDATE,
                    assignment,
                    user,
                    fields=fields,
                    changes=changes,
                    reason=f"{', '.join(changes)} changed in Okta{adopted}",
                    warnings=mapped.warnings,
                )
            )
        if user.is_frozen and self.config.deprovisioning.unfreeze_assigned:
            actions.append(
                action(
                    ActionKind.UNFREEZE,
                    assignment,
                    user,
                    fields={"IsFrozen": False},
                    changes={"IsFrozen": {"old": True, "new": False}},
                    reason="assigned in Okta and frozen in Salesforce",
                )
            )
        if not actions:
            actions.append(action(ActionKind.SKIP, assignment, user, reason="in sync"))
        return actions

    def create(
        self,
        assignment: OktaAssignment,
        mapped: MappedUser,
        *,
        taken_by: Callable[[str], str | None],
        wanted: Callable[[str], int],
        allocator: IdentityAllocator,
    ) -> Action:
        """The create of an Okta user no Salesforce user matched (creates go in login order).

        :param taken_by: the id of the Salesforce user holding a (case-folded) username, or None.
        :param wanted: how many creates of this plan map to a (case-folded) username.
        :param allocator: generates unused aliases and nicknames.
        """
        errors = list(mapped.errors) + self.mapper.required_errors(mapped)
        username = mapped.values.get("Username")
        if username:
            taken = taken_by(str(username).casefold())
            if taken is not None:
                errors.append(
                    FieldError(
                        "Username",
                        f"{username!r} already belongs to Salesforce user {taken}, which no matching "
                        "rule linked to this Okta user",
                    )
                )
            elif wanted(str(username).casefold()) > 1:
                errors.append(FieldError("Username", f"{username!r} is mapped from more than one Okta user"))
        if errors:
            return error(assignment, errors, "cannot create the Salesforce user")
        values = dict(mapped.values)
        if "Alias" in self.mapper.generated:
            values["Alias"] = allocator.alias(assignment.login, values)
        if "CommunityNickname" in self.mapper.generated:
            values["CommunityNickname"] = allocator.nickname(assignment.login, values)
        return Action(
            kind=ActionKind.CREATE,
            login=assignment.login,
            okta_user_id=assignment.okta_user_id,
            username=values.get("Username"),
            fields=values,
            reason="assigned in Okta and not found in Salesforce",
            warnings=mapped.warnings,
            permission_sets=mapped.permission_sets,
        )

    # Out of scope --------------------------------------------------------------------
    def out_of_scope(self, assignment: OktaAssignment, user: SalesforceUser | None, why: str) -> Action:
        """A user out of scope: deprovision the matched managed user, or skip."""
        if user is None:
            return action(ActionKind.SKIP, assignment, None, reason=f"{why}; no Salesforce user")
        unmanaged = self.managed.reason(user)
        if unmanaged is not None:
            return action(
                ActionKind.SKIP,
                assignment,
                user,
                reason=f"{why}; Salesforce user is not managed: {unmanaged}",
            )
        return self.deprovision(user, assignment.login, assignment.okta_user_id, why)

    def deprovision(self, user: SalesforceUser, login: str, okta_user_id: str | None, why: str) -> Action:
        """Deactivate or freeze ``user`` (``deprovisioning.mode``), or skip when already done."""
        base: dict[str, Any] = {
            "login": login,
            "okta_user_id": okta_user_id,
            "salesforce_id": user.id,
            "username": user.username,
            "user_login_id": user.user_login_id,
        }
        if not user.is_active:
            return Action(kind=ActionKind.SKIP, reason=f"{why}; already inactive", **base)
        if self.mode is DeprovisioningMode.FREEZE:
            if user.is_frozen:
                return Action(kind=ActionKind.SKIP, reason=f"{why}; already frozen", **base)
            return Action(
                kind=ActionKind.FREEZE,
                fields={"IsFrozen": True},
                changes={"IsFrozen": {"old": False, "new": True}},
                reason=why,
                **base,
            )
        return Action(
            kind=ActionKind.DEACTIVATE,
            fields={"IsActive": False},
            changes={"IsActive": {"old": True, "new": False}},
            reason=why,
            **base,
        )

    # References ----------------------------------------------------------------------
    def resolve(self, planned: Action) -> Action:
        """With directory info, a write naming an unknown Profile/UserRole/PermissionSet becomes an error."""
        directory = self.directory
        if directory is None or planned.kind not in WRITES:  # only a write becomes an error
            return planned
        tables = self._tables
        errors = []
        for target, value in planned.fields.items():
            spec = USER_FIELDS.get(target)
            if spec and spec.references in tables and value not in tables[spec.references]:
                errors.append(FieldError(target, f"no {spec.references} named {value!r} in Salesforce"))
        errors.extend(
            FieldError("permission_sets", f"no PermissionSet named {name!r} in Salesforce")
            for name in planned.permission_sets
            if name not in directory.permission_sets
        )
        if planned.kind in WRITES and not errors:
            creating = planned.kind is ActionKind.CREATE
            unmanaged = unmanaged_after_write(
                planned.fields, directory.profile_user_types, self.managed, creating=creating
            )
            if unmanaged:
                errors.append(FieldError(unmanaged[0], f"the user would not be managed: {unmanaged[1]}"))
        if errors and planned.kind in WRITES:
            return replace(
                planned, kind=ActionKind.ERROR, errors=tuple(errors), reason="unknown reference", fields={}
            )
        return planned


def action(
    kind: ActionKind, assignment: OktaAssignment, user: SalesforceUser | None, **kwargs: Any
) -> Action:
    """An action about ``assignment``'s user and the Salesforce user it matched (if any).

    Built as ``Action(...)`` would build it, without the frozen dataclass's ``__init__`` (one
    ``object.__setattr__`` per field, for every user of every plan)."""
    if not kwargs.keys() <= _ACTION_FIELDS.keys():
        raise TypeError(f"Action has no field {sorted(kwargs.keys() - _ACTION_FIELDS.keys())}")
    values = dict(_ACTION_FIELDS)
    values["kind"] = kind
    values["login"] = assignment.login
    values["okta_user_id"] = assignment.okta_user_id or None
    if user is not None:
        values["salesforce_id"] = user.id
        values["username"] = user.username
        values["user_login_id"] = user.user_login_id
    values["fields"] = {}
    values["changes"] = {}
    values.update(kwargs)
    record = object.__new__(Action)
    record.__dict__.update(values)
    return record


#: Every field of :class:`Action` in order, with its default (``fields`` and ``changes``: a new dict each).
_ACTION_FIELDS: dict[str, Any] = {
    f.name: None if f.default is MISSING else f.default for f in dataclass_fields(Action)
}


def error(
    assignment: OktaAssignment, errors: list[FieldError], reason: str, user: SalesforceUser | None = None
) -> Action:
    """An ``error`` action listing ``errors`` field by field."""
    detail = "; ".join(str(e) for e in errors)
    return action(
        ActionKind.ERROR,
        assignment,
        user,
        errors=tuple(errors),
        reason=f"{reason} for {assignment.login}: {detail}",
    )
