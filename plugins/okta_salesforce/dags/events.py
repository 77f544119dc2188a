"""Near-real-time provisioning: one run per batch of Okta assignment events, seconds after they happen."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import pendulum
from airflow.sdk import DAG, Asset, AssetWatcher

from okta_salesforce.dag_settings import dag_default_args, sync_params, target_settings
from okta_salesforce.dags import build_dags, single_dag, target_doc, target_tags
from okta_salesforce.event_pipeline import event_pipeline
from okta_salesforce.sync.target_names import EVENTS_DAG_ID, TargetNames
from okta_salesforce.triggers.okta_events import OktaAssignmentEventTrigger

if TYPE_CHECKING:
    from okta_salesforce.sync.dag_config import DagConfig

#: Seconds between System Log polls in the triggerer (one request per poll while nothing happens).
POLL_INTERVAL = float(os.environ.get("OKTA_SALESFORCE_EVENT_POLL_INTERVAL", "10"))
#: Seconds between polls while Okta Event Hook deliveries reach the API server (docs/event-driven.md).
PUSH_POLL_INTERVAL = float(os.environ.get("OKTA_SALESFORCE_EVENT_PUSH_POLL_INTERVAL", "60"))


def assignment_events(config: DagConfig | None) -> Asset:
    """The Asset whose watcher polls the target's System Log (its cursor lives in the Asset's state)."""
    target = config.target if config else None
    names = TargetNames(target)
    # A named target's app id is fixed here; without targets the triggerer reads the config.
    app_id = config.okta_app_id if config is not None and target else None
    return Asset(
        name=names.events_asset,
        watchers=[
            AssetWatcher(
                name="okta_system_log",
                trigger=OktaAssignmentEventTrigger(
                    okta_conn_id=config.okta_conn_id if config else "okta_default",
                    app_id=app_id,
                    poll_interval=POLL_INTERVAL,
                    push_poll_interval=PUSH_POLL_INTERVAL,
                ),
            )
        ],
    )


def build(config: DagConfig | None) -> DAG:
    """The event-driven DAG of one target (``None``: no config file)."""
    target = config.target if config else None
    with DAG(
        dag_id=TargetNames(target).dag_id(EVENTS_DAG_ID),
        description="Provision exactly the users whose Salesforce app assignment just changed in Okta.",
        schedule=[assignment_events(config)],
        start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
        catchup=False,
        max_active_runs=1,
        render_template_as_native_obj=True,
        default_args=dag_default_args(config=config),
        params=sync_params(incremental=False),
        tags=["okta", "salesforce", "identity", "event-driven", *target_tags(config)],
        doc_md=__doc__
        + """

An Okta Event Hook delivered to the API server (`/okta-salesforce/event-hooks/okta`), or else the
triggerer polling the Okta System Log for `application.user_membership.add|remove|change_username`
of the Salesforce app, records an Asset event naming the affected users; this Dag then reads
just those users' current assignment and creates, activates, updates or deprovisions them, with
the same guards and report as `okta_salesforce_sync`. Up to
`OKTA_SALESFORCE_EVENT_FAST_PATH_MAX_USERS` users (50) that is the one task `event_sync`; a larger
batch runs the full pipeline. Events that arrive during a run are handled by the next one. A
manual run provisions the users of **Only these users**. See `docs/event-driven.md`."""
        + target_doc(config),
    ) as dag:
        # Provision exactly the events' users (never a full read): in event_sync, or in the pipeline.
        event_pipeline(**target_settings(config))
    return dag


dags = build_dags(build)
__getattr__ = single_dag(dags, __name__)
