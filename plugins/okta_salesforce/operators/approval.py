"""Ask a person to approve deprovisioning over the deactivation guard, bound to one plan."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from itertools import islice
from typing import TYPE_CHECKING, Any

from airflow.providers.standard.operators.hitl import ApprovalOperator, HITLOperator
from airflow.sdk.exceptions import AirflowException

if TYPE_CHECKING:
    from airflow.sdk import Context

    from okta_salesforce.operators.plan_handle import PlanHandle
    from okta_salesforce.sync.config import SyncConfig

#: How many users the approval's body and notification list by name.
PREVIEW = 50
#: The XCom key of the answer, with the plan id it was given for (read by the deprovisioning writer).
APPROVAL_XCOM_KEY = "approval"


class DeprovisionApprovalOperator(ApprovalOperator):
    """Ask for approval of one plan's deprovisioning; answer with the plan id the approval is for.

    Built from the config when it runs (nothing is read at DAG parse time): the approvers are
    ``guards.approval.assigned_users``, a ``WebhookNotifier`` on ``guards.approval.notify_conn_id``
    tells them, the body lists the first 50 users (login and name), the count and where the full
    list is, and the request times out (answer: Reject) when the plan reaches
    ``guards.max_plan_age_minutes``, after which the writer would refuse it anyway. The answer and
    the ``plan_id`` it was given for go to XCom under :data:`APPROVAL_XCOM_KEY` (also for a Reject):
    the deprovisioning writer passes the guard only for an ``Approve`` of exactly that plan.

    :param plan: the held plan (:func:`~okta_salesforce.operators.deprovision.approval_request`).
    :param config_path: the sync config file (default: ``OKTA_SALESFORCE_CONFIG``).
    :param target: the config's ``targets:`` entry (None: a config without targets).
    """

    template_fields: Sequence[str] = (*ApprovalOperator.template_fields, "plan", "config_path")

    def __init__(
        self,
        *,
        plan: PlanHandle | dict[str, Any],
        config_path: str | None = None,
        target: str | None = None,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("subject", "Approve Salesforce deprovisioning over the deactivation guard?")
        kwargs.setdefault("defaults", [ApprovalOperator.REJECT])
        super().__init__(**kwargs)
        self.plan = plan
        self.config_path = config_path
        self.target = target

    def execute(self, context: Context) -> Any:
        from okta_salesforce.operators.plan_handle import PlanHandle
        from okta_salesforce.sync.config import load_config

        config = load_config(self.config_path, target=self.target)
        plan = PlanHandle.from_xcom(self.plan)
        left = config.guards.max_plan_age - (datetime.now(UTC) - datetime.fromisoformat(plan.planned_at))
        if left.total_seconds() <= 0:
            raise AirflowException(
                f"The plan {plan.plan_id} is older than guards.max_plan_age_minutes: not asking "
                "for approval; a later run plans again."
            )
        self.response_timeout = left
        self.assigned_users = [dict(u) for u in config.guards.approval.assigned_users] or None  # type: ignore[misc]
        self.body = approval_body(plan)
        self.notifiers = self._notifiers(config, context)
        return super().execute(context)

    def execute_complete(self, context: Context, event: dict[str, Any]) -> Any:
        from okta_salesforce.operators.plan_handle import PlanHandle

        # Validate the answer (a timeout without defaults raises here), then record it with the plan
        # id *before* a Reject skips the downstream tasks (in Airflow 3 that skip ends the task, so a
        # return value would be lost): a writer cleared after a Reject reads the Reject, not nothing.
        validated = HITLOperator.execute_complete(self, context, event)
        by = validated.get("responded_by_user")
        responded_at = validated.get("responded_at")
        answer = {
            "plan_id": PlanHandle.from_xcom(self.plan).plan_id,
            "chosen_options": list(validated.get("chosen_options") or []),
            "responded_by_user": dict(by) if by else None,
            "responded_at": responded_at.isoformat() if isinstance(responded_at, datetime) else responded_at,
        }
        context["ti"].xcom_push(key=APPROVAL_XCOM_KEY, value=answer)
        super().execute_complete(context, event)
        return answer

    def _notifiers(self, config: SyncConfig, context: Context) -> list[Any]:
        from okta_salesforce.operators.plan_handle import PlanHandle

        approval = config.guards.approval
        if not approval.notify_conn_id:
            return []
        from okta_salesforce.notifiers import WebhookNotifier

        plan = PlanHandle.from_xcom(self.plan)
        count = plan.deprovisions.count if plan.deprovisions else 0
        names = ", ".join(u["name"] for u in approval.assigned_users) or "an identity admin"
        dag_id = getattr(context.get("ti"), "dag_id", None) or "the approval DAG"
        text = (
            f"{count} Salesforce users would be deprovisioned (plan "
            f"{plan.plan_id}). Waiting for {names} under Required actions of run "
            f"{context.get('run_id')} of {dag_id}; no answer means Reject.\n\n"
            + preview_lines(plan, limit=10)
        )
        # Names and logins come from Okta and Salesforce: shown verbatim, never rendered as a template.
        text = "{% raw %}" + text + "{% endraw %}"
        return [
            WebhookNotifier(
                title="okta-salesforce: approval needed",
                text=text,
                http_conn_id=approval.notify_conn_id,
                format=approval.notify_format,
            )
        ]


def preview_lines(plan: PlanHandle, *, limit: int = PREVIEW) -> str:
    """Markdown bullets of the first ``limit`` users to deprovision (login, name), and how many more."""
    from okta_salesforce.storage import read_jsonl

    listing = plan.deprovisions
    count = listing.count if listing else 0
    rows = list(islice(read_jsonl(listing.path), limit)) if listing else []
    lines = [f"- {r['action']} `{r['login']}`" + (f" ({r['name']})" if r.get("name") else "") for r in rows]
    if count > len(rows):
        lines.append(f"- … and {count - len(rows)} more")
    return "\n".join(lines)


def approval_body(plan: PlanHandle | dict[str, Any]) -> str:
    """The approval's Markdown body: the guard's message, the count, the first 50 users, the full list."""
    from okta_salesforce.operators.plan_handle import PlanHandle

    plan = PlanHandle.from_xcom(plan)
    count = plan.deprovisions.count if plan.deprovisions else 0
    listing = plan.deprovisions.path if plan.deprovisions else None
    return (
        f"The plan `{plan.plan_id}` (made {plan.planned_at} by run `{plan.run_id}`) would "
        f"deprovision **{count}** managed Salesforce users, over the deactivation guard.\n\n"
        f"{plan.guard.message}\n\n"
        f"First {min(count, PREVIEW)} of {count}:\n\n{preview_lines(plan)}\n\n"
        f"Full list (login, username, name, Salesforce id, reason): `{listing}`.\n\n"
        "**Approve** deprovisions them, each re-checked in Okta and Salesforce just before (anyone "
        "assigned again is kept). **Reject**, or no answer before the plan expires, deprovisions nobody."
    )
