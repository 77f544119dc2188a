"""Example downstream DAG: load every sync report into a warehouse table when the report Asset updates."""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, Asset, AssetAny, Param

from okta_salesforce.dag_settings import dag_default_args, target_settings
from okta_salesforce.dags import target_configs
from okta_salesforce.notifiers import WebhookNotifier
from okta_salesforce.operators.report_alert import ALERT_TEXT, ALERT_TITLE, ReportFailureAlertOperator
from okta_salesforce.operators.warehouse import LoadReportToSqlOperator

_CONFIGS = target_configs()
#: Any target's report starts a load (several Assets in a plain list would wait for all of them).
_ASSETS: list[Asset] = [target_settings(config)["report_asset"] for config in _CONFIGS]
#: Failures are announced through the first target's notifiers.
_ON_FAILURE = dag_default_args(config=_CONFIGS[0]).get("on_failure_callback", [])

with DAG(
    dag_id="okta_salesforce_report_to_warehouse",
    description="Loads every okta-salesforce run report into the okta_salesforce_user_report table.",
    schedule=_ASSETS if len(_ASSETS) == 1 else AssetAny(*_ASSETS),
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args={"on_failure_callback": _ON_FAILURE},
    params={
        "report": Param(
            "",
            type="string",
            title="Report location",
            description=(
                "Load this report (a location under OKTA_SALESFORCE_STORAGE) instead of the reports "
                "of the triggering Asset events."
            ),
        )
    },
    tags=["okta", "salesforce", "warehouse", "example"],
    doc_md=__doc__
    + """

Runs whenever `okta_salesforce_reconcile`, `okta_salesforce_sync` or `okta_salesforce_events`
(of any target) publish a report, and loads every report the triggering Asset events name (events that arrive
while a load runs come together in the next run) into the SQL connection `okta_salesforce_warehouse`.
Each report replaces the rows of its (DAG id, run id, target) in one transaction: loading it again
changes nothing. When users failed and the HTTP connection `okta_salesforce_alerts` exists (a chat
webhook URL; extra `format`: slack, teams, google_chat, discord or json), it posts a message there.
See `docs/downstream.md`.
""",
) as dag:
    load_report = LoadReportToSqlOperator(task_id="load_report", report="{{ params.report }}")
    ReportFailureAlertOperator(
        task_id="alert_on_failures",
        loaded=load_report.output,
        notifiers=[
            WebhookNotifier(title=ALERT_TITLE, text=ALERT_TEXT, http_conn_id="okta_salesforce_alerts")
        ],
    )

dags = {dag.dag_id: dag}
