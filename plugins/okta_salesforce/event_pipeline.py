"""The events Dag's wiring: a one-task fast path for small batches, the full pipeline above them.

The graph (see :mod:`okta_salesforce.operators.event_sync`)::

    event_sync ─┬─▶ poll_okta >> plan >> writers >> ... >> report >> check_run   (over max_users)
                ├─▶ event_request_approval   (the guard held deprovisioning)
                └─▶ event_check_run          (the run must fail: unfinished writes, failure ratio)

``event_sync`` follows at most these paths and skips the rest: for a batch of up to ``max_users``
users the run is that one task (plus one task when approval is needed or the run fails).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, cast

from airflow.sdk import Asset, AssetAlias

from okta_salesforce.dag_settings import REPORT_ASSET
from okta_salesforce.operators.deprovision import RequestDeprovisionApprovalOperator
from okta_salesforce.operators.event_sync import (
    DEFAULT_MAX_USERS,
    HELD_KEY,
    USERS_KEY,
    EventSyncOperator,
    EventVerdictOperator,
)
from okta_salesforce.pipeline import sync_pipeline, upstream
from okta_salesforce.pool import SALESFORCE_POOL
from okta_salesforce.sync.target_names import APPROVAL_DAG_ID

if TYPE_CHECKING:
    from airflow.sdk.definitions.xcom_arg import PlainXComArg

#: Environment variable with the fast path's largest batch (``0``: always the full pipeline).
MAX_USERS_ENV = "OKTA_SALESFORCE_EVENT_FAST_PATH_MAX_USERS"


def fast_path_max_users() -> int:
    """The fast path's largest batch: ``$OKTA_SALESFORCE_EVENT_FAST_PATH_MAX_USERS`` or 50."""
    text = os.environ.get(MAX_USERS_ENV, "").strip()
    try:
        value = int(text) if text else DEFAULT_MAX_USERS
    except ValueError:
        raise ValueError(f"{MAX_USERS_ENV} must be a whole number of users, not {text!r}") from None
    if value < 0:
        raise ValueError(f"{MAX_USERS_ENV} must not be negative")
    return value


def event_pipeline(
    *,
    max_users: int | None = None,
    report_asset: Asset = REPORT_ASSET,
    app_id: str | None = None,
    **pipeline_kwargs: Any,
) -> EventSyncOperator:
    """Wire the fast path and, behind it, the full pipeline into the current (events) DAG.

    :param max_users: the largest batch the fast path takes (default: :func:`fast_path_max_users`).
    :param report_asset: the Asset each run's report updates.
    :param app_id: the Okta app id; defaults to the config file's ``okta.app_id``.
    :param pipeline_kwargs: passed on to :func:`~okta_salesforce.pipeline.sync_pipeline` (its
        connections, config path and target, pool and approval DAG id are the fast path's too).
    """
    settings = dict(pipeline_kwargs)
    event_sync = EventSyncOperator(
        task_id="event_sync",
        max_users=fast_path_max_users() if max_users is None else max_users,
        report_asset=report_asset,
        report_alias=AssetAlias(name=f"{report_asset.name}__event_sync"),
        app_id=app_id,
        pool=settings.get("pool", SALESFORCE_POOL),
        target=settings.get("target") or "default",
        config_path=settings.get("config_path"),
        okta_conn_id=settings.get("okta_conn_id", "okta_default"),
        salesforce_conn_id=settings.get("salesforce_conn_id", "salesforce_oauth_default"),
    )
    # Over the threshold: poll_okta reads the users event_sync hands over (the XComArg makes
    # event_sync its upstream). An operator's output is a PlainXComArg, typed as the base XComArg.
    output = cast("PlainXComArg", event_sync.output)
    sync_pipeline(
        mode="full",
        app_id=app_id,
        users=output[USERS_KEY],
        report_asset=report_asset,
        **pipeline_kwargs,
    )
    event_sync >> [
        RequestDeprovisionApprovalOperator(
            task_id="event_request_approval",
            held=upstream(output[HELD_KEY]),
            trigger_dag_id=settings.get("approval_dag_id", APPROVAL_DAG_ID),
        ),
        EventVerdictOperator(task_id="event_check_run", result=event_sync.output),
    ]
    return event_sync
