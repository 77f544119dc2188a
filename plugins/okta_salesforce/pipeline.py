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

from typing import TYPE_CHECKING, Any

from airflow.sdk import Asset, BaseOperator, TriggerRule

# The DAGs' settings live in a module without the operators (the warehouse example needs them alone).
from okta_salesforce.dag_settings import (
    MAX_ON_DEMAND_USERS as MAX_ON_DEMAND_USERS,
)
from okta_salesforce.dag_settings import (
    REPORT_ASSET as REPORT_ASSET,
)
from okta_salesforce.dag_settings import (
    approval_params as approval_params,
)
from okta_salesforce.dag_settings import (
    dag_default_args,
)
from okta_salesforce.dag_settings import (
    sync_params as sync_params,
)
from okta_salesforce.dag_settings import (
    target_settings as target_settings,
)
from okta_salesforce.operators.deprovision import DeprovisionUsersOperator, RequestDeprovisionApprovalOperator
from okta_salesforce.operators.entitlements import ApplyEntitlementsOperator
from okta_salesforce.operators.okta import OktaAssignmentsOperator
from okta_salesforce.operators.plan import PlanSalesforceChangesOperator
from okta_salesforce.operators.report import SyncReportOperator
from okta_salesforce.operators.salesforce import WRITER_GROUPS, ApplySalesforceChangesOperator
from okta_salesforce.operators.verdict import RunVerdictOperator
from okta_salesforce.pool import SALESFORCE_POOL
from okta_salesforce.sync.target_names import APPROVAL_DAG_ID

if TYPE_CHECKING:
    from airflow.sdk import XComArg


def upstream(value: XComArg | str) -> Any:
    """A task argument Airflow resolves before ``execute``: an upstream task's output or a template.

    The operators type their arguments as the contracts they receive at run time; when a DAG is
    defined, the wiring hands them this placeholder instead (one place says so, for the type checker).
    """
    return value


def __getattr__(name: str) -> Any:
    """``DEFAULT_ARGS``: the default args of a config without targets (read when first asked for)."""
    if name == "DEFAULT_ARGS":
        value = dag_default_args()
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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
