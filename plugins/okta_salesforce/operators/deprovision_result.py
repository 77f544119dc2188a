"""What ``deprovision_users`` returns: :class:`DeprovisionResult`, a writer's result and what it held.

Kept apart from the operators, which DAG files import when they are parsed: the tasks import
this when they run.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from okta_salesforce.operators.plan_handle import PlanHandle
from okta_salesforce.sync.outcomes import WriteResult


@dataclass(frozen=True)
class DeprovisionResult(WriteResult):
    """What ``deprovision_users`` returns: a writer's result, and what it held for approval.

    :param held: how many deprovisionings a provisioning run held back (over the guard).
    :param request: the plan to put to the approval DAG (:func:`approval_request`), when held.
    """

    held: int = 0
    request: PlanHandle | None = None

    def to_xcom(self) -> dict[str, Any]:
        return {
            **super().to_xcom(),
            "held": self.held,
            "request": self.request.to_xcom() if self.request else None,
        }

    @classmethod
    def from_xcom(cls, data: WriteResult | Mapping[str, Any]) -> DeprovisionResult:
        if isinstance(data, DeprovisionResult):
            return data
        base = WriteResult.from_xcom(data)
        held = 0 if isinstance(data, WriteResult) else int(data.get("held") or 0)
        request = None if isinstance(data, WriteResult) else data.get("request")
        return cls(
            **{f.name: getattr(base, f.name) for f in fields(WriteResult)},
            held=held,
            request=PlanHandle.from_xcom(request) if request else None,
        )
