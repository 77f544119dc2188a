"""Apply the plan's ``entitle`` actions once the users exist: permission sets, groups, licenses, managers."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

if TYPE_CHECKING:
    from airflow.sdk import Context


class ApplyEntitlementsOperator(BaseOperator):
    """Assign and remove managed permission sets, permission set groups and permission set licenses,
    and link managers created in the same run, through sObject Collections (batches of up to 200,
    ``allOrNone`` false). Runs after the user writers: a created user's id (and a new manager's)
    comes from the create writer's outcomes. Writes one outcome per action as JSON Lines beside the
    plan; a dry run writes nothing. Like the user writers, a request that still fails after the
    in-task retries (or a spent API budget) publishes the outcomes and then fails the task.

    :param plan: the ``plan`` task's XCom (``action_paths``, ``directory_path``, ``dry_run``).
    :param user_outcomes: the user writers' XComs (``None`` for a writer that did not run).
    :param config_path: the sync config file (default: ``OKTA_SALESFORCE_CONFIG``).
    :param salesforce_conn_id: the ``salesforce_oauth`` connection.
    :param target: the config's ``targets:`` entry (None: a config without targets).
    """

    template_fields: Sequence[str] = ("plan", "user_outcomes", "config_path")

    def __init__(
        self,
        *,
        plan: dict[str, Any] | Any,
        user_outcomes: Sequence[dict[str, Any] | None] | Any = (),
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
        from okta_salesforce.operators.salesforce import WritesUnfinished
        from okta_salesforce.storage import read_json, read_jsonl, run_folder, write_jsonl
        from okta_salesforce.sync.entitlement_writer import apply_entitlements, created_ids
        from okta_salesforce.sync.models import Action, DirectoryInfo, Outcome
        from okta_salesforce.sync.transport import STOP_CODES
        from okta_salesforce.version_compat import AirflowSkipException

        if not self.plan:
            raise AirflowSkipException("No plan: the plan task did not finish.")
        path = (self.plan.get("action_paths") or {}).get("entitle")
        dry_run = bool(self.plan.get("dry_run"))
        ti = context["ti"]
        target = run_folder(ti.dag_id, ti.run_id) / f"outcomes_{ti.task_id}_try{ti.try_number}.jsonl"
        actions = [Action.from_dict(row) for row in read_jsonl(path)] if path else []
        outcomes = []
        if actions:
            from okta_salesforce.sync.config import load_config

            created = created_ids(
                Outcome.from_dict(row)
                for xcom in self.user_outcomes or ()
                if xcom
                for row in read_jsonl(xcom["path"])
            )
            directory = DirectoryInfo.from_dict(read_json(self.plan["directory_path"]))
            sf = None
            if not dry_run:
                from okta_salesforce.hooks.salesforce import SalesforceOAuthHook

                sf = SalesforceOAuthHook(salesforce_conn_id=self.salesforce_conn_id).get_conn()
            outcomes = apply_entitlements(
                sf,
                actions,
                load_config(self.config_path, target=self.target),
                directory,
                created=created,
                dry_run=dry_run,
            )
        else:
            self.log.info("No entitlement changes.")
        write_jsonl(target, (o.to_dict() for o in outcomes))
        counts = Counter("success" if o.success else "failed" for o in outcomes)
        self.log.info(
            "Entitlements of %d users: %d succeeded, %d failed%s",
            len(outcomes),
            counts["success"],
            counts["failed"],
            " (dry run, nothing written)" if dry_run else "",
        )
        result = {"path": str(target), "actions": ["entitle"], "dry_run": dry_run, **counts}
        stopped = [o for o in outcomes if o.error_code in STOP_CODES]
        if stopped and not dry_run:
            # As the user writers do: publish the outcomes for the report (which keeps these users
            # pending), then fail the try so that Airflow retries it.
            ti.xcom_push(key="return_value", value=result)
            raise WritesUnfinished(
                f"{len(stopped)} entitlement writes unfinished ({stopped[0].error_code}): "
                f"{stopped[0].message}. They are pending and retried by the next try or run."
            )
        return result
