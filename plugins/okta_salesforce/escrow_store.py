"""Where escrow lives between runs: an Airflow Variable per target (like the System Log cursor).

``okta_salesforce_pending__<okta app id>`` (``okta_salesforce_pending__<target>`` for a named
target of a config with ``targets:``) holds the JSON of
:class:`~okta_salesforce.sync.escrow.Escrow` (about 150 bytes per pending user). Three DAGs read
and change it; :func:`change_escrow` re-reads right before writing and checks its change survived
(a concurrent run's write in between is merged again), so no pending user is lost to a race.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from okta_salesforce.sync.escrow import Escrow

if TYPE_CHECKING:
    from okta_salesforce.sync.config_runtime import FailuresConfig

log = logging.getLogger(__name__)
T = TypeVar("T")

KEY_PREFIX = "okta_salesforce_pending__"


def escrow_key(app_id: str, target: str | None = None) -> str:
    """The Variable key of a target: per Okta app ``app_id`` without ``targets:``, else per target name."""
    return f"{KEY_PREFIX}{target or app_id}"


class EscrowStore(Protocol):
    """Keeps one escrow document per key."""

    def load(self, key: str) -> dict[str, Any] | None: ...

    def save(self, key: str, data: dict[str, Any]) -> None: ...


class VariableEscrowStore:
    """Escrow in Airflow Variables, as JSON (``Variable.get``/``set`` work from a running task)."""

    def load(self, key: str) -> dict[str, Any] | None:
        from airflow.sdk import Variable

        value = Variable.get(key, default=None, deserialize_json=True)
        return value if isinstance(value, dict) else None

    def save(self, key: str, data: dict[str, Any]) -> None:
        from airflow.sdk import Variable

        description = "okta-salesforce: users whose Salesforce write is pending (escrow); see docs/sync.md"
        Variable.set(key, data, description=description, serialize_json=True)


class MemoryEscrowStore:
    """Escrow in a dict (tests, one-off scripts)."""

    def __init__(self) -> None:
        self.data: dict[str, dict[str, Any]] = {}

    def load(self, key: str) -> dict[str, Any] | None:
        return self.data.get(key)

    def save(self, key: str, data: dict[str, Any]) -> None:
        self.data[key] = data


def load_escrow(store: EscrowStore, key: str, policy: FailuresConfig | None = None) -> Escrow:
    """The current escrow of ``key`` (empty when none was saved)."""
    return Escrow.from_dict(store.load(key), policy)


def change_escrow(
    store: EscrowStore,
    key: str,
    change: Callable[[Escrow], T],
    policy: FailuresConfig | None = None,
    *,
    attempts: int = 3,
) -> tuple[Escrow, T]:
    """Load, ``change`` and save the escrow of ``key``; returns the saved escrow and ``change``'s result.

    After saving, the escrow is read back: when another run saved in between and our version is
    gone, ``change`` is applied again to the newer escrow (``change`` must be idempotent).
    """
    for attempt in range(1, attempts + 1):
        escrow = load_escrow(store, key, policy)
        result = change(escrow)
        data = escrow.to_dict()
        store.save(key, data)
        if store.load(key) == data:
            return escrow, result
        log.warning("Escrow %s changed while we saved it (attempt %d); merging again.", key, attempt)
    raise RuntimeError(f"Could not save escrow {key}: it kept changing under {attempts} attempts.")
