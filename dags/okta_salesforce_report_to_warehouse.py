"""Example downstream DAG: load each sync report into a warehouse table when the report Asset updates."""

from __future__ import annotations

import pendulum
from airflow.providers.http.operators.http import HttpOperator
from airflow.providers.standard.operators.python import ShortCircuitOperator
from airflow.sdk import DAG, Param

from okta_salesforce.operators.warehouse import LoadReportToSqlOperator, alert_payload, should_alert
from okta_salesforce.pipeline import REPORT_ASSET

with DAG(
    dag_id="okta_salesforce_report_to_warehouse",
    description="Loads every okta-salesforce run report into the okta_salesforce_user_report table.",
    schedule=[REPORT_ASSET],
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    params={
        "report": Param(
            "",
            type="string",
            title="Report location",
            description="Load this report instead of the one from the triggering Asset event.",
        )
    },
    tags=["okta", "salesforce", "warehouse", "example"],
    user_defined_filters={"alert_payload": alert_payload},
    doc_md=__doc__
    + """

Runs whenever `okta_salesforce_reconcile`, `okta_salesforce_sync` or `okta_salesforce_events`
publish a report. Uses the SQL connection `okta_salesforce_warehouse` (PostgreSQL in the
example). Reloading a run replaces its rows. When users failed and an HTTP connection
`okta_salesforce_alerts` exists (a Slack or Teams incoming webhook URL), it posts a message
there. See `docs/dags.md`.
""",
) as dag:
    load_report = LoadReportToSqlOperator(task_id="load_report", report="{{ params.report }}")
    any_failures = ShortCircuitOperator(
        task_id="any_failures", python_callable=should_alert, op_args=[load_report.output]
    )
    alert_on_failures = HttpOperator(
        task_id="alert_on_failures",
        http_conn_id="okta_salesforce_alerts",
        endpoint="",
        method="POST",
        data="{{ ti.xcom_pull(task_ids='load_report') | alert_payload }}",
        headers={"Content-Type": "application/json"},
    )
    load_report >> any_failures >> alert_on_failures
