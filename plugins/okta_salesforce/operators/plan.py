"""Plan the Salesforce changes of a run, and gate deprovisioning behind the deactivation guard."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

from okta_salesforce import metrics
from okta_salesforce.operators.params import as_bool, as_logins
from okta_salesforce.version_compat import BaseBranchOperator

if TYPE_CHECKING:
    from airflow.sdk import Context

    from okta_salesforce.sync.models import GuardResult, Plan


class PlanSalesforceChangesOperator(BaseOperator):
    """Diff an Okta snapshot against Salesforce and write the plan to run files.

    Reads the managed Salesforce users (all of them for a complete snapshot, only those the
    snapshot's users could match otherwise), builds the plan with
    :func:`okta_salesforce.sync.plan.build_plan` and stores it as JSON Lines (every action, and
    one file per write kind for the writers) beside the resolved Profile/UserRole/PermissionSet
    ids, so the writers need no second lookup. Returns the paths, counts by action, and the
    deactivation guard's verdict.

    :param snapshot: the ``poll_okta`` task's XCom (``path``, ``mode``, ``complete``).
    :param users: Okta logins of an on-demand run (only they are planned).
    :param dry_run: carried to the writers and the report: nothing is written.
    :param allow_mass_deactivation: let deprovisioning go over the guard without approval.
    :param config_path: the sync config file (default: ``OKTA_SALESFORCE_CONFIG``).
    :param salesforce_conn_id: the ``salesforce_oauth`` connection.
    """

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
        snapshot: dict[str, Any] | Any,
        users: list[str] | str | None = None,
        dry_run: bool | str = False,
        allow_mass_deactivation: bool | str = False,
        config_path: str | None = None,
        salesforce_conn_id: str = "salesforce_oauth_default",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.snapshot = snapshot
        self.users = users
        self.dry_run = dry_run
        self.allow_mass_deactivation = allow_mass_deactivation
        self.config_path = config_path
        self.salesforce_conn_id = salesforce_conn_id

    def execute(self, context: Context) -> dict[str, Any]:
        from okta_salesforce.config_location import resolve_config_path
        from okta_salesforce.hooks.salesforce import SalesforceOAuthHook
        from okta_salesforce.storage import read_jsonl, write_json, write_jsonl
        from okta_salesforce.sync.config import load_config
        from okta_salesforce.sync.directory import read_salesforce
        from okta_salesforce.sync.models import OktaAssignment
        from okta_salesforce.sync.plan import build_plan
        from okta_salesforce.sync.progress import Progress

        config = load_config(resolve_config_path(self.config_path))
        assignments = [OktaAssignment.from_dict(row) for row in read_jsonl(self.snapshot["path"])]
        requested = as_logins(self.users)
        if requested:  # an on-demand run also retries the users escrow gave poll_okta
            requested = list(dict.fromkeys([*requested, *(self.snapshot.get("pending") or [])]))
        complete = bool(self.snapshot.get("complete")) and not requested
        subset = None if complete else requested or [a.login for a in assignments]
        sf = SalesforceOAuthHook(salesforce_conn_id=self.salesforce_conn_id).get_conn()
        progress = Progress(self.log, "Salesforce users read")
        state = read_salesforce(sf, config, None if complete else assignments, progress=progress)
        progress.done()
        # Plan every deprovisioning; whether it may run is the guard's verdict below, decided
        # by the branch (and, when tripped, a person through the approval task).
        plan = build_plan(
            assignments,
            state.users,
            config,
            users=subset,
            allow_mass_deactivation=True,
            directory=state.directory,
            entitlements=state.entitlements,
        )
        guard = guard_verdict(plan, config, allow=as_bool(self.allow_mass_deactivation))
        folder = _folder(context)
        try_number = context["ti"].try_number
        # Every action (skips included) for the report; each writer gets a file of just its kinds,
        # so no task parses a 100k-action plan to find the few hundred writes it owns.
        plan_path = folder / f"plan_try{try_number}.jsonl"
        write_jsonl(plan_path, (action.to_dict() for action in plan.actions))
        writes_by_kind: dict[str, list[dict[str, Any]]] = {}
        for action in plan.writes:
            writes_by_kind.setdefault(str(action.kind), []).append(action.to_dict())
        action_paths = {}
        for kind, rows in sorted(writes_by_kind.items()):
            path = folder / f"actions_{kind}_try{try_number}.jsonl"
            write_jsonl(path, rows)
            action_paths[kind] = str(path)
        directory_path = folder / "directory.json"
        write_json(directory_path, state.directory.to_dict())
        counts = plan.summary()
        counts["deprovision"] = counts["deactivate"] + counts["freeze"]
        tags = metrics.task_tags(context)
        metrics.count("salesforce.users_read", len(state.users), tags)
        for kind, number in counts.items():
            if kind != "deprovision":
                metrics.count(f"plan.actions.{kind}", number, tags)
        metrics.duration("plan.duration", progress.seconds, tags)
        self.log.info(
            "Plan for %d Okta records and %d Salesforce users: %s", len(assignments), len(state.users), counts
        )
        if guard.tripped:
            self.log.warning("Deactivation guard: %s", guard.message)
        return {
            "path": str(plan_path),
            "action_paths": action_paths,
            "directory_path": str(directory_path),
            "counts": counts,
            "incremental": plan.incremental,
            "dry_run": as_bool(self.dry_run),
            "guard": {"tripped": guard.tripped, "blocked": guard.blocked, "message": guard.message},
        }


class DeactivationGuardBranchOperator(BaseBranchOperator):
    """Send deprovisioning straight on, or to an approval task when the guard tripped.

    Dry runs never wait for approval (they write nothing).

    :param plan: the ``plan`` task's XCom.
    :param proceed_task_id: the deprovisioning writer.
    :param approval_task_id: the approval task placed before it.
    """

    template_fields: Sequence[str] = ("plan",)

    def __init__(
        self, *, plan: dict[str, Any] | Any, proceed_task_id: str, approval_task_id: str, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.plan = plan
        self.proceed_task_id = proceed_task_id
        self.approval_task_id = approval_task_id

    def choose_branch(self, context: Context) -> str:
        if self.plan["guard"]["blocked"] and not self.plan["dry_run"]:
            self.log.warning("Asking for approval: %s", self.plan["guard"]["message"])
            return self.approval_task_id
        return self.proceed_task_id


def guard_verdict(plan: Plan, config: Any, *, allow: bool) -> GuardResult:
    """The deactivation guard's verdict for ``plan`` as if the run did (not) allow mass deactivation."""
    from okta_salesforce.sync.guards import check_deactivations
    from okta_salesforce.sync.models import DEPROVISION_KINDS

    deprovisions = sum(1 for action in plan.actions if action.kind in DEPROVISION_KINDS)
    managed_active = plan.guard.managed_active if plan.guard else 0
    return check_deactivations(
        config.guards,
        deprovisions,
        managed_active,
        incremental=plan.incremental,
        allow_mass_deactivation=allow,
    )


def _folder(context: Context) -> Any:
    from okta_salesforce.storage import run_folder

    return run_folder(context["ti"].dag_id, context["ti"].run_id)
