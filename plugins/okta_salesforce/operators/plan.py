"""Plan the Salesforce changes of a run: the actions, the deactivation guard's verdict, the plan's id."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

from okta_salesforce import metrics
from okta_salesforce.operators.params import as_bool, as_logins

if TYPE_CHECKING:
    from airflow.sdk import Context

    from okta_salesforce.sync.models import Plan, SalesforceUser


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

    :param snapshot: the ``poll_okta`` task's XCom (``path``, ``mode``, ``complete``).
    :param users: Okta logins of an on-demand run (only they are planned).
    :param dry_run: carried to the writers and the report: nothing is written.
    :param allow_mass_deactivation: the run's param; passes the guard only when the config's
        ``guards.trust_allow_mass_deactivation_param`` is true.
    :param config_path: the sync config file (default: ``OKTA_SALESFORCE_CONFIG``).
    :param salesforce_conn_id: the ``salesforce_oauth`` connection.
    :param target: the config's ``targets:`` entry (None: a config without targets).
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
        from okta_salesforce.storage import read_jsonl, write_json, write_jsonl
        from okta_salesforce.sync.config import load_config
        from okta_salesforce.sync.directory import read_salesforce
        from okta_salesforce.sync.guards import plan_fingerprint
        from okta_salesforce.sync.models import OktaAssignment
        from okta_salesforce.sync.plan import build_plan
        from okta_salesforce.sync.progress import Progress

        config = load_config(resolve_config_path(self.config_path), target=self.target)
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
        plan = build_plan(
            assignments,
            state.users,
            config,
            users=subset,
            allow_mass_deactivation=as_bool(self.allow_mass_deactivation),
            directory=state.directory,
            entitlements=state.entitlements,
        )
        guard = plan.guard
        assert guard is not None
        ti = context["ti"]
        planned_at = datetime.now(UTC).isoformat()
        plan_id = plan_fingerprint(plan.actions, run_id=ti.run_id, planned_at=planned_at)
        folder = _folder(context)
        try_number = ti.try_number
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
        deprovisions = None
        if counts["deprovision"]:
            path = folder / f"deprovisions_try{try_number}.jsonl"
            write_jsonl(path, deprovision_rows(plan, state.users))
            deprovisions = {"count": counts["deprovision"], "path": str(path)}
        if guard.tripped:
            self.log.warning("Deactivation guard: %s", guard.message)
        return {
            "plan_id": plan_id,
            "planned_at": planned_at,
            "run_id": ti.run_id,
            "deprovisions": deprovisions,
            "path": str(plan_path),
            "action_paths": action_paths,
            "directory_path": str(directory_path),
            "counts": counts,
            "incremental": plan.incremental,
            "dry_run": as_bool(self.dry_run),
            "guard": {
                "tripped": guard.tripped,
                "blocked": guard.blocked,
                "allowed": guard.allowed,
                "deprovisions": guard.deprovisions,
                "managed_active": guard.managed_active,
                "message": guard.message,
            },
        }


def deprovision_rows(plan: Plan, users: list[SalesforceUser]) -> Any:
    """One row per deactivation/freeze: who (login, username, name, ids), what and why."""
    from okta_salesforce.sync.models import DEPROVISION_KINDS

    by_id = {u.id: u for u in users}
    for action in plan.actions:
        if action.kind not in DEPROVISION_KINDS:
            continue
        user = by_id.get(action.salesforce_id or "")
        fields = user.fields if user else {}
        name = " ".join(str(fields[k]) for k in ("FirstName", "LastName") if fields.get(k))
        yield {
            "login": action.login,
            "username": action.username,
            "name": name,
            "salesforce_id": action.salesforce_id,
            "action": str(action.kind),
            "reason": action.reason,
        }


def _folder(context: Context) -> Any:
    from okta_salesforce.storage import run_folder

    return run_folder(context["ti"].dag_id, context["ti"].run_id)
