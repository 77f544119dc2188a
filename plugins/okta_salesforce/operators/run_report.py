"""What the report task hands the verdict (``check_run``): :class:`RunReport`.

Kept apart from :class:`~okta_salesforce.operators.report.SyncReportOperator`, which DAG files
import when they are parsed: the tasks import this when they run.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from okta_salesforce.operators.plan_handle import guard_from_xcom, guard_to_xcom
from okta_salesforce.sync.models import GuardResult


@dataclass(frozen=True)
class EscrowSummary:
    """Escrow after the report settled it: pending and quarantined users (the first 50 by login)."""

    pending: int = 0
    quarantined: int = 0
    quarantined_logins: tuple[str, ...] = ()
    settled: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Verdict:
    """Why the run did not converge: writer tasks that failed, per-record failures over the ratio."""

    failed_writers: tuple[str, ...] = ()
    failure_ratio: str | None = None


@dataclass(frozen=True)
class RunReport:
    """The report task's result: where the report is, its counts, escrow, and the run's verdict."""

    path: str
    users: int = 0
    counts: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    failed: int = 0
    dry_run: bool = False
    guard: GuardResult | None = None
    escrow: EscrowSummary = EscrowSummary()
    verdict: Verdict = Verdict()

    def to_xcom(self) -> dict[str, Any]:
        escrow, verdict = asdict(self.escrow), asdict(self.verdict)
        escrow["quarantined_logins"] = list(self.escrow.quarantined_logins)
        verdict["failed_writers"] = list(self.verdict.failed_writers)
        guard = guard_to_xcom(self.guard) if self.guard else None
        return {
            "path": self.path,
            "users": self.users,
            "counts": {action: dict(c) for action, c in self.counts.items()},
            "failed": self.failed,
            "dry_run": self.dry_run,
            "guard": guard,
            "escrow": escrow,
            "verdict": verdict,
        }

    @classmethod
    def from_xcom(cls, data: RunReport | Mapping[str, Any]) -> RunReport:
        if isinstance(data, RunReport):
            return data
        if not data or "path" not in data:
            raise ValueError("report: expected the report task's result (with a 'path'), got nothing")
        escrow, verdict = data.get("escrow") or {}, data.get("verdict") or {}
        guard = data.get("guard")
        return cls(
            path=str(data["path"]),
            users=int(data.get("users") or 0),
            counts=data.get("counts") or {},
            failed=int(data.get("failed") or 0),
            dry_run=bool(data.get("dry_run")),
            guard=guard_from_xcom(guard) if guard else None,
            escrow=EscrowSummary(
                pending=int(escrow.get("pending") or 0),
                quarantined=int(escrow.get("quarantined") or 0),
                quarantined_logins=tuple(escrow.get("quarantined_logins") or ()),
                settled=escrow.get("settled") or {},
            ),
            verdict=Verdict(
                failed_writers=tuple(verdict.get("failed_writers") or ()),
                failure_ratio=verdict.get("failure_ratio"),
            ),
        )
