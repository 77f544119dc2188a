"""The ``guards`` section of the sync config: deactivation limits, plan age, approval, API budget.

Kept apart from :mod:`okta_salesforce.sync.config` (the rest of the file format) so the guard's
settings read in one place. :func:`parse_guards` is called by the config parser, whose generic
readers (``mapping``, ``number``, ``boolean``, ``string``, ``fail``) it uses.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Protocol

#: The HITL user record the approval task assigns (Airflow's ``HITLUser``: ``id`` and ``name``).
Approver = dict[str, str]


@dataclass(frozen=True)
class ApprovalConfig:
    """Who approves deprovisioning over the guard, and how they hear about it.

    :param assigned_users: the approvers, ``{"id", "name"}`` each (Airflow user ids, as the
        auth manager knows them); only they may answer. Empty: anyone allowed to answer
        required actions may.
    :param notify_conn_id: an ``http`` connection holding a chat webhook URL; when set, the
        approval request is posted there (``okta_salesforce.notifiers.WebhookNotifier``).
    :param notify_format: the webhook body format (``slack``, ``teams`` ...); ``None`` reads the
        connection's extra ``format``.
    """

    assigned_users: tuple[Approver, ...] = ()
    notify_conn_id: str | None = None
    notify_format: str | None = None


@dataclass(frozen=True)
class GuardsConfig:
    """Safety limits.

    :param max_deactivations: most deactivations/freezes one run may do without approval.
    :param max_deactivation_ratio: most deactivations/freezes as a share of managed active
        users (full runs only).
    :param api_budget_share: stop writing once this share of the daily API limit is used.
    :param max_plan_age_minutes: a plan older than this deprovisions nobody (and an approval
        request times out when its plan reaches this age).
    :param trust_allow_mass_deactivation_param: the admin switch: only when true does a run's
        ``allow_mass_deactivation`` param pass the guard without an approval.
    :param approval: approvers and notification of the approval request.
    """

    max_deactivations: int | None = 25
    max_deactivation_ratio: float | None = 0.10
    api_budget_share: float = 0.8
    max_plan_age_minutes: int = 120
    trust_allow_mass_deactivation_param: bool = False
    approval: ApprovalConfig = field(default_factory=ApprovalConfig)

    @property
    def max_plan_age(self) -> timedelta:
        """:attr:`max_plan_age_minutes` as a duration."""
        return timedelta(minutes=self.max_plan_age_minutes)


GUARD_KEYS = {
    "max_deactivations",
    "max_deactivation_ratio",
    "api_budget_share",
    "max_plan_age_minutes",
    "trust_allow_mass_deactivation_param",
    "approval",
}


class _Readers(Protocol):
    def fail(self, path: str, message: str) -> None: ...
    def mapping(self, value: Any, path: str, keys: set[str] | None = None) -> dict[str, Any]: ...
    def string(self, value: Any, path: str, *, required: bool = False) -> str | None: ...
    def boolean(self, value: Any, path: str, default: bool) -> bool: ...
    def number(
        self, value: Any, path: str, default: Any, *, integer: bool, low: float, high: float | None = None
    ) -> Any: ...


def parse_guards(parser: _Readers, value: Any) -> GuardsConfig:
    """Read ``guards`` (problems go to ``parser.fail`` with the key's path)."""
    raw = parser.mapping(value, "guards", GUARD_KEYS)
    base = GuardsConfig()
    return GuardsConfig(
        max_deactivations=parser.number(
            raw.get("max_deactivations", base.max_deactivations),
            "guards.max_deactivations",
            None,
            integer=True,
            low=0,
        ),
        max_deactivation_ratio=parser.number(
            raw.get("max_deactivation_ratio", base.max_deactivation_ratio),
            "guards.max_deactivation_ratio",
            None,
            integer=False,
            low=0,
            high=1,
        ),
        api_budget_share=parser.number(
            raw.get("api_budget_share"),
            "guards.api_budget_share",
            base.api_budget_share,
            integer=False,
            low=0,
            high=1,
        ),
        max_plan_age_minutes=parser.number(
            raw.get("max_plan_age_minutes"),
            "guards.max_plan_age_minutes",
            base.max_plan_age_minutes,
            integer=True,
            low=1,
        ),
        trust_allow_mass_deactivation_param=parser.boolean(
            raw.get("trust_allow_mass_deactivation_param"),
            "guards.trust_allow_mass_deactivation_param",
            base.trust_allow_mass_deactivation_param,
        ),
        approval=_approval(parser, raw.get("approval")),
    )


def _approval(parser: _Readers, value: Any) -> ApprovalConfig:
    raw = parser.mapping(value, "guards.approval", {"assigned_users", "notify_conn_id", "notify_format"})
    users: list[Approver] = []
    listed = raw.get("assigned_users")
    if listed is not None and not isinstance(listed, list):
        parser.fail("guards.approval.assigned_users", "expected a list of {id, name}")
        listed = []
    for i, item in enumerate(listed or ()):
        path = f"guards.approval.assigned_users[{i}]"
        if isinstance(item, str):
            item = {"id": item}
        entry = parser.mapping(item, path, {"id", "name"})
        user_id = parser.string(entry.get("id"), f"{path}.id", required=True)
        if user_id:
            users.append({"id": user_id, "name": parser.string(entry.get("name"), f"{path}.name") or user_id})
    return ApprovalConfig(
        assigned_users=tuple(users),
        notify_conn_id=parser.string(raw.get("notify_conn_id"), "guards.approval.notify_conn_id"),
        notify_format=parser.string(raw.get("notify_format"), "guards.approval.notify_format"),
    )
