"""The plan: what to do in Salesforce for each user, and why.

:func:`build_plan` diffs what Okta says (assignments) against what Salesforce has (users) and
returns a :class:`~okta_salesforce.sync.models.Plan`, a plain list of actions:

* ``create``: in scope, no Salesforce user matched; every mapped field;
* ``activate``: in scope, matched an inactive managed user; ``IsActive`` plus changed fields;
* ``update``: in scope, matched an active managed user whose always-applied fields differ; only
  the changed fields;
* ``unfreeze``: in scope, matched a frozen managed user;
* ``deactivate`` or ``freeze`` (``deprovisioning.mode``): a managed active user that no in-scope
  Okta user matches;
* ``skip``: nothing to do, with the reason (in sync, unmanaged, already inactive);
* ``error``: a bad profile, an ambiguous match, a username taken; never written.

Building a plan costs O(n) in the number of users (plus sorting the creates).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from okta_salesforce.sync.config import Apply, DeprovisioningMode, Source, SyncConfig
from okta_salesforce.sync.fields import USER_FIELDS, reference_name_field
from okta_salesforce.sync.guards import check_deactivations
from okta_salesforce.sync.managed_profiles import check_mapped_profiles, unmanaged_after_write
from okta_salesforce.sync.mapping import CASE_INSENSITIVE, IdentityAllocator, MappedUser, Mapper
from okta_salesforce.sync.matching import Matcher
from okta_salesforce.sync.models import (
    DEPROVISION_KINDS,
    Action,
    ActionKind,
    FieldError,
    OktaAssignment,
    Plan,
    SalesforceUser,
)
from okta_salesforce.sync.scoping import ManagedFilter, scope_reason

if TYPE_CHECKING:
    from okta_salesforce.sync.entitlement_reader import CurrentEntitlements
    from okta_salesforce.sync.models import DirectoryInfo

_ORDER = {kind: i for i, kind in enumerate(ActionKind)}
_WRITES = (ActionKind.CREATE, ActionKind.ACTIVATE, ActionKind.UPDATE)


def current_value(user: SalesforceUser, target: str) -> Any:
    """The value of ``target`` as the Salesforce user has it, in the form the mapping produces."""
    if target == "Username":
        return user.username
    name_field = reference_name_field(target)
    return user.fields.get(name_field if name_field else target)


def same_value(target: str, old: Any, new: Any) -> bool:
    """Whether Salesforce would consider ``old`` and ``new`` equal for ``target``."""
    if old in (None, "") and new in (None, ""):
        return True
    if old is None or new is None:
        return False
    if isinstance(old, bool) or isinstance(new, bool):
        return bool(old == new)
    old_s, new_s = str(old).strip(), str(new).strip()
    if target in CASE_INSENSITIVE:
        return old_s.casefold() == new_s.casefold()
    return old_s == new_s


def diff(user: SalesforceUser, desired: dict[str, Any], targets: Iterable[str]) -> dict[str, dict[str, Any]]:
    """``{field: {"old", "new"}}`` for the ``targets`` whose desired value differs.

    A field the mapping gives no value for is left alone (never cleared).
    """
    changes = {}
    for target in targets:
        if target not in desired:
            continue
        old = current_value(user, target)
        new = desired[target]
        if not same_value(target, old, new):
            changes[target] = {"old": old, "new": new}
    return changes


def build_plan(
    assignments: Iterable[OktaAssignment],
    sf_users: Iterable[SalesforceUser],
    config: SyncConfig,
    *,
    users: Sequence[str] | None = None,
    allow_mass_deactivation: bool = False,
    directory: DirectoryInfo | None = None,
    entitlements: CurrentEntitlements | None = None,
) -> Plan:
    """Plan the changes that bring Salesforce in step with the Okta assignments.

    :param assignments: the Okta app assignments (for a full run: every assigned user; users
        whose assignment was removed may be included with ``assigned=False``).
    :param sf_users: the Salesforce users read for this run (every user for a full run).
    :param config: the sync config.
    :param users: Okta logins for an incremental plan: only these users are considered, and a
        login without an assigned, in-scope assignment is deprovisioned if it matches a managed
        user. None plans a full run, where managed users no Okta user matches are deprovisioned.
    :param allow_mass_deactivation: the run's param; it passes the deactivation guard only when
        ``guards.trust_allow_mass_deactivation_param`` is true. The plan keeps its deprovisioning
        actions either way: ``plan.guard`` says whether the writer needs an approval for them.
    :param directory: resolved Profile/UserRole/PermissionSet names; when given, names the
        org does not have become per-record errors at plan time instead of at write time, and a
        create the managed filter would exclude is an error.
    :param entitlements: the managed entitlements users hold
        (:func:`~okta_salesforce.sync.entitlement_reader.read_entitlements`); with ``directory``,
        ``entitle`` actions assign and remove them per the ``entitlements`` rules.
    :raises ConfigError: with ``directory``, when the mapping gives a profile whose user type
        the managed filter excludes (:func:`~okta_salesforce.sync.managed_profiles.check_mapped_profiles`).
    """
    from okta_salesforce.sync.plan_extensions import extend_plan

    assignments, sf_users = list(assignments), list(sf_users)
    plan = _Planner(config, directory).plan(
        assignments, sf_users, users=users, allow_mass_deactivation=allow_mass_deactivation
    )
    return extend_plan(plan, _select(assignments, users), sf_users, config, directory, entitlements)


class _Planner:
    def __init__(self, config: SyncConfig, directory: DirectoryInfo | None) -> None:
        self.config = config
        self.directory = directory
        self.mapper = Mapper(config, directory.picklists if directory else None)
        self.managed = ManagedFilter(config.managed)
        if directory is not None:  # every user the sync creates must stay managed
            check_mapped_profiles(directory.profile_user_types, config)
        self.mode = DeprovisioningMode(config.deprovisioning.mode)
        self.always = self.mapper.always

    def plan(
        self,
        assignments: Iterable[OktaAssignment],
        sf_users: list[SalesforceUser],
        *,
        users: Sequence[str] | None,
        allow_mass_deactivation: bool,
    ) -> Plan:
        incremental = users is not None
        selected = _select(assignments, users)
        matcher = Matcher(self.config.matching, sf_users)
        matches = [(a, matcher.match(a)) for a in selected]
        claims = Counter(m.user.id for _, m in matches if m.user is not None)

        actions: list[Action] = []
        creates: list[tuple[OktaAssignment, MappedUser]] = []
        claimed: set[str] = set()
        considered_active: set[str] = set()
        for assignment, match in matches:
            for user in match.ambiguous:
                claimed.add(user.id)
            if match.user is not None:
                claimed.add(match.user.id)
                if match.user.is_active and self.managed.reason(match.user) is None:
                    considered_active.add(match.user.id)
            out_of_scope = scope_reason(assignment, self.config.scope)
            if match.error:
                actions.append(
                    _error(assignment, [FieldError(match.rule or "", match.error)], "ambiguous match")
                )
            elif match.user is not None and claims[match.user.id] > 1:
                actions.append(
                    _error(
                        assignment,
                        [
                            FieldError(
                                match.rule or "",
                                f"Salesforce user {match.user.username} ({match.user.id}) matches "
                                f"{claims[match.user.id]} Okta users",
                            )
                        ],
                        "ambiguous match",
                        match.user,
                    )
                )
            elif out_of_scope is None:
                action = self._in_scope(assignment, match.user, creates)
                if action:
                    actions.extend(action)
            else:
                actions.append(self._out_of_scope(assignment, match.user, out_of_scope))

        actions.extend(self._creates(creates, sf_users))
        if not incremental:
            for user in sf_users:
                if user.id in claimed:
                    continue
                if self.managed.reason(user) is None and user.is_active:
                    considered_active.add(user.id)
                    actions.append(
                        self._deprovision(user, user.username, None, "no in-scope Okta user matches it")
                    )
        actions = self._resolve(actions)

        deprovisions = sum(1 for a in actions if a.kind in DEPROVISION_KINDS)
        guard = check_deactivations(
            self.config.guards,
            deprovisions,
            len(considered_active),
            incremental=incremental,
            allow_mass_deactivation=allow_mass_deactivation,
        )
        actions.sort(key=lambda a: _ORDER[a.kind])
        return Plan(actions=tuple(actions), incremental=incremental, guard=guard)

    # In scope ------------------------------------------------------------------------
    def _in_scope(
        self,
        assignment: OktaAssignment,
        user: SalesforceUser | None,
        creates: list[tuple[OktaAssignment, MappedUser]],
    ) -> list[Action]:
        mapped = self.mapper.map(assignment)
        if user is None:
            creates.append((assignment, mapped))
            return []
        unmanaged = self.managed.reason(user)
        if unmanaged is not None and not self.managed.adoptable(user):
            return [
                _action(
                    ActionKind.SKIP,
                    assignment,
                    user,
                    reason=f"matched Salesforce user is not managed: {unmanaged}",
                )
            ]
        errors = [e for e in mapped.errors if e.field in self.always]
        if errors:
            return [_error(assignment, errors, "the Okta profile has invalid values", user)]
        changes = diff(user, mapped.values, self.always)
        fields = {k: v["new"] for k, v in changes.items()}
        adopted = " (adopting a user that had no FederationIdentifier)" if unmanaged else ""
        actions = []
        if not user.is_active:
            changes = {"IsActive": {"old": False, "new": True}, **changes}
            actions.append(
                _action(
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
                _action(
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
                _action(
                    ActionKind.UNFREEZE,
                    assignment,
                    user,
                    fields={"IsFrozen": False},
                    changes={"IsFrozen": {"old": True, "new": False}},
                    reason="assigned in Okta and frozen in Salesforce",
                )
            )
        if not actions:
            actions.append(_action(ActionKind.SKIP, assignment, user, reason="in sync"))
        return actions

    def _creates(
        self, creates: list[tuple[OktaAssignment, MappedUser]], sf_users: list[SalesforceUser]
    ) -> list[Action]:
        if not creates:
            return []
        by_username = {u.username.casefold(): u for u in sf_users}
        allocator = IdentityAllocator(
            (str(u.fields.get("Alias") or "") for u in sf_users),
            (str(u.fields.get("CommunityNickname") or "") for u in sf_users),
        )
        wanted = Counter(str(m.values.get("Username", "")).casefold() for _, m in creates)
        actions = []
        for assignment, mapped in sorted(creates, key=lambda c: c[0].login.casefold()):
            errors = list(mapped.errors) + self.mapper.required_errors(mapped)
            username = mapped.values.get("Username")
            if username:
                taken = by_username.get(str(username).casefold())
                if taken is not None:
                    errors.append(
                        FieldError(
                            "Username",
                            f"{username!r} already belongs to Salesforce user {taken.id}, which no matching "
                            "rule linked to this Okta user",
                        )
                    )
                elif wanted[str(username).casefold()] > 1:
                    errors.append(
                        FieldError("Username", f"{username!r} is mapped from more than one Okta user")
                    )
            if errors:
                actions.append(_error(assignment, errors, "cannot create the Salesforce user"))
                continue
            values = dict(mapped.values)
            if "Alias" in self.mapper.generated:
                values["Alias"] = allocator.alias(assignment.login, values)
            if "CommunityNickname" in self.mapper.generated:
                values["CommunityNickname"] = allocator.nickname(assignment.login, values)
            actions.append(
                Action(
                    kind=ActionKind.CREATE,
                    login=assignment.login,
                    okta_user_id=assignment.okta_user_id,
                    username=values.get("Username"),
                    fields=values,
                    reason="assigned in Okta and not found in Salesforce",
                    warnings=mapped.warnings,
                    permission_sets=mapped.permission_sets,
                )
            )
        return actions

    # Out of scope --------------------------------------------------------------------
    def _out_of_scope(self, assignment: OktaAssignment, user: SalesforceUser | None, why: str) -> Action:
        if user is None:
            return _action(ActionKind.SKIP, assignment, None, reason=f"{why}; no Salesforce user")
        unmanaged = self.managed.reason(user)
        if unmanaged is not None:
            return _action(
                ActionKind.SKIP,
                assignment,
                user,
                reason=f"{why}; Salesforce user is not managed: {unmanaged}",
            )
        return self._deprovision(user, assignment.login, assignment.okta_user_id, why)

    def _deprovision(self, user: SalesforceUser, login: str, okta_user_id: str | None, why: str) -> Action:
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
    def _resolve(self, actions: list[Action]) -> list[Action]:
        """With directory info, turn unknown Profile/UserRole/PermissionSet names into errors."""
        if self.directory is None:
            return actions
        tables = {"Profile": self.directory.profiles, "UserRole": self.directory.roles}
        out = []
        for action in actions:
            errors = []
            for target, value in action.fields.items():
                spec = USER_FIELDS.get(target)
                if spec and spec.references in tables and value not in tables[spec.references]:
                    errors.append(FieldError(target, f"no {spec.references} named {value!r} in Salesforce"))
            errors.extend(
                FieldError("permission_sets", f"no PermissionSet named {name!r} in Salesforce")
                for name in action.permission_sets
                if name not in self.directory.permission_sets
            )
            if action.kind in _WRITES and not errors:
                creating = action.kind is ActionKind.CREATE
                unmanaged = unmanaged_after_write(
                    action.fields, self.directory.profile_user_types, self.managed, creating=creating
                )
                if unmanaged:
                    errors.append(FieldError(unmanaged[0], f"the user would not be managed: {unmanaged[1]}"))
            if errors and action.kind in _WRITES:
                out.append(
                    _replace(
                        action,
                        kind=ActionKind.ERROR,
                        errors=tuple(errors),
                        reason="unknown reference",
                        fields={},
                    )
                )
            else:
                out.append(action)
        return out


def _select(assignments: Iterable[OktaAssignment], users: Sequence[str] | None) -> list[OktaAssignment]:
    """One assignment per login (an assigned one wins), limited to ``users`` when given."""
    wanted = {u.casefold() for u in users} if users is not None else None
    chosen: dict[str, OktaAssignment] = {}
    for assignment in assignments:
        key = assignment.login.casefold()
        if wanted is not None and key not in wanted:
            continue
        previous = chosen.get(key)
        if previous is None or (assignment.assigned and not previous.assigned):
            chosen[key] = assignment
    if users is not None:
        for login in users:
            if login.casefold() not in chosen:
                chosen[login.casefold()] = OktaAssignment(
                    okta_user_id="",
                    login=login,
                    app_username=login,
                    assignment_status="UNASSIGNED",
                    scope="USER",
                    user_status="",
                    profile={"login": login},
                    assigned=False,
                )
    return list(chosen.values())


def _action(
    kind: ActionKind,
    assignment: OktaAssignment,
    user: SalesforceUser | None,
    **kwargs: Any,
) -> Action:
    return Action(
        kind=kind,
        login=assignment.login,
        okta_user_id=assignment.okta_user_id or None,
        salesforce_id=user.id if user else None,
        username=user.username if user else None,
        user_login_id=user.user_login_id if user else None,
        **kwargs,
    )


def _error(
    assignment: OktaAssignment, errors: list[FieldError], reason: str, user: SalesforceUser | None = None
) -> Action:
    detail = "; ".join(str(e) for e in errors)
    return _action(
        ActionKind.ERROR,
        assignment,
        user,
        errors=tuple(errors),
        reason=f"{reason} for {assignment.login}: {detail}",
    )


def _replace(action: Action, **changes: Any) -> Action:
    from dataclasses import replace

    return replace(action, **changes)


__all__ = ["Apply", "Source", "build_plan", "diff"]
