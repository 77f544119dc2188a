"""What :func:`~okta_salesforce.sync.plan.build_plan` adds once every user's action is decided.

* Mapped feature-license fields the org's ``describe`` does not show (a feature license of a feature the
  org lacks, e.g. ``UserPermissionsKnowledgeUser`` without Knowledge) fail the plan before
  anything is written, naming the field.
* Profile moves Salesforce refuses (:mod:`okta_salesforce.sync.profile_changes`): per-record errors.
* Entitlements (:mod:`okta_salesforce.sync.entitlements`): ``entitle`` actions.
* Managers (:mod:`okta_salesforce.sync.managers`): ``ManagerId`` on the users' writes, or in the
  second pass for managers created in the same run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from okta_salesforce.sync.config import ConfigError
from okta_salesforce.sync.entitlements import plan_entitlements
from okta_salesforce.sync.fields import FEATURE_LICENSES
from okta_salesforce.sync.managers import plan_managers
from okta_salesforce.sync.models import ActionKind, Plan
from okta_salesforce.sync.profile_changes import check_profile_moves

if TYPE_CHECKING:
    from okta_salesforce.sync.config import SyncConfig
    from okta_salesforce.sync.entitlement_reader import CurrentEntitlements
    from okta_salesforce.sync.models import DirectoryInfo, OktaAssignment, SalesforceUser

_ORDER = {kind: i for i, kind in enumerate(ActionKind)}


def check_described_fields(directory: DirectoryInfo, config: SyncConfig) -> None:
    """Refuse mapped feature-license fields the org's describe does not show.

    :raises ConfigError: naming each such field (nothing is checked when describe was not read).
    """
    if not directory.user_fields:
        return
    missing = [
        f"mapping.{m.target}: the org's User object has no field {m.target} (is the feature enabled, "
        "and can the integration user see the field?)"
        for m in config.mapping
        if m.target in FEATURE_LICENSES and m.target not in directory.user_fields
    ]
    if missing:
        raise ConfigError(missing, config.source)


def extend_plan(
    plan: Plan,
    assignments: Sequence[OktaAssignment],
    sf_users: Sequence[SalesforceUser],
    config: SyncConfig,
    directory: DirectoryInfo | None,
    entitlements: CurrentEntitlements | None,
) -> Plan:
    """``plan`` with entitlement and manager actions added (entitlements need ``directory`` and
    ``entitlements``, the current assignments from
    :func:`~okta_salesforce.sync.entitlement_reader.read_entitlements`)."""
    actions = list(plan.actions)
    if directory is not None:
        check_described_fields(directory, config)
        actions = check_profile_moves(actions, sf_users, directory)
        if entitlements is not None:
            actions = plan_entitlements(actions, assignments, config, directory, entitlements)
    actions = plan_managers(actions, assignments, sf_users, config)
    if len(actions) == len(plan.actions) and all(a is b for a, b in zip(actions, plan.actions, strict=True)):
        return plan
    actions.sort(key=lambda a: _ORDER[a.kind])
    return replace(plan, actions=tuple(actions))
