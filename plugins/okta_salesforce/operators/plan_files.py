"""The plan's run files: :func:`write_plan` streams a plan's actions to them and returns its handle."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from okta_salesforce.operators.plan_handle import NO_GUARD, DeprovisionList, PlanHandle
from okta_salesforce.sync.models import GuardResult, Plan

if TYPE_CHECKING:
    from okta_salesforce.storage import RunFiles
    from okta_salesforce.sync.directory import SalesforceSnapshot
    from okta_salesforce.sync.models import Action, ActionKind, DirectoryInfo, OktaAssignment, SalesforceUser
    from okta_salesforce.sync.snapshot import OktaSnapshot


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
        return self.plan.guard or NO_GUARD

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
