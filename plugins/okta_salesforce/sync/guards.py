"""Safety guards: the deactivation threshold and the API budget.

*Deactivation threshold* (Entra ID calls it the accidental-deletion threshold): a plan that
would deactivate or freeze more managed users than ``guards.max_deactivations``, or more than
``guards.max_deactivation_ratio`` of the managed active users (full runs only), is held back:
its deprovisioning actions become skips and the plan carries a tripped
:class:`~okta_salesforce.sync.models.GuardResult`; :func:`raise_for_guard` turns that into a
:class:`GuardTripped` error. A run that passes ``allow_mass_deactivation`` goes ahead.

*API budget*: Salesforce reports ``Sforce-Limit-Info: api-usage=used/total`` on every
response; :class:`ApiBudget` stops writing before ``guards.api_budget_share`` of the daily
limit is used.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from okta_salesforce.sync.models import GuardResult

if TYPE_CHECKING:
    from okta_salesforce.sync.config import GuardsConfig
    from okta_salesforce.sync.models import Plan


#: How a deprovisioning action held back by the guard starts its (skip) reason.
GUARD_REASON = "held back by the deactivation guard"


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
    """Decide whether ``deprovisions`` deactivations/freezes may go ahead.

    :param guards: the configured limits.
    :param deprovisions: how many deactivations/freezes the plan wants.
    :param managed_active: how many managed active Salesforce users the plan considered.
    :param incremental: True for a plan over a subset of users (the ratio does not apply).
    :param allow_mass_deactivation: let the run go over the limits.
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
    if not over:
        return GuardResult(False, allow_mass_deactivation, deprovisions, managed_active)
    what = f"The plan would deactivate or freeze {deprovisions} Salesforce users: {' and '.join(over)}."
    if allow_mass_deactivation:
        message = f"{what} Going ahead because the run allows mass deactivation."
    else:
        message = (
            f"{what} Nothing was deactivated. Check the Okta assignments (an emptied group or a "
            "scope change?), then rerun with allow_mass_deactivation=True if this is intended."
        )
    return GuardResult(True, allow_mass_deactivation, deprovisions, managed_active, message)


def raise_for_guard(plan: Plan) -> None:
    """Raise :class:`GuardTripped` when the plan's deprovisioning was held back."""
    if plan.guard is not None and plan.guard.blocked:
        raise GuardTripped(plan.guard)


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
