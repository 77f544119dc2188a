"""The reconciliation pipeline shared by the DAGs: params, task wiring, the report Asset.

DAG files stay thin: they pick a schedule and a mode and call :func:`sync_pipeline`
inside their ``DAG`` block. Everything here is cheap to import (operators import their
hooks, the okta SDK and simple-salesforce only when they run).

The graph of the provisioning DAGs (reconcile, sync, events)::

    poll_okta >> plan >> [create_users, activate_users, update_users] >> entitle_users
                 plan >> deprovision_users
    all writers >> report  (runs even when a writer failed, settles escrow, publishes the Asset)
    report >> check_run    (fails the run when a writer failed or failures are over the ratio)
    deprovision_users >> request_deprovision_approval  (only when the guard held deprovisioning)

(the events DAG puts a one-task fast path for small batches in front: :mod:`okta_salesforce.event_pipeline`)

and of the approval DAG (:func:`approval_pipeline`), one run per held plan::

    approve_deactivations >> deprovision_users >> report >> check_run

A provisioning run never waits for a person: deprovisioning over the guard is held (nothing
written, reported ``not_approved``) and handed to the approval DAG, whose writer deprovisions
only after an Approve of that very plan, re-checking every user first.

Both take every setting as an argument (connections, config path and target, pool, report Asset,
approval DAG id, escrow and cursor Variables), so a DAG can be built by hand; the package's DAGs
(:mod:`okta_salesforce.dags`) build one set per target of the config with :func:`target_settings`.

``poll_okta`` writes the users it read ahead into escrow and only then moves the System Log
cursor; the report settles escrow (see :mod:`okta_salesforce.sync.escrow`). Every task of the
DAGs gets the config's failure notifiers as ``on_failure_callback`` and its retry settings.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from airflow.sdk import Asset, BaseOperator, Param, TriggerRule

from okta_salesforce.operators.deprovision import DeprovisionUsersOperator, RequestDeprovisionApprovalOperator
from okta_salesforce.operators.entitlements import ApplyEntitlementsOperator
from okta_salesforce.operators.okta import OktaAssignmentsOperator
from okta_salesforce.operators.plan import PlanSalesforceChangesOperator
from okta_salesforce.operators.report import SyncReportOperator
from okta_salesforce.operators.salesforce import WRITER_GROUPS, ApplySalesforceChangesOperator
from okta_salesforce.operators.verdict import RunVerdictOperator
from okta_salesforce.pool import SALESFORCE_POOL
from okta_salesforce.sync.targets import APPROVAL_DAG_ID

if TYPE_CHECKING:
    from airflow.sdk import XComArg

    from okta_salesforce.sync.config import SyncConfig

#: The Asset every run of a config without targets updates; downstream DAGs schedule on it. Named
#: without a URI: a URI makes Airflow look up scheme normalizers in every provider at parse time.
REPORT_ASSET = Asset(name="okta_salesforce_user_report")


#: Most Okta logins one on-demand run takes (each costs two Okta reads; larger sets are a resync).
MAX_ON_DEMAND_USERS = 100


def upstream(value: XComArg | str) -> Any:
    """A task argument Airflow resolves before ``execute``: an upstream task's output or a template.

    The operators type their arguments as the contracts they receive at run time; when a DAG is
    defined, the wiring hands them this placeholder instead (one place says so, for the type checker).
    """
    return value


def dag_default_args(
    config_path: str | None = None, target: str | None = None, *, config: SyncConfig | None = None
) -> dict[str, Any]:
    """``default_args`` of the package's DAGs: retries from ``tasks:``, notifiers from ``notifications:``.

    :param target: the config's ``targets:`` entry whose settings apply (None: no targets).
    :param config: the target's config, already loaded (then nothing is read).

    Read once when the DAG files are parsed (a small YAML file). A missing config file gives the
    defaults and no notifiers (the tasks then fail on it, visibly); an invalid one is an import
    error, shown in the UI.
    """
    from okta_salesforce.alerts import FailureAlert, failure_callbacks
    from okta_salesforce.config_location import resolve_config_path
    from okta_salesforce.sync.config import load_config
    from okta_salesforce.sync.config_runtime import TasksConfig

    if config is not None:
        tasks = config.tasks
        specs = config.notifications.on_failure
        callbacks = [FailureAlert(specs)] if specs else []
    else:
        try:
            tasks = load_config(resolve_config_path(config_path), target=target).tasks
        except FileNotFoundError:
            tasks = TasksConfig()
        callbacks = failure_callbacks(config_path, target)
    args: dict[str, Any] = {
        "owner": "identity",
        "retries": tasks.retries,
        "retry_delay": timedelta(seconds=tasks.retry_delay_seconds),
        "retry_exponential_backoff": True,
        "max_retry_delay": timedelta(minutes=10),
    }
    if callbacks:
        args["on_failure_callback"] = callbacks
    return args


def __getattr__(name: str) -> Any:
    """``DEFAULT_ARGS``: the default args of a config without targets (read when first asked for)."""
    if name == "DEFAULT_ARGS":
        value = dag_default_args()
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def target_settings(config: SyncConfig | None) -> dict[str, Any]:
    """The :func:`sync_pipeline` settings of one target of the config (names from
    :class:`~okta_salesforce.sync.targets.TargetNames`); ``None``: a missing config, today's names."""
    from okta_salesforce.sync.targets import target_names

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


