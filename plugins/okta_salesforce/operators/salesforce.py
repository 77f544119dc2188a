"""Write a plan's actions to Salesforce: create, activate, update, deactivate or freeze users."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

if TYPE_CHECKING:
    from airflow.sdk import Context

ACTION_KINDS = ("create", "activate", "update", "unfreeze", "deactivate", "freeze")


class ApplySalesforceChangesOperator(BaseOperator):
    """Apply the plan's actions of the given kinds through sObject Collections; record every outcome.

    Batches of up to 200 records with ``allOrNone=false``: one bad record never sinks its batch,
    every record gets an outcome (success, or Salesforce's error code, message and fields),
    written as JSON Lines beside the plan. A dry run writes nothing.

    :param plan: the ``plan`` task's XCom (``path``, ``directory_path``, ``dry_run``).
    :param actions: the action kinds this task applies (e.g. ``["create"]``).
    :param config_path: the sync config file (default: ``OKTA_SALESFORCE_CONFIG``).
    :param salesforce_conn_id: the ``salesforce_oauth`` connection.
    """

    template_fields: Sequence[str] = ("plan", "actions", "config_path")

    def __init__(
        self,
        *,
        plan: dict[str, Any] | Any,
        actions: Sequence[str],
        config_path: str | None = None,
        salesforce_conn_id: str = "salesforce_oauth_default",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        unknown = set(actions) - set(ACTION_KINDS)
        if unknown:
            raise ValueError(f"actions: unknown kinds {sorted(unknown)}; expected some of {ACTION_KINDS}")
        self.plan = plan
        self.actions = actions
        self.config_path = config_path
        self.salesforce_conn_id = salesforce_conn_id

    def execute(self, context: Context) -> dict[str, Any]:
        from okta_salesforce.storage import read_json, read_jsonl, run_folder, write_jsonl
        from okta_salesforce.sync.config import load_config
        from okta_salesforce.sync.models import Action, DirectoryInfo, Plan
        from okta_salesforce.sync.writer import apply_plan

        paths = self.plan.get("action_paths") or {}
        plan = Plan(
            actions=tuple(
                Action.from_dict(row)
                for kind in self.actions
                if kind in paths
                for row in read_jsonl(paths[kind])
            ),
            incremental=bool(self.plan.get("incremental")),
        )
        dry_run = bool(self.plan.get("dry_run"))
        ti = context["ti"]
        target = run_folder(ti.dag_id, ti.run_id) / f"outcomes_{ti.task_id}_try{ti.try_number}.jsonl"
        if not plan.actions:
            self.log.info("Nothing to %s.", "/".join(self.actions))
            outcomes = []
        else:
            config = load_config(self.config_path)
            directory = DirectoryInfo.from_dict(read_json(self.plan["directory_path"]))
            sf = None
            if not dry_run:
                from okta_salesforce.hooks.salesforce import SalesforceOAuthHook

                sf = SalesforceOAuthHook(salesforce_conn_id=self.salesforce_conn_id).get_conn()
            outcomes = apply_plan(sf, plan, config, directory, dry_run=dry_run)  # type: ignore[arg-type]
        write_jsonl(target, (o.to_dict() for o in outcomes))
        counts = Counter("success" if o.success else "failed" for o in outcomes)
        self.log.info(
            "%s %d records: %d succeeded, %d failed%s",
            "/".join(self.actions),
            len(outcomes),
            counts["success"],
            counts["failed"],
            " (dry run, nothing written)" if dry_run else "",
        )
        return {"path": str(target), "actions": list(self.actions), "dry_run": dry_run, **counts}
