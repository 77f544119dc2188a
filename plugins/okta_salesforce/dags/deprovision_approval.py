"""Approval of deprovisioning over the deactivation guard: one run per held plan, outside provisioning."""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG

from okta_salesforce.operators.deprovision import APPROVAL_DAG_ID
from okta_salesforce.pipeline import DEFAULT_ARGS, approval_params, approval_pipeline

with DAG(
    dag_id=APPROVAL_DAG_ID,
    description="Ask the configured approvers before deprovisioning a plan over the deactivation guard.",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    render_template_as_native_obj=True,
    default_args=DEFAULT_ARGS,
    params=approval_params(),
    tags=["okta", "salesforce", "identity", "approval"],
    doc_md=__doc__
    + """

Started by `request_deprovision_approval` of `okta_salesforce_reconcile`, `okta_salesforce_sync` or
`okta_salesforce_events` when a plan would deactivate or freeze more users than the config's guard
allows. The provisioning DAGs carry on meanwhile. **Approve** deprovisions the listed users, each
re-checked in Okta and Salesforce first; **Reject**, or no answer before the plan is
`guards.max_plan_age_minutes` old, deprovisions nobody, and so does clearing the writer after that.
See `docs/sync.md` (Guard and approval).
""",
) as dag:
    approval_pipeline()
