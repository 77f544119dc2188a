"""Plan the Salesforce changes of a run: the actions, the deactivation guard's verdict, the plan's id.

:class:`PlanHandle` is what the plan task hands the writers, the report and the approval: where
the plan's files are, its counts, the guard's verdict and the plan's id (XCom carries it as a
small dict, :meth:`PlanHandle.to_xcom`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

from okta_salesforce import metrics
from okta_salesforce.operators.params import as_bool, as_logins

if TYPE_CHECKING:
    from airflow.sdk import Context

    from okta_salesforce.operators.plan_handle import PlanHandle
    from okta_salesforce.sync.models import OktaAssignment
    from okta_salesforce.sync.snapshot import OktaSnapshot

#: Moved out of this module (DAG parsing imports it): the plan's handle and its files' writer.
_MOVED = {
    "DeprovisionList": "okta_salesforce.operators.plan_handle",
    "PlanHandle": "okta_salesforce.operators.plan_handle",
    "guard_from_xcom": "okta_salesforce.operators.plan_handle",
    "guard_to_xcom": "okta_salesforce.operators.plan_handle",
    "PlanView": "okta_salesforce.operators.plan_files",
    "deprovision_rows": "okta_salesforce.operators.plan_files",
    "planned_logins": "okta_salesforce.operators.plan_files",
    "write_plan": "okta_salesforce.operators.plan_files",
}


def __getattr__(name: str) -> Any:
    """The names that moved to :mod:`~okta_salesforce.operators.plan_handle` and
    :mod:`~okta_salesforce.operators.plan_files`, still importable from here (imported when asked for)."""
    if name in _MOVED:
        import importlib

        return getattr(importlib.import_module(_MOVED[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class PlanSalesforceChangesOperator(BaseOperator):
    """Diff an Okta snapshot against Salesforce and write the plan to run files.

    Reads the managed Salesforce users (all of them for a complete snapshot, only those the
    snapshot's users could match otherwise), builds the plan with
    :func:`okta_salesforce.sync.plan.build_plan` and stores it as JSON Lines (every action, and
    one file per write kind for the writers) beside the resolved Profile/UserRole/PermissionSet
    ids, so the writers need no second lookup. Returns the paths, counts by action, the
    deactivation guard's verdict, and the plan's id and time (an approval is bound to the id; the
    deprovisioning writer refuses a plan past ``guards.max_plan_age_minutes``). When the plan
    deprovisions anyone, ``deprovisions.path`` lists them with their names (the approval shows it).

    :param snapshot: the ``poll_okta`` task's result (:class:`~okta_salesforce.sync.snapshot.OktaSnapshot`).
    :param users: Okta logins of an on-demand run (only they, and the users escrow had due, are
        planned): the same value ``poll_okta`` gets.
    :param dry_run: make a dry-run plan even when the snapshot's run is not one (a dry-run
        snapshot always gives a dry-run plan): the writers and the report carry it on.
    :param allow_mass_deactivation: the run's param; passes the guard only when the config's
        ``guards.trust_allow_mass_deactivation_param`` is true.
    :param config_path: the sync config file (default: ``OKTA_SALESFORCE_CONFIG``).
    :param salesforce_conn_id: the ``salesforce_oauth`` connection.
    :param target: the config's ``targets:`` entry (None: a config without targets).
    """

    # The `dry_run` param shadows BaseOperator.dry_run(), a method Airflow 3 never calls.
    dry_run: bool | str  # type: ignore[assignment]
    template_fields: Sequence[str] = (
        "snapshot",
        "users",
        "dry_run",
        "allow_mass_deactivation",
        "config_path",
    )

    def __init__(
        self,
        *,
        snapshot: OktaSnapshot | dict[str, Any],
        users: list[str] | str | None = None,
        dry_run: bool | str = False,
        allow_mass_deactivation: bool | str = False,
        config_path: str | None = None,
        salesforce_conn_id: str = "salesforce_oauth_default",
        target: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.snapshot = snapshot
        self.users = users
        self.dry_run = dry_run
        self.allow_mass_deactivation = allow_mass_deactivation
        self.config_path = config_path
        self.salesforce_conn_id = salesforce_conn_id
        self.target = target

    def execute(self, context: Context) -> dict[str, Any]:
        from okta_salesforce.config_location import resolve_config_path
        from okta_salesforce.hooks.salesforce import SalesforceOAuthHook
        from okta_salesforce.operators.plan_files import planned_logins, write_plan
        from okta_salesforce.storage import RunFiles, read_jsonl
        from okta_salesforce.sync.config import load_config
        from okta_salesforce.sync.guards import plan_fingerprint
        from okta_salesforce.sync.models import DEPROVISION_KINDS, OktaAssignment
        from okta_salesforce.sync.plan_read import plan_from_salesforce
        from okta_salesforce.sync.progress import Progress
        from okta_salesforce.sync.snapshot import OktaSnapshot

        config = load_config(resolve_config_path(self.config_path), target=self.target)
        snapshot = OktaSnapshot.from_xcom(self.snapshot)
        records = (OktaAssignment.from_dict(row) for row in read_jsonl(snapshot.path))
        requested = as_logins(self.users)
        if snapshot.complete and not requested:
            # A complete snapshot is streamed into the plan's disk-backed store, never held in memory.
            assignments: Iterable[OktaAssignment] = records
            subset = None
        else:
            assignments = list(records)
            subset = planned_logins(snapshot, assignments, requested)
        sf = SalesforceOAuthHook(salesforce_conn_id=self.salesforce_conn_id).get_conn()
        progress = Progress(self.log, "Salesforce users read")
        allow = as_bool(self.allow_mass_deactivation, name="allow_mass_deactivation")
        dry_run = as_bool(self.dry_run, name="dry_run") or snapshot.dry_run
        ti = context["ti"]
        with plan_from_salesforce(sf, config, assignments, subset, allow, progress) as plan:
            planned_at, started = datetime.now(UTC).isoformat(), snapshot.started_at or ""
            plan_id = plan_fingerprint(
                plan.actions(DEPROVISION_KINDS),
                run_id=ti.run_id,
                planned_at=planned_at,
                snapshot_started=started,
            )
            handle = write_plan(
                RunFiles(ti), plan, run_id=ti.run_id, dry_run=dry_run, plan_id=plan_id, planned_at=planned_at
            )
            handle = replace(handle, snapshot_started=started)
            self._record(context, handle, plan.assignments_read, plan.users_read, progress.seconds)
        return handle.to_xcom()

    def _record(
        self, context: Context, handle: PlanHandle, assignments: int, users: int, seconds: float
    ) -> None:
        """Metrics and log lines of the plan."""
        tags = metrics.task_tags(context)
        metrics.count("salesforce.users_read", users, tags)
        for kind, number in handle.counts.items():
            if kind != "deprovision":
                metrics.count(f"plan.actions.{kind}", number, tags)
        metrics.duration("plan.duration", seconds, tags)
        self.log.info(
            "Plan for %d Okta records and %d Salesforce users: %s", assignments, users, dict(handle.counts)
        )
        if handle.guard.tripped:
            self.log.warning("Deactivation guard: %s", handle.guard.message)
