"""Re-check a plan's deprovisioning against the current state just before it is written.

A plan can wait for an approval, and other runs can write in between. Right before deactivating
or freezing, the writer's operator re-reads each user on both sides and
:func:`recheck_deprovisions` keeps only the actions that are still right:

* the Salesforce user still exists, is still managed and still active (and, to freeze, not
  frozen yet); otherwise there is nothing left to do;
* no Okta assignment that is assigned and in scope matches the user now (by the configured
  matching rules); otherwise the user was re-assigned since the plan and is kept.

Users dropped here are reported with the reason, never silently.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from okta_salesforce.sync.matching import Matcher
from okta_salesforce.sync.models import DEPROVISION_KINDS, ActionKind
from okta_salesforce.sync.scoping import ManagedFilter, scope_reason

if TYPE_CHECKING:
    from okta_salesforce.sync.config import SyncConfig
    from okta_salesforce.sync.models import Action, OktaAssignment, SalesforceUser

#: Why a planned deprovisioning was dropped at write time (the start of the outcome message).
REASSIGNED = "kept: assigned in Okta again since the plan"


@dataclass(frozen=True)
class Recheck:
    """What the re-check decided.

    :param write: the actions still to write.
    :param dropped: ``(action, reason)`` for each action not written.
    """

    write: list[Action] = field(default_factory=list)
    dropped: list[tuple[Action, str]] = field(default_factory=list)


def recheck_deprovisions(
    actions: Iterable[Action],
    current_users: Mapping[str, SalesforceUser],
    current_assignments: Iterable[OktaAssignment],
    config: SyncConfig,
) -> Recheck:
    """Keep the deactivations/freezes that the current Okta and Salesforce state still call for.

    :param actions: the planned deprovisioning (other kinds pass through unchanged).
    :param current_users: the Salesforce users re-read now, by id (a missing id: deleted).
    :param current_assignments: the current Okta state of every user who could match them.
    :param config: the sync config (scope, managed users, matching rules).
    """
    managed = ManagedFilter(config.managed)
    matcher = Matcher(config.matching, current_users.values())
    claimed: dict[str, str] = {}
    for assignment in current_assignments:
        if scope_reason(assignment, config.scope) is not None:
            continue
        match = matcher.match(assignment)
        for user in (match.user, *match.ambiguous):
            if user is not None:
                claimed.setdefault(user.id, assignment.login)
    result = Recheck()
    for action in actions:
        if action.kind not in DEPROVISION_KINDS:
            result.write.append(action)
            continue
        user = current_users.get(action.salesforce_id or "")
        if user is None:
            result.dropped.append((action, "kept: the Salesforce user no longer exists"))
        elif (why := managed.reason(user)) is not None:
            result.dropped.append((action, f"kept: the Salesforce user is no longer managed ({why})"))
        elif user.id in claimed:
            undone = "frozen" if action.kind is ActionKind.FREEZE else "deactivated"
            result.dropped.append((action, f"{REASSIGNED} ({claimed[user.id]}); not {undone}"))
        elif not user.is_active:
            result.dropped.append((action, "already inactive in Salesforce"))
        elif action.kind is ActionKind.FREEZE and user.is_frozen:
            result.dropped.append((action, "already frozen in Salesforce"))
        else:
            result.write.append(action)
    return result
