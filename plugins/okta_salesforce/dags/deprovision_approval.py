"""Approval of deprovisioning over the deactivation guard: one run per held plan, outside provisioning."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pendulum
from airflow.sdk import DAG

from okta_salesforce.dag_settings import approval_params, dag_default_args, target_settings
from okta_salesforce.dags import build_dags, single_dag, target_doc, target_tags
from okta_salesforce.pipeline import approval_pipeline
from okta_salesforce.sync.target_names import APPROVAL_DAG_ID, TargetNames

if TYPE_CHECKING:
    from okta_salesforce.sync.dag_config import DagConfig


def build(config: DagConfig | None) -> DAG:
    """The approval DAG of one target (``None``: no config file)."""
    target = config.target if config else None
    names = TargetNames(target)
    with DAG(
        dag_id=names.dag_id(APPROVAL_DAG_ID),
        description="Ask the configured approvers before deprovisioning a plan over the deactivation guard.",
        schedule=None,
        start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
        catchup=False,
        max_active_runs=1,
        # Runs only when a provisioning run asks; paused, it would hold every plan queued, unseen.
        is_paused_upon_creation=False,
        render_template_as_native_obj=True,
        default_args=dag_default_args(config=config),
        params=approval_params(),
        tags=["okta", "salesforce", "identity", "approval", *target_tags(config)],
        doc_md=__doc__
        + f"""

Started by `request_deprovision_approval` of `{names.reconcile_dag_id}`, `{names.sync_dag_id}` or
`{names.events_dag_id}` when a plan would deactivate or freeze more users than the config's guard
allows. The provisioning DAGs carry on meanwhile. **Approve** deprovisions the listed users, each
re-checked in Okta and Salesforce first; **Reject**, or no answer before the plan is
`guards.max_plan_age_minutes` old, deprovisions nobody, and so does clearing the writer after that.
See `docs/sync.md` (Guard and approval)."""
        + target_doc(config),
    ) as dag:
        approval_pipeline(**target_settings(config))
    return dag


dags = build_dags(build)
__getattr__ = single_dag(dags, __name__)
