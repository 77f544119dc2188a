"""Incremental sync every 15 minutes from Okta's System Log assignment events."""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG

from okta_salesforce.pipeline import DEFAULT_ARGS, sync_params, sync_pipeline

with DAG(
    dag_id="okta_salesforce_sync",
    description="Incremental sync: users whose Salesforce app assignment changed since the last run.",
    schedule="*/15 * * * *",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    render_template_as_native_obj=True,
    default_args=DEFAULT_ARGS,
    params=sync_params(incremental=True),
    tags=["okta", "salesforce", "identity"],
    doc_md=__doc__
    + """

Reads the Okta System Log for `application.user_membership.add|remove|change_username` since the
last run, then the current assignment of just those users, and provisions them. Trigger it with
**Full resync** to read every assignment, or with **Only these users** to provision on demand.
See `docs/dags.md`.
""",
) as dag:
    sync_pipeline(mode="incremental")
