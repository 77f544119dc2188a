"""Near-real-time provisioning: one run per batch of Okta assignment events, seconds after they happen."""

from __future__ import annotations

import os

import pendulum
from airflow.sdk import DAG, Asset, AssetWatcher

from okta_salesforce.event_pipeline import event_pipeline
from okta_salesforce.pipeline import DEFAULT_ARGS, sync_params
from okta_salesforce.triggers.okta_events import OktaAssignmentEventTrigger

#: Seconds between System Log polls in the triggerer (one request per poll while nothing happens).
POLL_INTERVAL = float(os.environ.get("OKTA_SALESFORCE_EVENT_POLL_INTERVAL", "10"))
#: Seconds between polls while Okta Event Hook deliveries reach the API server (docs/event-driven.md).
PUSH_POLL_INTERVAL = float(os.environ.get("OKTA_SALESFORCE_EVENT_PUSH_POLL_INTERVAL", "60"))

OKTA_ASSIGNMENT_EVENTS = Asset(
    name="okta_salesforce_assignment_events",
    watchers=[
        AssetWatcher(
            name="okta_system_log",
            trigger=OktaAssignmentEventTrigger(
                okta_conn_id="okta_default",
                poll_interval=POLL_INTERVAL,
                push_poll_interval=PUSH_POLL_INTERVAL,
            ),
        )
    ],
)

with DAG(
    dag_id="okta_salesforce_events",
    description="Provision exactly the users whose Salesforce app assignment just changed in Okta.",
    schedule=[OKTA_ASSIGNMENT_EVENTS],
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    render_template_as_native_obj=True,
    default_args=DEFAULT_ARGS,
    params=sync_params(incremental=False),
    tags=["okta", "salesforce", "identity", "event-driven"],
    doc_md=__doc__
    + """

An Okta Event Hook delivered to the API server (`/okta-salesforce/event-hooks/okta`), or else the
triggerer polling the Okta System Log for `application.user_membership.add|remove|change_username`
of the Salesforce app, records an Asset event naming the affected users; this Dag then reads
just those users' current assignment and creates, activates, updates or deprovisions them, with
the same guards and report as `okta_salesforce_sync`. Up to
`OKTA_SALESFORCE_EVENT_FAST_PATH_MAX_USERS` users (50) that is the one task `event_sync`; a larger
batch runs the full pipeline. Events that arrive during a run are handled by the next one. A
manual run provisions the users of **Only these users**. See `docs/event-driven.md`.
""",
) as dag:
    # Provision exactly the events' users (never a full read): in event_sync, or in the pipeline.
    event_pipeline()
