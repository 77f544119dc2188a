"""What the package's DAGs set besides their tasks: default args, the trigger forms, per-target settings.

Cheap to import, and it reads no more of the config than DAG parsing needs
(:mod:`okta_salesforce.sync.dag_config`): the DAG files and downstream DAGs (the warehouse example
needs only :data:`REPORT_ASSET` and :func:`target_settings`) import it without the operators.
:mod:`okta_salesforce.pipeline` re-exports everything here.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from airflow.sdk import Asset, Param

from okta_salesforce.pool import SALESFORCE_POOL
from okta_salesforce.sync.dag_config import DEFAULT_RETRIES, DEFAULT_RETRY_DELAY_SECONDS
from okta_salesforce.sync.target_names import target_names

if TYPE_CHECKING:
    from okta_salesforce.sync.config import SyncConfig
    from okta_salesforce.sync.dag_config import DagConfig

log = logging.getLogger(__name__)

#: The Asset every run of a config without targets updates; downstream DAGs schedule on it. Named
#: without a URI: a URI makes Airflow look up scheme normalizers in every provider at parse time.
REPORT_ASSET = Asset(name="okta_salesforce_user_report")


#: Most Okta logins one on-demand run takes (each costs two Okta reads; larger sets are a resync).
MAX_ON_DEMAND_USERS = 100


def dag_default_args(
    config_path: str | None = None,
    target: str | None = None,
    *,
    config: DagConfig | SyncConfig | None = None,
) -> dict[str, Any]:
    """``default_args`` of the package's DAGs: retries from ``tasks:``, notifiers from ``notifications:``.

    :param target: the config's ``targets:`` entry whose settings apply (None: no targets).
    :param config: the target's config, already read (then nothing is read): a validated
        ``SyncConfig`` or what DAG parsing reads (:class:`~okta_salesforce.sync.dag_config.DagConfig`).

    Read when the DAG files are parsed, without validating the whole config (the tasks do when they
    run): see :mod:`okta_salesforce.sync.dag_config`. A missing config file gives the defaults and
    no notifiers (the tasks then fail on it, visibly); a problem in ``tasks:``, ``notifications:``
    or the targets is an import error, shown in the UI.
    """
    if config is None:
        from okta_salesforce.config_location import resolve_config_path
        from okta_salesforce.sync.dag_config import read_dag_config

        try:
            config = read_dag_config(resolve_config_path(config_path), target)
        except FileNotFoundError as err:
            log.warning("No sync config (%s): the DAGs get no failure notifiers.", err)
    retries, delay = (
        (config.tasks.retries, config.tasks.retry_delay_seconds)
        if config is not None
        else (DEFAULT_RETRIES, DEFAULT_RETRY_DELAY_SECONDS)
    )
    args: dict[str, Any] = {
        "owner": "identity",
        "retries": retries,
        "retry_delay": timedelta(seconds=delay),
        "retry_exponential_backoff": True,
        "max_retry_delay": timedelta(minutes=10),
    }
    specs = config.notifications.on_failure if config is not None else ()
    if specs:
        from okta_salesforce.alerts import FailureAlert

        args["on_failure_callback"] = [FailureAlert(specs)]
    return args


def target_settings(config: DagConfig | SyncConfig | None) -> dict[str, Any]:
    """The :func:`~okta_salesforce.pipeline.sync_pipeline` settings of one target of the config (names
    from :class:`~okta_salesforce.sync.target_names.TargetNames`); ``None``: a missing config,
    today's names."""

    if config is None:
        return {"target": None, "pool": SALESFORCE_POOL, "report_asset": REPORT_ASSET}
    names = target_names(config)
    settings: dict[str, Any] = {
        "target": config.target,
        "okta_conn_id": config.okta_conn_id,
        "salesforce_conn_id": config.salesforce_conn_id,
        "pool": names.pool,
        "report_asset": Asset(name=names.report_asset) if config.target else REPORT_ASSET,
        "approval_dag_id": names.approval_dag_id,
    }
    if config.target:  # a config without targets keeps the operators' own defaults
        settings |= {
            "app_id": config.okta_app_id,
            "cursor_key": names.cursor_key,
            "escrow_key": names.escrow_key,
        }
    return settings


def sync_params(*, incremental: bool) -> dict[str, Param]:
    """The trigger form: every param has a title and a description a person can act on."""
    params = {
        "dry_run": Param(
            False,
            type="boolean",
            title="Dry run",
            description="Compute and report the plan, write nothing to Salesforce.",
        ),
        "users": Param(
            [],
            type="array",
            items={"type": "string", "minLength": 1, "maxLength": 256},
            maxItems=MAX_ON_DEMAND_USERS,
            title="Only these users (provision on demand)",
            description=(
                f"Okta logins, one per line (at most {MAX_ON_DEMAND_USERS}). When set, only these "
                "users are read, planned and written; nobody else is deactivated."
            ),
        ),
        "allow_mass_deactivation": Param(
            False,
            type="boolean",
            title="Allow mass deactivation",
            description=(
                "Deactivate even when the plan exceeds the deactivation guard, without an approval. "
                "Effective only when the config's guards.trust_allow_mass_deactivation_param is true "
                "(an admin's setting); otherwise a plan over the guard is sent for approval."
            ),
        ),
    }
    if incremental:
        params["full_resync"] = Param(
            False,
            type="boolean",
            title="Full resync",
            description="Read every assignment instead of the System Log events since the last run.",
        )
    return params


def approval_params() -> dict[str, Param]:
    """The approval DAG's conf: the held plan, as the provisioning run's request sends it."""
    return {
        "plan": Param(
            {},
            type="object",
            title="Held plan",
            description=(
                "Sent by request_deprovision_approval of a provisioning run. An approval applies to this "
                "plan's id only; every user is re-checked before being deprovisioned."
            ),
        ),
    }
