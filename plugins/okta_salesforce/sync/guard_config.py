"""The ``guards`` section of the sync config: deactivation limits, plan age, approval, API budget.

Kept apart from the rest of the file format so the guard's settings read in one place. Each
part is a frozen pydantic dataclass (see :mod:`okta_salesforce.sync.config_reader`).
"""

from __future__ import annotations

from dataclasses import field
from datetime import timedelta
from functools import cache
from typing import Annotated, Any

from pydantic import Field, PlainValidator, TypeAdapter
from pydantic.dataclasses import dataclass

from okta_salesforce.sync.config_reader import SECTION, Bool, Int, Number, Section, Text

#: The HITL user record the approval task assigns (Airflow's ``HITLUser``: ``id`` and ``name``).
Approver = dict[str, str]


@dataclass(frozen=True, config=SECTION)
class _ApproverEntry(Section):
    """An approver in the file: ``{id, name}``, or just the id."""

    id: Text
    name: str | None = None


@cache
def _approver_adapter() -> TypeAdapter[_ApproverEntry]:
    return TypeAdapter(_ApproverEntry)


def _approver(value: Any) -> Approver:
    entry = _approver_adapter().validate_python({"id": value} if isinstance(value, str) else value)
    return {"id": entry.id, "name": entry.name or entry.id}


@dataclass(frozen=True, config=SECTION)
class ApprovalConfig(Section):
    """Who approves deprovisioning over the guard, and how they hear about it.

    :param assigned_users: the approvers, ``{"id", "name"}`` each (Airflow user ids, as the
        auth manager knows them); only they may answer. Empty: anyone allowed to answer
        required actions may.
    :param notify_conn_id: an ``http`` connection holding a chat webhook URL; when set, the
        approval request is posted there (``okta_salesforce.notifiers.WebhookNotifier``).
    :param notify_format: the webhook body format (``slack``, ``teams`` ...); ``None`` reads the
        connection's extra ``format``.
    """

    assigned_users: tuple[
        Annotated[Approver, PlainValidator(_approver, json_schema_input_type=str | _ApproverEntry)], ...
    ] = ()
    notify_conn_id: str | None = None
    notify_format: str | None = None


@dataclass(frozen=True, config=SECTION)
class GuardsConfig(Section):
    """Safety limits.

    :param max_deactivations: most deactivations/freezes one run may do without approval
        (null: no limit).
    :param max_deactivation_ratio: most deactivations/freezes as a share of managed active
        users (full runs only; null: no limit).
    :param api_budget_share: stop writing once this share of the daily API limit is used.
    :param max_plan_age_minutes: a plan older than this deprovisions nobody (and an approval
        request times out when its plan reaches this age).
    :param trust_allow_mass_deactivation_param: the admin switch: only when true does a run's
        ``allow_mass_deactivation`` param pass the guard without an approval.
    :param approval: approvers and notification of the approval request.
    """

    max_deactivations: Int | None = Field(default=25, ge=0)
    max_deactivation_ratio: Number | None = Field(default=0.10, ge=0, le=1)
    api_budget_share: Number = Field(default=0.8, ge=0, le=1)
    max_plan_age_minutes: Int = Field(default=120, ge=1)
    trust_allow_mass_deactivation_param: Bool = False
    approval: ApprovalConfig = field(default_factory=ApprovalConfig)

    @property
    def max_plan_age(self) -> timedelta:
        """:attr:`max_plan_age_minutes` as a duration."""
        return timedelta(minutes=self.max_plan_age_minutes)
