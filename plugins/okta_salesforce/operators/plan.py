"""Plan the Salesforce changes of a run: the actions, the deactivation guard's verdict, the plan's id.

:class:`PlanHandle` is what the plan task hands the writers, the report and the approval: where
the plan's files are, its counts, the guard's verdict and the plan's id (XCom carries it as a
small dict, :meth:`PlanHandle.to_xcom`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from airflow.sdk import BaseOperator

from okta_salesforce import metrics
from okta_salesforce.operators.params import as_bool, as_logins
from okta_salesforce.sync.models import GuardResult, Plan
from okta_salesforce.sync.snapshot import OktaSnapshot

if TYPE_CHECKING:
    from airflow.sdk import Context

    from okta_salesforce.storage import RunFiles
    from okta_salesforce.sync.directory import SalesforceSnapshot
    from okta_salesforce.sync.models import Action, ActionKind, DirectoryInfo, OktaAssignment, SalesforceUser

_NO_GUARD = GuardResult(tripped=False, allowed=False, deprovisions=0, managed_active=0)


@dataclass(frozen=True)
class DeprovisionList:
    """Who the plan deprovisions: how many, and the file listing them with their names."""

    count: int
    path: str


@dataclass(frozen=True)
class PlanHandle:
    """The plan task's result.

    :param path: every action (skips and errors included), JSON Lines.
    :param action_paths: one file per write kind, for the writer of that kind.
    :param directory_path: the Profile/UserRole/PermissionSet ids the plan resolved.
    :param counts: actions by kind, and ``deprovision`` (deactivations plus freezes).
    :param dry_run: the writers write nothing and the report leaves escrow alone.
    :param guard: the deactivation guard's verdict at plan time (the writer derives it again).
    :param plan_id: the id an approval is bound to; ``planned_at`` dates it, ``run_id`` made it.
    :param snapshot_started: when the Okta snapshot began (the re-check reads the log from there).
    """

    path: str
    plan_id: str = ""
    planned_at: str = ""
    run_id: str = ""
    action_paths: Mapping[str, str] = field(default_factory=dict)
    directory_path: str | None = None
    counts: Mapping[str, int] = field(default_factory=dict)
    incremental: bool = False
    dry_run: bool = False
    guard: GuardResult = _NO_GUARD
    deprovisions: DeprovisionList | None = None
    snapshot_started: str = ""

    def actions(self, kinds: Iterable[str]) -> list[Action]:
        """The plan's actions of these write kinds, read from their files."""
        return list(self.iter_actions(kinds))

    def iter_actions(self, kinds: Iterable[str]) -> Iterator[Action]:
        """:meth:`actions`, streamed from their files."""
        from okta_salesforce.storage import read_jsonl
        from okta_salesforce.sync.models import Action

        paths = self.action_paths
        return (Action.from_dict(row) for kind in kinds if kind in paths for row in read_jsonl(paths[kind]))

    def all_actions(self) -> Iterator[Action]:
        """Every action of the plan, streamed from its file."""
        from okta_salesforce.storage import read_jsonl
        from okta_salesforce.sync.models import Action

        return (Action.from_dict(row) for row in read_jsonl(self.path))

    def directory(self) -> DirectoryInfo:
        from okta_salesforce.storage import read_json
        from okta_salesforce.sync.models import DirectoryInfo

        if not self.directory_path:
            raise ValueError(f"plan {self.plan_id or self.path}: no directory_path")
        return DirectoryInfo.from_dict(read_json(self.directory_path))

    def to_xcom(self) -> dict[str, Any]:
        return {
            "plan_id": self.plan_id,
            "planned_at": self.planned_at,
            "run_id": self.run_id,
            "deprovisions": asdict(self.deprovisions) if self.deprovisions else None,
            "path": self.path,
            "action_paths": dict(self.action_paths),
            "directory_path": self.directory_path,
            "counts": dict(self.counts),
            "incremental": self.incremental,
            "dry_run": self.dry_run,
            "guard": guard_to_xcom(self.guard),
            "snapshot_started": self.snapshot_started,
        }

    @classmethod
    def from_xcom(cls, data: PlanHandle | Mapping[str, Any]) -> PlanHandle:
        """The handle from the plan task's XCom (or an approval request's copy of it)."""
        if isinstance(data, PlanHandle):
            return data
        if not data or "path" not in data:
            raise ValueError("plan: expected the plan task's result (with a 'path'), got nothing")
        deprovisions = data.get("deprovisions")
        return cls(
            path=str(data["path"]),
            plan_id=str(data.get("plan_id") or ""),
            planned_at=str(data.get("planned_at") or ""),
            run_id=str(data.get("run_id") or ""),
            action_paths={str(k): str(v) for k, v in (data.get("action_paths") or {}).items()},
            directory_path=data.get("directory_path"),
            counts={str(k): int(v) for k, v in (data.get("counts") or {}).items()},
            incremental=bool(data.get("incremental")),
            dry_run=bool(data.get("dry_run")),
            guard=guard_from_xcom(data.get("guard") or {}),
            deprovisions=DeprovisionList(int(deprovisions["count"]), str(deprovisions["path"]))
            if deprovisions
            else None,
            snapshot_started=str(data.get("snapshot_started") or ""),
        )


def guard_to_xcom(guard: GuardResult) -> dict[str, Any]:
    """The guard's verdict as XCom carries it (``blocked`` spelled out for readers of the XCom)."""
    return {**asdict(guard), "blocked": guard.blocked}


