"""Which Okta events were already handled, by push or by polling: the de-duplication record.

Both paths keep their record in the state store of the watched Asset
(``okta_salesforce_assignment_events``), each under its own key so that each key has exactly
one writer:

* :data:`DELIVERED_KEY`: event uuids that the Event Hook receiver (API server) turned into an
  Asset event; the System Log poller skips them;
* :data:`FIRED_KEY`: event uuids that the poller (triggerer) fired; the receiver skips them
  when Okta's delivery comes late;
* :data:`HEALTH_KEY`: when the receiver last answered a verification or a delivery; the
  poller slows down while push is healthy.

Values are JSON objects; nothing here imports Airflow.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

DELIVERED_KEY = "okta_event_hook_delivered"
FIRED_KEY = "okta_system_log_fired"
HEALTH_KEY = "okta_event_hook_health"

#: How long a uuid is remembered (Okta retries a delivery once, within minutes).
KEEP_SECONDS = 3600.0
#: At most this many uuids per record (the oldest go first).
MAX_UUIDS = 2000


@dataclass
class UuidLedger:
    """Event uuids with the epoch second they were recorded, oldest first.

    :param entries: uuid to epoch seconds.
    """

    entries: dict[str, float] = field(default_factory=dict)

    def __contains__(self, uuid: object) -> bool:
        return uuid in self.entries

    def __len__(self) -> int:
        return len(self.entries)

    def add(self, uuids: Iterable[str], now: float) -> None:
        """Record ``uuids`` at ``now``, then forget what is too old or over the size limit."""
        for uuid in uuids:
            self.entries.setdefault(uuid, now)
        self.prune(now)

    def prune(self, now: float, *, keep_seconds: float = KEEP_SECONDS, max_uuids: int = MAX_UUIDS) -> None:
        """Drop entries older than ``keep_seconds`` and all but the newest ``max_uuids``."""
        fresh = [(u, t) for u, t in self.entries.items() if now - t <= keep_seconds]
        self.entries = dict(fresh[-max_uuids:])

    def to_dict(self) -> dict[str, Any]:
        return {"uuids": dict(self.entries)}

    @classmethod
    def from_dict(cls, data: Any) -> UuidLedger:
        """The ledger stored as ``{"uuids": {uuid: epoch}}``; empty for anything else."""
        uuids = data.get("uuids") if isinstance(data, Mapping) else None
        if not isinstance(uuids, Mapping):
            return cls()
        return cls(
            {str(u): float(t) for u, t in uuids.items() if isinstance(u, str) and isinstance(t, (int, float))}
        )


@dataclass
class PushHealth:
    """What the receiver last saw from Okta.

    :param verified: epoch seconds of the last verification answered.
    :param last_delivery: epoch seconds of the last authenticated delivery.
    :param deliveries: authenticated deliveries received so far.
    """

    verified: float | None = None
    last_delivery: float | None = None
    deliveries: int = 0

    @property
    def last_seen(self) -> float | None:
        """The later of the last verification and the last delivery."""
        seen = [t for t in (self.verified, self.last_delivery) if t is not None]
        return max(seen) if seen else None

    def to_dict(self) -> dict[str, Any]:
        return {"verified": self.verified, "last_delivery": self.last_delivery, "deliveries": self.deliveries}

    @classmethod
    def from_dict(cls, data: Any) -> PushHealth | None:
        """The stored health, or ``None`` when push was never set up."""
        if not isinstance(data, Mapping):
            return None

        def moment(key: str) -> float | None:
            value = data.get(key)
            return float(value) if isinstance(value, (int, float)) else None

        deliveries = data.get("deliveries")
        return cls(
            verified=moment("verified"),
            last_delivery=moment("last_delivery"),
            deliveries=deliveries if isinstance(deliveries, int) else 0,
        )
