"""What the plan task hands the writers, the report and the approval: :class:`PlanHandle`.

Where the plan's files are, its counts, the guard's verdict and the plan's id (XCom carries it as a
small dict, :meth:`PlanHandle.to_xcom`). Kept apart from the operator, which DAG files import when
they are parsed: the tasks import this when they run.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from okta_salesforce.sync.models import GuardResult

if TYPE_CHECKING:
    from okta_salesforce.sync.models import Action, DirectoryInfo

NO_GUARD = GuardResult(tripped=False, allowed=False, deprovisions=0, managed_active=0)


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
    guard: GuardResult = NO_GUARD
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
