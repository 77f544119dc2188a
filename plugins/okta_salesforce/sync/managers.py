"""Managers: ``ManagerId`` from the Okta manager, resolved to the manager's Salesforce user.

``mapping.ManagerId`` gives the manager's Okta login or Okta user id (Okta's ``managerId``
profile attribute, or an expression). :func:`plan_managers` resolves it, for every in-scope,
managed user the plan keeps, in this order:

1. the manager's Okta login: the Okta user of that id or login in this run's assignments;
2. the manager's Salesforce user: the one the plan matched to that Okta user, or the one the
   matching rules find among the Salesforce users read (``read_salesforce`` also reads managers);
3. a manager the plan *creates* in this run is linked in a second pass: the ``entitle`` action
   carries ``ManagerId`` by login and the writer fills in the id from the create's outcome.

A manager found nowhere is an ``error`` action naming ``ManagerId`` (the user's own actions still
run; a later run links the manager once provisioned). ``ManagerId`` is never cleared: an empty
Okta value leaves Salesforce alone.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from okta_salesforce.sync.config import Apply
from okta_salesforce.sync.entitlements import provisioned_targets
from okta_salesforce.sync.mapping import Mapper, assignment_context
from okta_salesforce.sync.matching import Matcher
from okta_salesforce.sync.models import Action, ActionKind, FieldError, OktaAssignment

if TYPE_CHECKING:
    from okta_salesforce.sync.config import SyncConfig
    from okta_salesforce.sync.models import SalesforceUser

MANAGER_FIELD = "ManagerId"
#: Placeholder for a manager created in this run (linked in the second pass).
_CREATED = "created"


def manager_probes(assignments: Iterable[OktaAssignment], config: SyncConfig) -> list[dict[str, Any]]:
    """Attribute contexts of the managers of ``assignments``, for reading their Salesforce users."""
    mapping = config.field(MANAGER_FIELD)
    if mapping is None:
        return []
    mapper = Mapper(config)
    probes = []
    for assignment in assignments:
        value, error, _ = mapper.field_value(mapping, assignment_context(assignment))
        if value and not error:
            probes.append(_probe(str(value)).profile)
    return probes


def plan_managers(
    actions: Sequence[Action],
    assignments: Iterable[OktaAssignment],
    sf_users: Iterable[SalesforceUser],
    config: SyncConfig,
) -> list[Action]:
    """``actions`` with ``ManagerId`` set where the Okta manager says so (see the module doc)."""
    mapping = config.field(MANAGER_FIELD)
    if mapping is None:
        return list(actions)
    assignments = list(assignments)
    users = list(sf_users)
    mapper = Mapper(config)
    by_login = {a.login.casefold(): a for a in assignments}
    by_okta_id = {a.okta_user_id: a for a in assignments if a.okta_user_id}
    planned: dict[str, str] = {}
    for action in actions:
        if action.kind is ActionKind.CREATE:
            planned[action.login.casefold()] = _CREATED
        elif action.salesforce_id and action.kind is not ActionKind.ERROR:
            planned.setdefault(action.login.casefold(), action.salesforce_id)
    matcher = Matcher(config.matching, users)
    users_by_id = {u.id: u for u in users}
    out = list(actions)
    for login, target in provisioned_targets(actions).items():
        if target.kind is not ActionKind.CREATE and mapping.apply is Apply.ON_CREATE:
            continue
        assignment = by_login.get(login.casefold())
        if assignment is None:
            continue
        value, error, _ = mapper.field_value(mapping, assignment_context(assignment))
        if error:
            out.append(_error(target, error))
            continue
        if value is None:
            continue
        manager = by_okta_id.get(str(value)) or by_login.get(str(value).casefold())
        manager_login = manager.login if manager else str(value)
        if manager_login.casefold() == login.casefold():
            out.append(_error(target, "the Okta manager is the user itself"))
            continue
        resolved = planned.get(manager_login.casefold())
        if resolved is None:
            match = matcher.match(manager or _probe(manager_login))
            if match.error:
                out.append(_error(target, f"the manager {manager_login!r}: {match.error}"))
                continue
            resolved = match.user.id if match.user else None
        if resolved is None:
            out.append(_error(target, f"the manager {manager_login!r} is not provisioned in Salesforce"))
            continue
        current = (
            users_by_id[target.salesforce_id].fields.get(MANAGER_FIELD) if target.salesforce_id else None
        )
        if resolved != _CREATED and _same_id(current, resolved):
            continue
        old = users_by_id[current].username if current in users_by_id else current
        change = {"old": old, "new": manager_login}
        if resolved == _CREATED:
            _second_pass(out, target, manager_login, change)
        else:
            _first_pass(out, target, resolved, change)
    return out


def _first_pass(out: list[Action], target: Action, manager_id: str, change: dict[str, Any]) -> None:
    """Write ``ManagerId`` with the user's own create, activation or update (or a new update)."""
    index = next(
        (
            i
            for i, a in enumerate(out)
            if a.login == target.login
            and a.kind in (ActionKind.CREATE, ActionKind.ACTIVATE, ActionKind.UPDATE)
        ),
        None,
    )
    if index is not None:
        action = out[index]
        changes = dict(action.changes)
        if action.kind is not ActionKind.CREATE:
            changes[MANAGER_FIELD] = change
        out[index] = replace(action, fields={**action.fields, MANAGER_FIELD: manager_id}, changes=changes)
        return
    update = Action(
        kind=ActionKind.UPDATE,
        login=target.login,
        okta_user_id=target.okta_user_id,
        salesforce_id=target.salesforce_id,
        username=target.username,
        user_login_id=target.user_login_id,
        fields={MANAGER_FIELD: manager_id},
        changes={MANAGER_FIELD: change},
        reason=f"{MANAGER_FIELD} changed in Okta",
    )
    skip = next((i for i, a in enumerate(out) if a.login == target.login and a.kind is ActionKind.SKIP), None)
    if skip is not None:
        out[skip] = update
    else:
        out.append(update)


def _second_pass(out: list[Action], target: Action, manager_login: str, change: dict[str, Any]) -> None:
    """Link a manager created in this run once it exists: on the user's ``entitle`` action."""
    reason = f"link manager {manager_login} (created in this run)"
    index = next(
        (i for i, a in enumerate(out) if a.login == target.login and a.kind is ActionKind.ENTITLE), None
    )
    if index is not None:
        action = out[index]
        out[index] = replace(
            action,
            fields={**action.fields, MANAGER_FIELD: manager_login},
            changes={**action.changes, MANAGER_FIELD: change},
            reason=f"{action.reason}; {reason}",
        )
        return
    out.append(
        Action(
            kind=ActionKind.ENTITLE,
            login=target.login,
            okta_user_id=target.okta_user_id,
            salesforce_id=target.salesforce_id,
            username=target.username,
            fields={MANAGER_FIELD: manager_login},
            changes={MANAGER_FIELD: change},
            reason=reason,
        )
    )


def _same_id(current: Any, resolved: str) -> bool:
    return bool(current) and str(current)[:15] == resolved[:15]


def _probe(login: str) -> OktaAssignment:
    """An Okta user known only by login (for the matching rules that read a login or an email)."""
    return OktaAssignment(
        okta_user_id="",
        login=login,
        app_username=login,
        assignment_status="ACTIVE",
        scope="USER",
        user_status="ACTIVE",
        profile={"login": login, "email": login},
    )


def _error(target: Action, message: str) -> Action:
    return target.refused(
        [FieldError(MANAGER_FIELD, message)], f"cannot link the manager of {target.login}: {message}"
    )