def sync_pipeline(
    *,
    mode: str,
    app_id: str | None = None,
    users: Any = "{{ params.users }}",
    okta_conn_id: str = "okta_default",
    salesforce_conn_id: str = "salesforce_oauth_default",
    config_path: str | None = None,
    target: str | None = None,
    pool: str = SALESFORCE_POOL,
    report_asset: Asset = REPORT_ASSET,
    approval_dag_id: str = APPROVAL_DAG_ID,
    cursor_key: str = "okta_salesforce_log_cursor",
    escrow_key: str | None = None,
) -> SyncReportOperator:
    """Wire the reconciliation tasks into the current DAG and return the report task.

    :param mode: ``full`` (every assignment of the app) or ``incremental`` (System Log events;
        the run's ``full_resync`` param switches one run to ``full``).
    :param app_id: the Okta app id; defaults to the config file's ``okta.app_id``.
    :param users: the Okta logins to provision on demand (the ``users`` param by default; an
        upstream task's XCom for event-driven runs), given to ``poll_okta`` and ``plan`` alike. When
        non-empty, only they are read and planned.
    :param okta_conn_id: the ``okta`` connection every task uses.
    :param salesforce_conn_id: the ``salesforce_oauth`` connection every task uses.
    :param config_path: the sync config file (default: ``OKTA_SALESFORCE_CONFIG``, see
        :mod:`okta_salesforce.config_location`).
    :param target: the config's ``targets:`` entry (None: a config without targets).
    :param pool: the pool of every task that calls Salesforce.
    :param report_asset: the Asset the report updates.
    :param approval_dag_id: the DAG asked to approve deprovisioning over the guard.
    :param cursor_key: the Airflow Variable of the System Log cursor (incremental runs).
    :param escrow_key: the Airflow Variable of pending users (default: per Okta app, or per target).

    The DAG must render templates as native objects (``render_template_as_native_obj=True``): the
    params reach the operators as a list and bools, not as their text.
    """
    common: dict[str, Any] = {"config_path": config_path, "target": target}
    poll_mode = mode if mode == "full" else "{{ 'full' if params.full_resync else 'incremental' }}"
    poll_okta = OktaAssignmentsOperator(
        task_id="poll_okta",
        app_id=app_id,
        mode=poll_mode,
        users=users,
        dry_run="{{ params.dry_run }}",
        okta_conn_id=okta_conn_id,
        cursor_key=cursor_key,
        escrow_key=escrow_key,
        **common,
    )
    # The plan gets the users the poll got; dry_run travels in the snapshot (a dry poll, a dry plan).
    plan = PlanSalesforceChangesOperator(
        task_id="plan",
        snapshot=upstream(poll_okta.output),
        users=users,
        allow_mass_deactivation="{{ params.allow_mass_deactivation }}",
        salesforce_conn_id=salesforce_conn_id,
        pool=pool,
        **common,
    )
    # Each writer touches a disjoint set of users, so they run side by side (bounded by the pool).
    writers: list[BaseOperator] = [
        ApplySalesforceChangesOperator(
            task_id=f"{verb}_users",
            plan=upstream(plan.output),
            actions=list(actions),
            salesforce_conn_id=salesforce_conn_id,
            escrow_key=escrow_key,
            pool=pool,
            **common,
        )
        for verb, actions in WRITER_GROUPS
    ]
    # Entitlements and second-pass managers need the users' ids: after the user writers, whatever they did.
    entitle_users = ApplyEntitlementsOperator(
        task_id="entitle_users",
        plan=upstream(plan.output),
        user_outcomes=[upstream(writer.output) for writer in writers],
        salesforce_conn_id=salesforce_conn_id,
        pool=pool,
        trigger_rule=TriggerRule.ALL_DONE,
        **common,
    )
    writers >> entitle_users
    writers.append(entitle_users)
    deprovision_users = DeprovisionUsersOperator(
        task_id="deprovision_users",
        plan=upstream(plan.output),
        allow_mass_deactivation="{{ params.allow_mass_deactivation }}",
        okta_conn_id=okta_conn_id,
        salesforce_conn_id=salesforce_conn_id,
        pool=pool,
        **common,
    )
    report = SyncReportOperator(
        task_id="report",
        plan=upstream(plan.output),
        outcomes=[upstream(writer.output) for writer in [*writers, deprovision_users]],
        writer_task_ids=[writer.task_id for writer in [*writers, deprovision_users]],
        outlets=[report_asset],
        trigger_rule=TriggerRule.ALL_DONE,
        target=target or "default",
        config_path=config_path,
        escrow_key=escrow_key,
    )
    [*writers, deprovision_users] >> report
    # The report publishes even for failed runs; this last task gives the run its state.
    report >> RunVerdictOperator(
        task_id="check_run", report=upstream(report.output), trigger_rule=TriggerRule.ALL_DONE
    )
    # Held deprovisioning goes to its own DAG: this run (and the next ones) never wait for a person.
    RequestDeprovisionApprovalOperator(
        task_id="request_deprovision_approval",
        held=upstream(deprovision_users.output),
        trigger_dag_id=approval_dag_id,
    )
    return report


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


