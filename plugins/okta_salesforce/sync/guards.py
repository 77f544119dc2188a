"""Safety guards: the deactivation guard (threshold, approval, plan age) and the API budget.

*Deactivation guard* (Entra ID calls it the accidental-deletion threshold). One typed mechanism,
decided where the plan is made and enforced where the writes happen:

1. :func:`check_deactivations` gives a plan's :class:`~okta_salesforce.sync.models.GuardResult`:
   it *trips* when the plan would deactivate or freeze more managed users than
   ``guards.max_deactivations``, or more than ``guards.max_deactivation_ratio`` of the managed
   active users (full runs only). A tripped guard is *bypassed* only by the admin's setting
   (``guards.trust_allow_mass_deactivation_param`` lets a run's ``allow_mass_deactivation``
   param through); the param alone changes nothing.
2. The plan keeps its deprovisioning actions as they are; :func:`plan_fingerprint` names the
   plan (run, time, and exactly which users it deprovisions).
3. :func:`deprovision_refusal` is asked by the writer before any deactivation or freeze: it
   refuses a plan older than ``guards.max_plan_age_minutes``, a plan with no guard verdict, and
   a blocked plan unless an :class:`Approval` *of this plan's fingerprint* was given. A
   rejection, a timeout, or an approval of another plan is no approval, so clearing or
   retrying the writer deactivates nobody.

*API budget*: Salesforce reports ``Sforce-Limit-Info: api-usage=used/total`` on every
response; :class:`ApiBudget` stops writing before ``guards.api_budget_share`` of the daily
limit is used.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from okta_salesforce.sync.models import DEPROVISION_KINDS, GuardResult

if TYPE_CHECKING:
    from okta_salesforce.sync.guard_config import GuardsConfig
    from okta_salesforce.sync.models import Action, Plan


#: Outcome codes of deprovisioning the guard refused.
GUARD_TRIPPED = "GUARD_TRIPPED"
PLAN_EXPIRED = "PLAN_EXPIRED"


class GuardTripped(RuntimeError):
    """Deprovisioning was held back because it went over a threshold."""

    def __init__(self, result: GuardResult) -> None:
        self.result = result
        super().__init__(result.message)


class ApiBudgetExhausted(RuntimeError):
    """Writing stopped because the configured share of the daily API limit is used."""


def check_deactivations(
    guards: GuardsConfig,
    deprovisions: int,
    managed_active: int,
    *,
    incremental: bool,
    allow_mass_deactivation: bool,
) -> GuardResult:
    """Decide whether ``deprovisions`` deactivations/freezes may go ahead without an approval.

    :param guards: the configured limits and the admin's bypass setting.
    :param deprovisions: how many deactivations/freezes the plan wants.
    :param managed_active: how many managed active Salesforce users the plan considered.
    :param incremental: True for a plan over a subset of users (the ratio does not apply).
    :param allow_mass_deactivation: the run's param; it bypasses the guard only when
        ``guards.trust_allow_mass_deactivation_param`` is true.
    """
    over: list[str] = []
    if guards.max_deactivations is not None and deprovisions > guards.max_deactivations:
        over.append(f"more than guards.max_deactivations={guards.max_deactivations}")
    if (
        not incremental
        and guards.max_deactivation_ratio is not None
        and managed_active > 0
        and deprovisions / managed_active > guards.max_deactivation_ratio
    ):
        over.append(
            f"{deprovisions / managed_active:.1%} of {managed_active} managed active users, more than "
            f"guards.max_deactivation_ratio={guards.max_deactivation_ratio:.0%}"
        )
    bypass = allow_mass_deactivation and guards.trust_allow_mass_deactivation_param
    if not over:
        return GuardResult(False, bypass, deprovisions, managed_active)
    what = f"The plan would deactivate or freeze {deprovisions} Salesforce users: {' and '.join(over)}."
    if bypass:
        message = (
            f"{what} Going ahead: the run set allow_mass_deactivation and the config trusts it "
            "(guards.trust_allow_mass_deactivation_param)."
        )
    else:
        ignored = (
            " The run's allow_mass_deactivation was ignored: guards.trust_allow_mass_deactivation_param "
            "is false."
            if allow_mass_deactivation
            else ""
        )
        message = (
            f"{what} Nobody is deactivated without an approval of this plan.{ignored} Check the Okta "
            "assignments (an emptied group or a scope change?) before approving."
        )
    return GuardResult(True, bypass, deprovisions, managed_active, message)


def raise_for_guard(plan: Plan) -> None:
    """Raise :class:`GuardTripped` when the plan's deprovisioning needs an approval."""
    if plan.guard is not None and plan.guard.blocked:
        raise GuardTripped(plan.guard)


def plan_fingerprint(
    actions: Iterable[Action], *, run_id: str, planned_at: str, snapshot_started: str = ""
) -> str:
    """The id an approval is bound to: the run, the plan's time and who it deprovisions.

    Any change to the set of deprovisioned users (or a new plan of the same run) gives another id.
    ``snapshot_started`` (when the plan's Okta snapshot began; the re-check reads the System Log
    from there) is bound too when known, so it cannot be moved later; plans without it keep the
    ids they had.
    """
    digest = hashlib.sha256(f"{run_id}\n{planned_at}\n".encode())
    if snapshot_started:
        digest.update(f"snapshot_started={snapshot_started}\n".encode())
    rows = sorted(
        f"{a.kind}\t{a.salesforce_id or ''}\t{a.login}" for a in actions if a.kind in DEPROVISION_KINDS
    )
    for row in rows:
        digest.update(row.encode())
        digest.update(b"\n")
    return digest.hexdigest()[:24]


