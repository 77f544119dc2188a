"""An Okta Event Hook delivery: its shape, the events that matter, and the Asset event payloads.

Okta POSTs ``{"eventType": "com.okta.event_hook", "eventId": ..., "data": {"events": [...]}}``
where each event has the System Log event shape. The receiver keeps only the event types the
sync acts on (:data:`HOOK_EVENT_TYPES`): the app's assignment events (for the configured app
only) and the profile and lifecycle changes of users, and names the affected users in the same
payload layout the System Log trigger fires, so the events Dag reads both the same way.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from okta_salesforce.hooks.okta_events import (
    APP_MEMBERSHIP_EVENTS,
    USER_CHANGE_EVENTS,
    EventCursor,
    PollResult,
    affected_users,
)
from okta_salesforce.hooks.okta_records import LogEvent, event_from_json

#: The ``eventType`` of every Okta Event Hook request body.
HOOK_REQUEST_TYPE = "com.okta.event_hook"
#: Event types the receiver acts on; anything else in a delivery is ignored (and acknowledged).
HOOK_EVENT_TYPES = APP_MEMBERSHIP_EVENTS + USER_CHANGE_EVENTS
#: Marks payloads that came from the Event Hook (the trigger's have no ``source``).
SOURCE = "okta_event_hook"


class DeliveryError(ValueError):
    """A request body that is not an Okta Event Hook delivery; the message names the field."""


@dataclass
class Delivery:
    """The parts of one delivery the receiver uses.

    :param event_id: Okta's id of the delivery (the same on its retry).
    :param events: every event with a uuid, in delivery order.
    :param skipped: events without a uuid or not an object (they cannot be de-duplicated).
    """

    event_id: str
    events: list[LogEvent] = field(default_factory=list)
    skipped: int = 0


def parse_delivery(body: Any) -> Delivery:
    """Read an Event Hook request body; raise :class:`DeliveryError` naming the bad field."""
    if not isinstance(body, Mapping):
        raise DeliveryError("body: expected a JSON object")
    if body.get("eventType") != HOOK_REQUEST_TYPE:
        raise DeliveryError(f"eventType: expected {HOOK_REQUEST_TYPE!r}")
    data = body.get("data")
    events = data.get("events") if isinstance(data, Mapping) else None
    if not isinstance(events, list):
        raise DeliveryError("data.events: expected a list of events")
    delivery = Delivery(event_id=str(body.get("eventId") or ""))
    for item in events:
        event = event_from_json(item) if isinstance(item, Mapping) else None
        if event is None:
            delivery.skipped += 1
        else:
            delivery.events.append(event)
    return delivery


def relevant_events(
    events: Sequence[LogEvent], app_id: str, event_types: Collection[str] = HOOK_EVENT_TYPES
) -> list[LogEvent]:
    """The events the sync acts on: wanted types, successful, and assignment events of ``app_id`` only."""
    kept = []
    for event in events:
        if event.event_type not in event_types:
            continue
        if event.outcome and event.outcome != "SUCCESS":
            continue
        if event.event_type in APP_MEMBERSHIP_EVENTS and not any(
            target.id == app_id for target in event.targets_of("AppInstance")
        ):
            continue
        kept.append(event)
    return kept


def delivery_payloads(
    events: Sequence[LogEvent], app_id: str, *, max_users: int = 500
) -> list[dict[str, Any]]:
    """Asset event payloads naming the users of ``events`` (the trigger's layout, plus ``source``)."""
    from okta_salesforce.triggers.okta_events import build_payloads

    users, candidates = affected_users(events, app_id)
    named = {**users, **candidates}
    if not named:
        return []
    result = PollResult(events=list(events), users=users, candidates=candidates, cursor=EventCursor())
    return [{**payload, "source": SOURCE} for payload in build_payloads(result, named, app_id, max_users)]
