"""Daily full reconciliation of Salesforce users against the Okta Salesforce app's assignments."""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG

from okta_salesforce.pipeline import DEFAULT_ARGS, sync_params, sync_pipeline

with DAG(
    dag_id="okta_salesforce_reconcile",
    description="Full reconciliation: every Okta assignment against every managed Salesforce user.",
    schedule="@daily",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    render_template_as_native_obj=True,
    default_args=DEFAULT_ARGS,
    params=sync_params(incremental=False),
    tags=["okta", "salesforce", "identity"],
    doc_md=__doc__
    + """

Reads **every** user assigned to the Salesforce app in Okta, compares them with the managed
Salesforce users, and creates, activates, updates and deprovisions so both agree. The safety
net behind the incremental `okta_salesforce_sync`. See `docs/dags.md`.
""",
) as dag:
    sync_pipeline(mode="full")
