"""PushAwareness: the System Log trigger skips what push delivered and slows down while push is healthy."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Any

from okta_salesforce.event_hook.ledger import DELIVERED_KEY, FIRED_KEY, HEALTH_KEY
from okta_salesforce.hooks.okta_events import EventCursor, PollResult
from okta_salesforce.hooks.okta_records import LogEvent, LogTarget
from okta_salesforce.triggers.okta_events import OktaAssignmentEventTrigger
from okta_salesforce.triggers.okta_push import PushAwareness

NOW = 1_800_000_000.0


class Store:
    """The Asset state store accessor: JSON values by key, optionally failing."""

    def __init__(self, **values: Any) -> None:
        self.values = dict(values)
        self.broken = False

    async def aget(self, key: str, default: Any = None) -> Any:
        if self.broken:
            raise RuntimeError("execution API unavailable")
        return json.loads(json.dumps(self.values.get(key, default)))

    async def aset(self, key: str, value: Any) -> None:
        if self.broken:
            raise RuntimeError("execution API unavailable")
        self.values[key] = json.loads(json.dumps(value))


class Clock:
    def __init__(self) -> None:
        self.now = NOW
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def _event(uuid: str, user: str, *, age: float) -> LogEvent:
    published = datetime.fromtimestamp(NOW - age, UTC).isoformat().replace("+00:00", "Z")
    return LogEvent(
        uuid=uuid,
        published=published,
        event_type="application.user_membership.add",
        targets=(
            LogTarget(id="0oa1", type="AppInstance"),
            LogTarget(id=user, type="User", alternate_id=user),
        ),
    )


def _result(*events: LogEvent) -> PollResult:
    users = {t.id: t.alternate_id for e in events for t in e.targets_of("User")}
    return PollResult(events=list(events), users=users, cursor=EventCursor(next_path="/next"))


def _push(store: Store, clock: Clock, grace: float = 10.0) -> PushAwareness:
    return PushAwareness(store, grace=grace, clock=clock, sleep=clock.sleep)


def test_push_is_healthy_once_the_receiver_answered_okta():
    clock = Clock()
    assert asyncio.run(_push(Store(), clock).healthy()) is False
    assert asyncio.run(_push(Store(**{HEALTH_KEY: {"verified": NOW - 5}}), clock).healthy()) is True


def test_events_push_delivered_are_not_fired_again():
    clock = Clock()
    store = Store(**{DELIVERED_KEY: {"uuids": {"pushed": NOW - 30}}})
    result = _result(_event("pushed", "00ua", age=30), _event("dropped", "00ub", age=30))

    left = asyncio.run(_push(store, clock).without_pushed(result, healthy=True))

    assert [e.uuid for e in left.events] == ["dropped"]
    assert left.users == {"00ub": "00ub"}
    assert left.cursor == result.cursor  # the cursor still moves past both


def test_a_dropped_delivery_is_fired_by_the_poller_and_push_counts_as_unhealthy_until_it_delivers():
    clock = Clock()
    store = Store(**{HEALTH_KEY: {"verified": NOW - 100, "last_delivery": NOW - 50}})
    push = _push(store, clock)

    left = asyncio.run(push.without_pushed(_result(_event("lost", "00uc", age=40)), healthy=True))

    assert [e.uuid for e in left.events] == ["lost"]
    assert asyncio.run(push.healthy()) is False  # back to the normal poll interval
    clock.now += 5
    store.values[HEALTH_KEY]["last_delivery"] = clock.now
    assert asyncio.run(push.healthy()) is True


def test_a_healthy_poller_gives_push_the_grace_period_for_a_young_event():
    clock = Clock()
    store = Store()
    push = _push(store, clock, grace=10)

    async def delivered_meanwhile(seconds: float) -> None:
        await Clock.sleep(clock, seconds)
        store.values[DELIVERED_KEY] = {"uuids": {"young": clock.now}}

    push.sleep = delivered_meanwhile
    left = asyncio.run(push.without_pushed(_result(_event("young", "00ud", age=2)), healthy=True))

    assert clock.slept == [8.0]
    assert left.events == []
    assert left.users == {}
    assert push.missed_at is None


def test_an_unhealthy_poller_fires_at_once():
    clock = Clock()
    left = asyncio.run(
        _push(Store(), clock).without_pushed(_result(_event("young", "00ue", age=1)), healthy=False)
    )

    assert clock.slept == []
    assert [e.uuid for e in left.events] == ["young"]


def test_fired_uuids_are_recorded_for_the_receiver():
    clock = Clock()
    store = Store()
    asyncio.run(_push(store, clock).mark_fired(["a", "b"]))

    assert set(store.values[FIRED_KEY]["uuids"]) == {"a", "b"}


def test_a_failing_state_store_means_no_push_and_everything_is_fired():
    clock = Clock()
    store = Store(**{HEALTH_KEY: {"verified": NOW}, DELIVERED_KEY: {"uuids": {"x": NOW}}})
    store.broken = True
    push = _push(store, clock)

    assert asyncio.run(push.healthy()) is False
    left = asyncio.run(push.without_pushed(_result(_event("x", "00uf", age=30)), healthy=False))
    assert [e.uuid for e in left.events] == ["x"]
    asyncio.run(push.mark_fired(["x"]))  # does not raise


def test_the_trigger_polls_slower_only_while_push_is_healthy():
    trigger = OktaAssignmentEventTrigger(poll_interval=10, push_poll_interval=60)

    assert trigger._next_delay(None, pushed=True) == 60
    assert trigger._next_delay(None, pushed=False) == 10
    assert OktaAssignmentEventTrigger(poll_interval=10)._next_delay(None, pushed=True) == 10


def test_push_awareness_needs_a_push_interval_and_a_state_store():
    assert OktaAssignmentEventTrigger(push_poll_interval=60)._push_awareness() is None
    trigger = OktaAssignmentEventTrigger(push_poll_interval=60)
    trigger.asset_state_store = Store()
    assert isinstance(trigger._push_awareness(), PushAwareness)
    unpushed = OktaAssignmentEventTrigger()
    unpushed.asset_state_store = Store()
    assert unpushed._push_awareness() is None


class _Reader:
    """The System Log reader: one poll returning ``first``, then empty polls."""

    rate_limit = None

    def __init__(self, first: PollResult) -> None:
        self.results = [first]

    async def open(self, lookback: float) -> str:
        return "0oa1"

    async def poll(self, cursor: Any) -> PollResult:
        return self.results.pop(0) if self.results else _result()

    async def close(self) -> None:
        return None


def test_the_poll_after_push_missed_an_event_comes_at_the_normal_interval(monkeypatch):
    """Push just missed an event: the very next wait is ``poll_interval``, not the push one."""
    import time

    import okta_salesforce.triggers.okta_events as module

    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        if len(waits) >= 2:
            raise asyncio.CancelledError

    monkeypatch.setattr(module, "_sleep", sleep)
    now = time.time()
    store = Store(**{HEALTH_KEY: {"verified": now - 100, "last_delivery": now - 50}})
    trigger = OktaAssignmentEventTrigger(poll_interval=10, push_poll_interval=60)
    trigger.asset_state_store = store
    old = LogEvent(
        uuid="lost",
        published=datetime.fromtimestamp(now - 40, UTC).isoformat().replace("+00:00", "Z"),
        event_type="application.user_membership.add",
        targets=(
            LogTarget(id="0oa1", type="AppInstance"),
            LogTarget(id="00uc", type="User", alternate_id="c"),
        ),
    )
    monkeypatch.setattr(trigger, "_reader", lambda: _Reader(_result(old)))

    async def watch() -> list[Any]:
        fired = []
        try:
            async for event in trigger.run():
                fired.append(event)
        except asyncio.CancelledError:
            pass
        return fired

    fired = asyncio.run(watch())

    assert [e.payload["event_uuids"] for e in fired] == [["lost"]]
    assert waits == [10, 10]
