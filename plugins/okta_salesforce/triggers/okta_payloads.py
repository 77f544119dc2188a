"""The event trigger's payloads: built from a poll, read back by the Dag run it starts.

Each ``TriggerEvent`` becomes an Asset event whose ``extra["payload"]`` is one of these dicts; the
Event Hook receiver builds the same payloads from pushed events
(:mod:`okta_salesforce.event_hook.delivery`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from okta_salesforce.hooks.okta_events import PollResult

#: Version of the payload layout, for consumers that outlive a change of it.
PAYLOAD_VERSION = 1


def build_payloads(
    result: PollResult, users: Mapping[str, str], app_id: str, max_users: int
) -> list[dict[str, Any]]:
    """The TriggerEvent payloads of one poll: JSON only, at most ``max_users`` users each."""
    items = [{"id": user_id, "login": login} for user_id, login in users.items()]
    published = [e.published for e in result.events if e.published]
    chunks = [items[i : i + max_users] for i in range(0, len(items), max_users)] or [[]]
    payloads = []
    for chunk in chunks:
        ids = {u["id"] for u in chunk}
        events = [e for e in result.events if any(t.id in ids for t in e.targets_of("User"))]
        types: dict[str, int] = {}
        for event in events:
            types[event.event_type] = types.get(event.event_type, 0) + 1
        payloads.append(
            {
                "version": PAYLOAD_VERSION,
                "app_id": app_id,
                "users": chunk,
                "event_uuids": [e.uuid for e in events],
                "event_types": types,
                "first_published": min(published, default=None),
                "last_published": max(published, default=None),
            }
        )
    return payloads


def users_from_payloads(payloads: Iterable[Any]) -> list[str]:
    """Okta logins (the user id when an event had no login) named by trigger payloads, each once."""
    found: dict[str, None] = {}
    for payload in payloads:
        if not isinstance(payload, Mapping):
            continue
        for user in payload.get("users") or ():
            if isinstance(user, Mapping):
                key = str(user.get("login") or user.get("id") or "").strip()
                if key:
                    found.setdefault(key, None)
    return list(found)


def users_from_asset_events(triggering_asset_events: Mapping[Any, Sequence[Any]] | None) -> list[str]:
    """Okta logins from a Dag run's ``triggering_asset_events`` (every watched Asset, every event).

    Several Asset events can feed one run (events arriving while a run is active are queued for
    the next); the users of all of them are returned, each once, in event order.
    """
    payloads = []
    for events in (triggering_asset_events or {}).values():
        for event in events or ():
            extra = getattr(event, "extra", None) or {}
            payloads.append(extra.get("payload"))
    return users_from_payloads(payloads)