def guard_from_xcom(guard: Mapping[str, Any]) -> GuardResult:
    return GuardResult(
        tripped=bool(guard.get("tripped")),
        allowed=bool(guard.get("allowed")),
        deprovisions=int(guard.get("deprovisions") or 0),
        managed_active=int(guard.get("managed_active") or 0),
        message=str(guard.get("message") or ""),
    )


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
        from okta_salesforce.storage import RunFiles, read_jsonl
        from okta_salesforce.sync.config import load_config
        from okta_salesforce.sync.guards import plan_fingerprint
        from okta_salesforce.sync.models import DEPROVISION_KINDS, OktaAssignment
        from okta_salesforce.sync.plan_read import plan_from_salesforce
        from okta_salesforce.sync.progress import Progress

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


def planned_logins(
    snapshot: OktaSnapshot, assignments: Sequence[OktaAssignment], requested: Sequence[str]
) -> list[str] | None:
    """The logins the plan considers; None for a complete snapshot (everyone, absence deprovisions).

    An on-demand run plans the requested logins and the users escrow gave ``poll_okta``; an
    incremental run, the users the snapshot holds.
    """
    if requested:
        return list(dict.fromkeys([*requested, *snapshot.pending]))
    if snapshot.complete:
        return None
    return [a.login for a in assignments]


class PlanView(Protocol):
    """What :func:`write_plan` reads of a plan: a :class:`~okta_salesforce.sync.plan.StreamedPlan`."""

    @property
    def incremental(self) -> bool: ...
    @property
    def guard(self) -> GuardResult: ...
    @property
    def directory(self) -> DirectoryInfo | None: ...
    def actions(self, kinds: Iterable[ActionKind] | None = None) -> Iterator[Action]: ...
    def action_dicts(self, kinds: Iterable[ActionKind] | None = None) -> Iterator[dict[str, Any]]: ...
    def summary(self) -> dict[str, int]: ...
    def user(self, user_id: str) -> SalesforceUser | None: ...


@dataclass
class _WholePlan:
    """A :class:`~okta_salesforce.sync.models.Plan` held in memory, read as a :class:`PlanView`."""

    plan: Plan
    state: SalesforceSnapshot | None = None

    @property
    def incremental(self) -> bool:
        return self.plan.incremental

    @property
    def guard(self) -> GuardResult:
        return self.plan.guard or _NO_GUARD

    @property
    def directory(self) -> DirectoryInfo | None:
        return self.state.directory if self.state else None

    def actions(self, kinds: Iterable[ActionKind] | None = None) -> Iterator[Action]:
        wanted = None if kinds is None else set(kinds)
        return (a for a in self.plan.actions if wanted is None or a.kind in wanted)

    def action_dicts(self, kinds: Iterable[ActionKind] | None = None) -> Iterator[dict[str, Any]]:
        return (a.to_dict() for a in self.actions(kinds))

    def summary(self) -> dict[str, int]:
        return self.plan.summary()

    def user(self, user_id: str) -> SalesforceUser | None:
        return next((u for u in self.state.users if u.id == user_id), None) if self.state else None


def write_plan(
    files: RunFiles,
    plan: PlanView | Plan,
    state: SalesforceSnapshot | None = None,
    *,
    run_id: str,
    dry_run: bool,
    plan_id: str = "",
    planned_at: str = "",
) -> PlanHandle:
    """Write the plan's run files, streaming its actions, and return its handle.

    Every action (skips included) goes to one file for the report; each writer gets a file of just
    its kinds, so no task parses a 100k-action plan to find the few hundred writes it owns. A whole
    :class:`~okta_salesforce.sync.models.Plan` (with the ``state`` it was made from) is written the
    same way; its own ``plan_id`` and ``planned_at`` are used unless given.
    """
    from okta_salesforce.storage import write_json, write_jsonl
    from okta_salesforce.sync.models import WRITE_KINDS, ActionKind

    if isinstance(plan, Plan):
        plan_id, planned_at = plan_id or plan.plan_id, planned_at or plan.planned_at
        plan = _WholePlan(plan, state)
    counts = plan.summary()
    write_jsonl(files.plan(), plan.action_dicts())
    action_paths = {}
    for kind in sorted(str(k) for k in WRITE_KINDS if counts[str(k)]):
        write_jsonl(files.actions(kind), plan.action_dicts([ActionKind(kind)]))
        action_paths[kind] = str(files.actions(kind))
    write_json(files.directory(), plan.directory.to_dict() if plan.directory else {})
    counts["deprovision"] = counts["deactivate"] + counts["freeze"]
    deprovisions = None
    if counts["deprovision"]:
        write_jsonl(files.deprovisions(), deprovision_rows(plan))
        deprovisions = DeprovisionList(count=counts["deprovision"], path=str(files.deprovisions()))
    return PlanHandle(
        path=str(files.plan()),
        plan_id=plan_id,
        planned_at=planned_at,
        run_id=run_id,
        action_paths=action_paths,
        directory_path=str(files.directory()),
        counts=counts,
        incremental=plan.incremental,
        dry_run=dry_run,
        guard=plan.guard,
        deprovisions=deprovisions,
    )


def deprovision_rows(plan: PlanView) -> Iterator[dict[str, Any]]:
    """One row per deactivation/freeze: who (login, username, name, ids), what and why."""
    from okta_salesforce.sync.models import DEPROVISION_KINDS

    for action in plan.actions(DEPROVISION_KINDS):
        user = plan.user(action.salesforce_id) if action.salesforce_id else None
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
