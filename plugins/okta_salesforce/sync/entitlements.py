"""Plan entitlements: which managed permission sets, groups and licenses to assign and remove.

After :func:`~okta_salesforce.sync.plan.build_plan` has decided each user's action,
:func:`plan_entitlements` adds one ``entitle`` action per in-scope, managed user whose managed
entitlements differ from what the ``entitlements`` rules grant:

* assign what a rule grants and the user lacks; a permission set that needs a permission set
  license the user lacks gets that license assigned first (noted with the reason);
* remove what the user holds of the *managed* names and no rule grants any more, except a
  permission set license a permission set the user keeps still needs (Salesforce would refuse;
  the action carries a warning);
* never look at assignments of names the config does not manage.

Users who are deprovisioned, unmanaged, skipped for an error, or held back keep their
entitlements untouched. A granted name the org does not have is an ``error`` action for that
user (its other entitlements still land). Creates get an ``entitle`` action without a Salesforce
id: the writer takes the id from the create's outcome.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from okta_salesforce.sync.entitlements_config import EntitlementType
from okta_salesforce.sync.mapping import assignment_context
from okta_salesforce.sync.models import Action, ActionKind, FieldError
from okta_salesforce.sync.scoping import filters_match

if TYPE_CHECKING:
    from okta_salesforce.sync.config import SyncConfig
    from okta_salesforce.sync.entitlement_reader import CurrentEntitlements
    from okta_salesforce.sync.models import DirectoryInfo, OktaAssignment

#: The reason ``build_plan`` gives a managed, in-scope user with nothing to change.
IN_SYNC = "in sync"
_TARGET_KINDS = (ActionKind.CREATE, ActionKind.ACTIVATE, ActionKind.UPDATE, ActionKind.UNFREEZE)
_LABEL = {
    EntitlementType.PERMISSION_SET: "permission set",
    EntitlementType.PERMISSION_SET_GROUP: "permission set group",
    EntitlementType.PERMISSION_SET_LICENSE: "permission set license",
}
_KEY = {kind: f"entitlements.{kind.value}s" for kind in EntitlementType}


def provisioned_targets(actions: Iterable[Action]) -> dict[str, Action]:
    """Login → the action of each in-scope, managed user the plan keeps (created, activated, updated,
    unfrozen or in sync) and that has no ``error`` action."""
    targets: dict[str, Action] = {}
    failed: set[str] = set()
    for action in actions:
        if action.kind is ActionKind.ERROR:
            failed.add(action.login)
        elif action.kind in _TARGET_KINDS or (action.kind is ActionKind.SKIP and action.reason == IN_SYNC):
            targets.setdefault(action.login, action)
    return {login: action for login, action in targets.items() if login not in failed}


def granted(config: SyncConfig, assignment: OktaAssignment) -> set[tuple[EntitlementType, str]]:
    """What the rules grant ``assignment``'s user."""
    context = assignment_context(assignment)
    return {(r.type, r.name) for r in config.entitlements.rules if filters_match(r.when, context)}


def plan_entitlements(
    actions: Sequence[Action],
    assignments: Iterable[OktaAssignment],
    config: SyncConfig,
    directory: DirectoryInfo,
    current: CurrentEntitlements,
) -> list[Action]:
    """``actions`` plus the ``entitle`` (and ``error``) actions the entitlement rules call for."""
    if not config.entitlements.rules:
        return list(actions)
    by_login = {a.login: a for a in assignments}
    managed = {(r.type, r.name) for r in config.entitlements.rules}
    out = list(actions)
    for login, target in provisioned_targets(actions).items():
        assignment = by_login.get(login)
        if assignment is None:
            continue
        held = current.of(target.salesforce_id)
        entitle, errors = _delta(granted(config, assignment), held, directory, managed)
        if errors:
            out.append(_error(target, errors))
        if entitle is not None:
            out.append(
                replace(
                    entitle,
                    login=login,
                    okta_user_id=target.okta_user_id,
                    salesforce_id=target.salesforce_id,
                    username=target.username,
                )
            )
    return out


def _ids(directory: DirectoryInfo, kind: EntitlementType) -> dict[str, str]:
    return {
        EntitlementType.PERMISSION_SET: directory.permission_sets,
        EntitlementType.PERMISSION_SET_GROUP: directory.permission_set_groups,
        EntitlementType.PERMISSION_SET_LICENSE: directory.permission_set_licenses,
    }[kind]


def _delta(
    wanted: set[tuple[EntitlementType, str]],
    held: dict[tuple[EntitlementType, str], str],
    directory: DirectoryInfo,
    managed: set[tuple[EntitlementType, str]],
) -> tuple[Action | None, list[FieldError]]:
    errors, known = [], set()
    for kind, name in sorted(wanted):
        if name in _ids(directory, kind):
            known.add((kind, name))
        else:
            errors.append(FieldError(_KEY[kind], f"no {kind.sobject} named {name!r} in Salesforce"))
    lic = EntitlementType.PERMISSION_SET_LICENSE
    # The licenses the permission sets the user ends with need (they are assigned first).
    needed = {
        directory.permission_set_license_needs[name]: name
        for kind, name in sorted(known)
        if kind is EntitlementType.PERMISSION_SET and name in directory.permission_set_license_needs
    }
    assign = [key for key in sorted(known) if key not in held]
    items: list[dict[str, str]] = [
        _item("assign", lic, license_name, reason=f"needed by permission set {set_name}")
        for license_name, set_name in sorted(needed.items())
        if (lic, license_name) not in held and (lic, license_name) not in known
    ]
    items.extend(_item("assign", kind, name) for kind, name in assign)
    warnings = []
    for (kind, name), record_id in sorted(held.items()):
        if (kind, name) in known or (kind, name) not in managed:
            continue
        if kind is lic and name in needed:
            warnings.append(f"kept permission set license {name}: permission set {needed[name]} needs it")
            continue
        items.append(_item("remove", kind, name, record_id=record_id))
    if not items:
        return None, errors
    changes = {
        f"{item['type']} {item['name']}": {"old": item["op"] == "remove", "new": item["op"] == "assign"}
        for item in items
    }
    reason = "; ".join(
        f"{item['op']} {_LABEL[EntitlementType(item['type'])]} {item['name']}"
        + (f" ({item['reason']})" if item.get("reason") else "")
        for item in items
    )
    action = Action(
        kind=ActionKind.ENTITLE,
        login="",
        entitlements=tuple(items),
        changes=changes,
        reason=reason,
        warnings=tuple(warnings),
    )
    return action, errors


def _item(
    op: str, kind: EntitlementType, name: str, *, record_id: str = "", reason: str = ""
) -> dict[str, str]:
    item = {"op": op, "type": kind.value, "name": name}
    if record_id:
        item["id"] = record_id
    if reason:
        item["reason"] = reason
    return item


def _error(target: Action, errors: list[FieldError]) -> Action:
    detail = "; ".join(str(e) for e in errors)
    return target.refused(errors, f"unknown entitlement for {target.login}: {detail}")