@dataclass(frozen=True)
class Approval:
    """A person's answer to the approval request of one plan.

    :param plan_id: the :func:`plan_fingerprint` of the plan the request showed.
    :param approved: True only for an explicit "Approve" (a timeout answers "Reject").
    :param responded_by: who answered (``None`` for a timeout).
    :param responded_at: when (ISO 8601).
    """

    plan_id: str
    approved: bool
    responded_by: str | None = None
    responded_at: str | None = None

    @classmethod
    def from_response(cls, value: Mapping[str, Any] | None) -> Approval | None:
        """Read the approval task's XCom; ``None`` when there is none or it names no plan."""
        if not isinstance(value, Mapping) or not value.get("plan_id"):
            return None
        chosen = value.get("chosen_options") or []
        by = value.get("responded_by_user") or value.get("responded_by")
        if isinstance(by, Mapping):
            by = by.get("name") or by.get("id")
        at = value.get("responded_at")
        return cls(
            plan_id=str(value["plan_id"]),
            approved=list(chosen) == ["Approve"] and by is not None,
            responded_by=str(by) if by else None,
            responded_at=at.isoformat() if isinstance(at, datetime) else (str(at) if at else None),
        )


@dataclass(frozen=True)
class Refusal:
    """Why the writer deprovisions nobody: an outcome ``code`` and a ``message``."""

    code: str
    message: str


def deprovision_refusal(
    plan: Plan, approval: Approval | None, max_age: timedelta, *, now: datetime | None = None
) -> Refusal | None:
    """Whether the plan's deactivations and freezes may be written now; ``None`` when they may.

    :param plan: the plan (its ``guard``, ``plan_id`` and ``planned_at``).
    :param approval: the approval this run holds, if any.
    :param max_age: plans older than this are refused.
    :param now: the current time (UTC; for tests).
    """
    now = now or datetime.now(UTC)
    if plan.planned_at:
        planned = datetime.fromisoformat(plan.planned_at)
        if now - planned > max_age:
            return Refusal(
                PLAN_EXPIRED,
                f"The plan was made at {plan.planned_at}, more than guards.max_plan_age_minutes="
                f"{int(max_age.total_seconds() // 60)} ago: deprovisioning nobody. A later run plans again "
                "from the current Okta assignments.",
            )
    if plan.guard is None:
        return Refusal(
            GUARD_TRIPPED,
            "The plan carries no deactivation guard verdict (not made by build_plan, or read back "
            "without it): deprovisioning nobody. Deprovision through DeprovisionUsersOperator.",
        )
    if not plan.guard.blocked:
        return None
    if approval is None:
        return Refusal(GUARD_TRIPPED, f"{plan.guard.message} No approval was given for this plan.")
    if not plan.plan_id or approval.plan_id != plan.plan_id:
        return Refusal(
            GUARD_TRIPPED,
            f"{plan.guard.message} The approval this run holds is for another plan "
            f"({approval.plan_id}, not {plan.plan_id or 'an unnamed plan'}).",
        )
    if not approval.approved:
        who = f"by {approval.responded_by}" if approval.responded_by else "(no answer before the timeout)"
        return Refusal(GUARD_TRIPPED, f"{plan.guard.message} The approval was rejected {who}.")
    return None


_USAGE = re.compile(r"api-usage=(\d+)/(\d+)")


@dataclass(frozen=True)
class ApiUsage:
    """API requests used and allowed in the rolling 24 hours."""

    used: int
    total: int

    @classmethod
    def from_header(cls, header: str | None) -> ApiUsage | None:
        """Parse ``Sforce-Limit-Info`` (``api-usage=25/15000``); None when absent or unreadable."""
        match = _USAGE.search(header or "")
        return cls(int(match.group(1)), int(match.group(2))) if match else None

    @classmethod
    def from_client(cls, api_usage: Mapping[str, Any] | None) -> ApiUsage | None:
        """Read simple-salesforce's ``Salesforce.api_usage`` (updated after each call)."""
        usage = (api_usage or {}).get("api-usage")
        if usage is None:
            return None
        return cls(int(usage.used), int(usage.total))


class ApiBudget:
    """Tells the writer whether it may make ``calls`` more requests.

    :param share: the share of the daily limit the sync may use up to (0 < share ≤ 1).
    """

    def __init__(self, share: float) -> None:
        self.share = share
        self.last: ApiUsage | None = None

    def observe(self, usage: ApiUsage | None) -> None:
        """Record the latest usage seen on a response."""
        if usage is not None:
            self.last = usage

    def allows(self, calls: int = 1) -> bool:
        """True when ``calls`` more requests stay within the budget (or usage is not known yet)."""
        if self.last is None or self.last.total <= 0:
            return True
        return self.last.used + calls <= self.share * self.last.total

    def message(self) -> str:
        """Why writing stopped."""
        usage = self.last
        seen = f"{usage.used} of {usage.total} daily API requests used" if usage else "usage unknown"
        return (
            f"Stopped writing: {seen}, and guards.api_budget_share={self.share:.0%} keeps the rest for "
            "other integrations. The remaining changes are applied by a later run."
        )