def approval_pipeline(
    *,
    okta_conn_id: str = "okta_default",
    salesforce_conn_id: str = "salesforce_oauth_default",
    config_path: str | None = None,
    target: str | None = None,
    pool: str = SALESFORCE_POOL,
    report_asset: Asset = REPORT_ASSET,
    escrow_key: str | None = None,
    **_: Any,
) -> SyncReportOperator:
    """Wire approval, guarded deprovisioning and the report into the current (approval) DAG.

    Takes the settings of :func:`sync_pipeline` (those it has no use for are ignored).
    """
    # Only the approval DAG needs it: the human-in-the-loop operator costs the others ~25 ms of parse.
    from okta_salesforce.operators.approval import DeprovisionApprovalOperator

    common: dict[str, Any] = {"config_path": config_path, "target": target}
    approve = DeprovisionApprovalOperator(
        task_id="approve_deactivations", plan=upstream("{{ params.plan }}"), **common
    )
    deprovision_users = DeprovisionUsersOperator(
        task_id="deprovision_users",
        plan=upstream("{{ params.plan }}"),
        approval_task_id=approve.task_id,
        okta_conn_id=okta_conn_id,
        salesforce_conn_id=salesforce_conn_id,
        pool=pool,
        **common,
    )
    report = SyncReportOperator(
        task_id="report",
        plan=upstream("{{ params.plan }}"),
        outcomes=[upstream(deprovision_users.output)],
        writer_task_ids=[deprovision_users.task_id],
        outlets=[report_asset],
        trigger_rule=TriggerRule.ALL_DONE,
        target=target or "default",
        config_path=config_path,
        escrow_key=escrow_key,
    )
    approve >> deprovision_users >> report
    report >> RunVerdictOperator(
        task_id="check_run", report=upstream(report.output), trigger_rule=TriggerRule.ALL_DONE
    )
    return report
