"""Daily full reconciliation of Salesforce users against the Okta Salesforce app's assignments."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pendulum
from airflow.sdk import DAG

from okta_salesforce.dag_settings import dag_default_args, sync_params, target_settings
from okta_salesforce.dags import build_dags, single_dag, target_doc, target_tags
from okta_salesforce.pipeline import sync_pipeline
from okta_salesforce.sync.target_names import RECONCILE_DAG_ID, TargetNames

if TYPE_CHECKING:
    from okta_salesforce.sync.dag_config import DagConfig


def build(config: DagConfig | None) -> DAG:
    """The reconcile DAG of one target (``None``: no config file)."""
    target = config.target if config else None
    with DAG(
        dag_id=TargetNames(target).dag_id(RECONCILE_DAG_ID),
        description="Full reconciliation: every Okta assignment against every managed Salesforce user.",
        schedule="@daily",
        start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
        catchup=False,
        max_active_runs=1,
        render_template_as_native_obj=True,
        default_args=dag_default_args(config=config),
        params=sync_params(incremental=False),
        tags=["okta", "salesforce", "identity", *target_tags(config)],
        doc_md=__doc__
        + """

Reads **every** user assigned to the Salesforce app in Okta, compares them with the managed
Salesforce users, and creates, activates, updates and deprovisions so both agree. The safety
net behind the incremental `okta_salesforce_sync`. See `docs/dags.md`."""
        + target_doc(config),
    ) as dag:
        sync_pipeline(mode="full", **target_settings(config))
    return dag


dags = build_dags(build)
__getattr__ = single_dag(dags, __name__)
