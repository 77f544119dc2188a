"""Incremental sync every 15 minutes from Okta's System Log assignment events."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pendulum
from airflow.sdk import DAG

from okta_salesforce.dag_settings import dag_default_args, sync_params, target_settings
from okta_salesforce.dags import build_dags, single_dag, target_doc, target_tags
from okta_salesforce.pipeline import sync_pipeline
from okta_salesforce.sync.target_names import SYNC_DAG_ID, TargetNames

if TYPE_CHECKING:
    from okta_salesforce.sync.dag_config import DagConfig


def build(config: DagConfig | None) -> DAG:
    """The incremental sync DAG of one target (``None``: no config file)."""
    target = config.target if config else None
    with DAG(
        dag_id=TargetNames(target).dag_id(SYNC_DAG_ID),
        description="Incremental sync: users whose Salesforce app assignment changed since the last run.",
        schedule="*/15 * * * *",
        start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
        catchup=False,
        max_active_runs=1,
        render_template_as_native_obj=True,
        default_args=dag_default_args(config=config),
        params=sync_params(incremental=True),
        tags=["okta", "salesforce", "identity", *target_tags(config)],
        doc_md=__doc__
        + """

Reads the Okta System Log for `application.user_membership.add|remove|change_username` since the
last run, then the current assignment of just those users, and provisions them. Trigger it with
**Full resync** to read every assignment, or with **Only these users** to provision on demand.
See `docs/dags.md`."""
        + target_doc(config),
    ) as dag:
        sync_pipeline(mode="incremental", **target_settings(config))
    return dag


dags = build_dags(build)
__getattr__ = single_dag(dags, __name__)
