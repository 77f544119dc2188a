"""OktaAssignmentEventTrigger against the Okta sandbox: events, restarts, de-dup, backoff, rate limits."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from okta_salesforce.triggers import okta_events
from okta_salesforce.triggers.okta_events import OktaAssignmentEventTrigger

pytestmark = pytest.mark.integration

APP_ID = "0oasalesforceapp0001"


class MemoryAssetStateStore:
    """Stands in for the accessor the triggerer injects (``aget``/``aset`` of JSON values)."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}
        self.writes = 0

    async def aget(self, key: str, default: Any = None) -> Any:
        return json.loads(json.dumps(self.values.get(key, default)))

    async def aset(self, key: str, value: Any) -> None:
        self.values[key] = json.loads(json.dumps(value))
        self.writes += 1


class Stop(BaseException):
    """Ends a run() loop from a patched sleep."""


def _trigger(store: MemoryAssetStateStore | None, **kwargs: Any) -> OktaAssignmentEventTrigger:
    kwargs = {"poll_interval": 0.05, "commit_delay": 0, "initial_lookback": 300} | kwargs
    trigger = OktaAssignmentEventTrigger(app_id=APP_ID, **kwargs)
    trigger.asset_state_store = store
    return trigger


async def _take(events: AsyncIterator[Any], count: int, timeout: float = 30) -> list[dict[str, Any]]:
    return [(await asyncio.wait_for(anext(events), timeout)).payload for _ in range(count)]


async def _drain(events: AsyncIterator[Any], seconds: float) -> list[dict[str, Any]]:
    """Every payload fired within ``seconds`` (then the generator is closed)."""
    found: list[dict[str, Any]] = []
    try:
        async with asyncio.timeout(seconds):
            async for event in events:
                found.append(event.payload)
    except TimeoutError:
        pass
    return found


def _new_user(sandboxes, login: str) -> str:
    return sandboxes.okta_app.add_user(first_name="Event", last_name="Tester", login=login)["id"]


def test_fires_with_the_assigned_user_then_keeps_polling(sandbox_connections, monkeypatch):
    import threading

    from okta_salesforce.hooks.okta_transport import OktaTransport

    request_threads: set[str] = set()
    send = OktaTransport._send

    async def recording_send(self, method, url, **kwargs):
        request_threads.add(threading.current_thread().name)
        return await send(self, method, url, **kwargs)

    monkeypatch.setattr(OktaTransport, "_send", recording_send)
    sb = sandbox_connections
    store = MemoryAssetStateStore()
    ada = _new_user(sb, "ada.event@example.com")
    bob = _new_user(sb, "bob.event@example.com")

    async def scenario() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        events = _trigger(store).run()
        sb.okta_app.assign("ada.event@example.com")
        first = await _take(events, 1)
        sb.okta_app.assign("bob.event@example.com")
        sb.okta_app.unassign("ada.event@example.com")
        return first, await _drain(events, 1.5)

    [first], later = asyncio.run(scenario())

    assert first["users"] == [{"id": ada, "login": "ada.event@example.com"}]
    assert first["event_types"] == {"application.user_membership.add": 1}
    assert first["app_id"] == APP_ID
    assert {(u["id"], u["login"]) for p in later for u in p["users"]} == {
        (bob, "bob.event@example.com"),
        (ada, "ada.event@example.com"),
    }
    assert sum(p["event_types"].get("application.user_membership.remove", 0) for p in later) == 1
    # Every System Log request was awaited on the loop's own thread: no worker thread polls.
    assert request_threads == {threading.main_thread().name}


