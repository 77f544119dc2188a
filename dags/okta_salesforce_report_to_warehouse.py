"""Example downstream DAG: load each sync report into a warehouse table when the report Asset updates."""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, Param

from okta_salesforce.operators.warehouse import LoadReportToSqlOperator, ReportFailureAlertOperator
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
    ReportFailureAlertOperator(task_id="alert_on_failures", loaded=load_report.output)
