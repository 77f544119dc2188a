"""What ``poll_okta`` hands the plan: where the Okta snapshot is, what kind it is, and its counts.

The snapshot itself (one :class:`~okta_salesforce.sync.models.OktaAssignment` per line) is a run
file; this contract travels through XCom as a small dict (:meth:`OktaSnapshot.to_xcom`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

#: Snapshot modes: every assignment, System Log changes, or the logins of an on-demand run.
FULL, INCREMENTAL, USERS = "full", "incremental", "users"


@dataclass(frozen=True)
class CursorState:
    """Where an incremental poll left the System Log cursor.

    :param key: the Variable holding the cursor.
    :param committed: True when the poll saved it; else ``path`` holds it for a later commit.
    """

    key: str
    events: int
    pages: int
    last_published: str | None
    committed: bool
    path: str | None = None

    @classmethod
    def from_xcom(cls, data: Mapping[str, Any] | None) -> CursorState | None:
        return cls(**data) if data else None


@dataclass(frozen=True)
class EscrowWriteAhead:
    """The users a real (not dry) poll put into escrow before the cursor moved past their events."""

    key: str
    written_ahead: int
    added: int
    pending: int


@dataclass(frozen=True)
class OktaSnapshot:
    """The ``poll_okta`` task's result.

    :param path: the JSON Lines file of assignments.
    :param mode: :data:`FULL`, :data:`INCREMENTAL` or :data:`USERS`.
    :param complete: True when the file is every assignment (absence means unassigned).
    :param dry_run: the run writes nothing; the plan and the writers carry it on.
    :param requested: how many logins an on-demand run asked for.
    :param pending: logins of the users escrow had due, read again for a retry.
    :param started_at: when the poll began reading Okta (ISO 8601, UTC): changes after it may be
        missing from the file, so the deprovisioning re-check reads the System Log from there.
        ``None`` in results of older versions.
    """

    path: str
    mode: str
    complete: bool = False
    dry_run: bool = False
    count: int = 0
    assigned: int = 0
    unassigned: int = 0
    requested: int | None = None
    pending: tuple[str, ...] = ()
    escrow: EscrowWriteAhead | None = None
    cursor: CursorState | None = None
    started_at: str | None = None

    def to_xcom(self) -> dict[str, Any]:
        data = asdict(self)
        data["pending"] = list(self.pending)
        return data

    @classmethod
    def from_xcom(cls, data: OktaSnapshot | Mapping[str, Any]) -> OktaSnapshot:
        if isinstance(data, OktaSnapshot):
            return data
        if not data or "path" not in data:
            raise ValueError("snapshot: expected the poll_okta task's result (with a 'path'), got nothing")
        escrow = data.get("escrow")
        return cls(
            path=str(data["path"]),
            mode=str(data.get("mode") or FULL),
            complete=bool(data.get("complete")),
            dry_run=bool(data.get("dry_run")),
            count=int(data.get("count") or 0),
            assigned=int(data.get("assigned") or 0),
            unassigned=int(data.get("unassigned") or 0),
            requested=data.get("requested"),
            pending=tuple(data.get("pending") or ()),
            escrow=EscrowWriteAhead(**escrow) if escrow else None,
            cursor=CursorState.from_xcom(data.get("cursor")),
            started_at=str(data["started_at"]) if data.get("started_at") else None,
        )