def test_a_restarted_trigger_resumes_from_the_stored_cursor_without_replaying(sandbox_connections):
    sb = sandbox_connections
    store = MemoryAssetStateStore()
    for name in ("c1", "c2"):
        _new_user(sb, f"{name}@example.com")

    async def first_life() -> list[dict[str, Any]]:
        events = _trigger(store).run()
        sb.okta_app.assign("c1@example.com")
        fired = await _take(events, 1)
        await _drain(events, 0.5)  # a few idle polls: the cursor is committed behind the event
        return fired

    async def second_life() -> list[dict[str, Any]]:
        events = _trigger(store).run()
        sb.okta_app.assign("c2@example.com")
        fired = await _take(events, 1)
        return fired + await _drain(events, 0.5)

    before = asyncio.run(first_life())
    assert store.values[okta_events.DEFAULT_CURSOR_KEY]["next_path"]
    after = asyncio.run(second_life())

    assert [u["login"] for p in before for u in p["users"]] == ["c1@example.com"]
    assert [u["login"] for p in after for u in p["users"]] == ["c2@example.com"]


def test_a_restart_before_the_commit_delay_replays_the_batch_rather_than_losing_it(sandbox_connections):
    sb = sandbox_connections
    store = MemoryAssetStateStore()
    _new_user(sb, "d1@example.com")

    async def life(assign: bool) -> list[dict[str, Any]]:
        events = _trigger(store, commit_delay=3600).run()
        if assign:
            sb.okta_app.assign("d1@example.com")
        return await _take(events, 1) + await _drain(events, 0.5)

    first = asyncio.run(life(assign=True))
    again = asyncio.run(life(assign=False))  # "crashed" before the event was surely stored

    assert [p["event_uuids"] for p in again] == [p["event_uuids"] for p in first]


def test_events_of_one_user_in_one_poll_name_the_user_once(sandbox_connections):
    sb = sandbox_connections
    user = _new_user(sb, "e1@example.com")
    sb.okta_app.assign("e1@example.com")
    sb.okta_app.unassign("e1@example.com")
    sb.okta_app.assign("e1@example.com")

    async def scenario() -> list[dict[str, Any]]:
        return await _drain(_trigger(MemoryAssetStateStore()).run(), 2)

    payloads = asyncio.run(scenario())
    mine = [p for p in payloads if any(u["id"] == user for u in p["users"])]

    assert len(mine) == 1
    assert mine[0]["users"] == [{"id": user, "login": "e1@example.com"}]
    assert len(mine[0]["event_uuids"]) == len(set(mine[0]["event_uuids"])) == 3


def test_group_assignments_fire_too(sandbox_connections):
    sb = sandbox_connections
    user = _new_user(sb, "g1@example.com")

    async def scenario() -> list[dict[str, Any]]:
        events = _trigger(MemoryAssetStateStore(), include_group_events=True).run()
        sb.okta_app.assign("g1@example.com", via_group=True)
        return await _take(events, 1)

    [payload] = asyncio.run(scenario())

    assert {"id": user, "login": "g1@example.com"} in payload["users"]
    assert "group.user_membership.add" in payload["event_types"]


def test_failures_back_off_exponentially_and_never_end_the_watch(sandbox_connections, monkeypatch):
    conn = json.loads(sandbox_connections.connection_env()["AIRFLOW_CONN_OKTA_DEFAULT"])
    monkeypatch.setenv("AIRFLOW_CONN_OKTA_DEFAULT", json.dumps(conn | {"password": "wrong-token"}))
    waits: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        waits.append(seconds)
        if len(waits) == 4:
            raise Stop

    monkeypatch.setattr(okta_events, "_sleep", fake_sleep)

    async def scenario() -> None:
        async for _ in _trigger(MemoryAssetStateStore(), poll_interval=1).run():
            pytest.fail("no event expected")

    with pytest.raises(Stop):
        asyncio.run(scenario())

    assert [round(w) for w in waits] == pytest.approx([2, 4, 8, 16], rel=0.25)


