"""Apply the plan's ``entitle`` actions once the users exist: permission sets, groups, licenses, managers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

if TYPE_CHECKING:
    from airflow.sdk import Context

    from okta_salesforce.operators.plan_handle import PlanHandle
    from okta_salesforce.sync.models import Action, Outcome
    from okta_salesforce.sync.outcomes import WriteResult


class ApplyEntitlementsOperator(BaseOperator):
    """Assign and remove managed permission sets, permission set groups and permission set licenses,
    and link managers created in the same run, through sObject Collections (batches of up to 200,
    ``allOrNone`` false). Runs after the user writers: a created user's id (and a new manager's)
    comes from the create writer's outcomes. Writes one outcome per action as JSON Lines beside the
    plan; a dry run writes nothing. Like the user writers, a request that still fails after the
    in-task retries (or a spent API budget) publishes the outcomes and then fails the task.

    :param plan: the ``plan`` task's result (``None`` when it did not finish: the task is skipped).
    :param user_outcomes: the user writers' results (``None`` for a writer that did not finish).
    :param config_path: the sync config file (default: ``OKTA_SALESFORCE_CONFIG``).
    :param salesforce_conn_id: the ``salesforce_oauth`` connection.
    :param target: the config's ``targets:`` entry (None: a config without targets).
    """

    template_fields: Sequence[str] = ("plan", "user_outcomes", "config_path")

    def __init__(
        self,
        *,
        plan: PlanHandle | dict[str, Any] | None,
        user_outcomes: Sequence[WriteResult | dict[str, Any] | None] = (),
        config_path: str | None = None,
        salesforce_conn_id: str = "salesforce_oauth_default",
        target: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.plan = plan
        self.user_outcomes = user_outcomes
        self.config_path = config_path
        self.salesforce_conn_id = salesforce_conn_id
        self.target = target

    def execute(self, context: Context) -> dict[str, Any]:
        from okta_salesforce.operators.plan_handle import PlanHandle
        from okta_salesforce.operators.salesforce import publish_outcomes
        from okta_salesforce.storage import RunFiles
        from okta_salesforce.version_compat import AirflowSkipException

        if not self.plan:
            raise AirflowSkipException("No plan: the plan task did not finish.")
        plan = PlanHandle.from_xcom(self.plan)
        actions = plan.actions(["entitle"])
        outcomes: list[Outcome] = self._apply(plan, actions) if actions else []
        if not actions:
            self.log.info("No entitlement changes.")
        files = RunFiles(context["ti"])
        result = publish_outcomes(
            context, self.log, files, ["entitle"], outcomes, dry_run=plan.dry_run, label="entitlement"
        )
        return result.to_xcom()

    def _apply(self, plan: PlanHandle, actions: list[Action]) -> list[Outcome]:
        from okta_salesforce.operators.salesforce import read_outcomes
        from okta_salesforce.sync.config import load_config
        from okta_salesforce.sync.entitlement_writer import apply_entitlements, created_ids

        created = created_ids(read_outcomes(self.user_outcomes or ()))
        sf = None
        if not plan.dry_run:
            from okta_salesforce.hooks.salesforce import SalesforceOAuthHook

            sf = SalesforceOAuthHook(salesforce_conn_id=self.salesforce_conn_id).get_conn()
        config = load_config(self.config_path, target=self.target)
        return apply_entitlements(
            sf, actions, config, plan.directory(), created=created, dry_run=plan.dry_run
        )