def test_a_transient_server_error_is_retried_without_losing_the_event(sandbox_connections):
    sb = sandbox_connections
    _new_user(sb, "f1@example.com")
    sb.okta.inject("logs.list", "server_error", times=2, status=503)

    async def scenario() -> list[dict[str, Any]]:
        events = _trigger(MemoryAssetStateStore()).run()
        sb.okta_app.assign("f1@example.com")
        return await _take(events, 1)

    [payload] = asyncio.run(scenario())
    assert payload["users"][0]["login"] == "f1@example.com"


def test_waits_for_the_rate_limit_window_when_the_bucket_runs_low(
    sandbox_connections, monkeypatch, fresh_rate_limit_window
):
    sb = sandbox_connections
    sb.okta_app.set_rate_limit("logs", 5)
    fresh_rate_limit_window(sb.okta_app.limiter.window)
    waits: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        waits.append(seconds)
        if seconds > 1:
            raise Stop

    monkeypatch.setattr(okta_events, "_sleep", fake_sleep)

    async def scenario() -> None:
        async for _ in _trigger(MemoryAssetStateStore(), poll_interval=0.5).run():
            pass

    with pytest.raises(Stop):
        asyncio.run(scenario())

    # 5 per minute with 20 % held back: polls at the interval until one is left, then a wait
    # for the window to reset, before Okta ever answers 429.
    assert waits[:-1] == [0.5] * (len(waits) - 1)
    assert waits[-1] > 5
    assert sb.okta.counters["logs.list"] == 4


# Push (Okta Event Hooks) and polling together -------------------------------------------------------
def _pushed(store: MemoryAssetStateStore, sb, login: str) -> None:
    """What the receiver does for a delivered assignment: remember its uuid, note the delivery."""
    from okta_salesforce.event_hook.ledger import DELIVERED_KEY, HEALTH_KEY

    [uuid] = [
        e["uuid"]
        for e in sb.okta_app.events()
        if e["eventType"] == "application.user_membership.add"
        and any(t.get("alternateId") == login for t in e["target"] if t["type"] == "User")
    ]
    delivered = store.values.setdefault(DELIVERED_KEY, {"uuids": {}})
    delivered["uuids"][uuid] = time.time()
    store.values[HEALTH_KEY] = {"verified": time.time() - 60, "last_delivery": time.time(), "deliveries": 1}


def test_an_event_push_delivered_is_not_fired_again_and_a_dropped_one_is(sandbox_connections):
    from okta_salesforce.event_hook.ledger import FIRED_KEY

    sb = sandbox_connections
    store = MemoryAssetStateStore()
    _new_user(sb, "pushed.one@example.com")
    dropped = _new_user(sb, "dropped.one@example.com")

    async def scenario() -> list[dict[str, Any]]:
        events = _trigger(store, push_poll_interval=0.05, push_grace=0).run()
        sb.okta_app.assign("pushed.one@example.com")
        _pushed(store, sb, "pushed.one@example.com")  # delivered by the Event Hook
        sb.okta_app.assign("dropped.one@example.com")  # its delivery was lost
        fired = await _take(events, 1)
        return fired + await _drain(events, 1.0)

    fired = asyncio.run(scenario())

    assert [u for p in fired for u in p["users"]] == [{"id": dropped, "login": "dropped.one@example.com"}]
    assert set(store.values[FIRED_KEY]["uuids"]) == set(fired[0]["event_uuids"])


def test_the_poller_slows_down_while_push_is_healthy(sandbox_connections, monkeypatch):
    from okta_salesforce.event_hook.ledger import HEALTH_KEY

    store = MemoryAssetStateStore()
    store.values[HEALTH_KEY] = {"verified": time.time(), "last_delivery": None, "deliveries": 0}
    waits: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        waits.append(seconds)
        if len(waits) == 3:
            raise Stop

    monkeypatch.setattr(okta_events, "_sleep", fake_sleep)

    async def scenario() -> None:
        async for _ in _trigger(store, poll_interval=5, push_poll_interval=60).run():
            pass

    with pytest.raises(Stop):
        asyncio.run(scenario())
    assert waits == [60, 60, 60]
