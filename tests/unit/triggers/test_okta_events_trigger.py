"""OktaAssignmentEventTrigger without a network: serialization, cursor commits, payloads, rate limits."""

from __future__ import annotations

import subprocess
import sys
from collections import deque
from types import SimpleNamespace

import pytest
from airflow.triggers.base import BaseEventTrigger

from okta_salesforce.hooks.okta import RateLimit
from okta_salesforce.hooks.okta_events import EventCursor, PollResult
from okta_salesforce.hooks.okta_records import LogEvent, LogTarget
from okta_salesforce.triggers.okta_events import (
    OktaAssignmentEventTrigger,
    _safe_cursor,
    build_payloads,
    users_from_asset_events,
    users_from_payloads,
)

CLASSPATH = "okta_salesforce.triggers.okta_events.OktaAssignmentEventTrigger"


def test_serialize_round_trips_to_an_equal_trigger():
    trigger = OktaAssignmentEventTrigger(
        okta_conn_id="okta_prod", app_id="0oa1", poll_interval=5, include_group_events=True, commit_delay=30
    )
    classpath, kwargs = trigger.serialize()

    assert classpath == CLASSPATH
    again = OktaAssignmentEventTrigger(**kwargs)
    assert again.serialize() == (classpath, kwargs)
    assert BaseEventTrigger.hash(classpath, kwargs) == BaseEventTrigger.hash(*again.serialize())


def test_serialized_kwargs_are_plain_config_without_secrets_or_state():
    _, kwargs = OktaAssignmentEventTrigger().serialize()

    assert set(kwargs) == {
        "okta_conn_id",
        "app_id",
        "poll_interval",
        "include_group_events",
        "initial_lookback",
        "commit_delay",
        "rate_limit_reserve",
        "max_users_per_event",
        "cursor_key",
        "push_poll_interval",
        "push_grace",
    }
    assert all(isinstance(v, (str, int, float, bool, type(None))) for v in kwargs.values())
    assert kwargs["okta_conn_id"] == "okta_default"


def test_the_classpath_is_importable_as_the_triggerer_does():
    from airflow.sdk.module_loading import import_string

    assert import_string(CLASSPATH) is OktaAssignmentEventTrigger


def test_importing_the_trigger_does_not_import_the_okta_sdk():
    code = (
        "import sys, okta_salesforce.triggers.okta_events as m; m.OktaAssignmentEventTrigger().serialize(); "
        "print(sorted(n for n in sys.modules if n == 'okta' or n.startswith('okta.')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize(
    "kwargs", [{"poll_interval": 0}, {"max_users_per_event": 0}, {"push_poll_interval": 0}]
)
def test_rejects_nonsense_settings(kwargs):
    with pytest.raises(ValueError):
        OktaAssignmentEventTrigger(**kwargs)


def test_commit_delay_defaults_to_twice_the_poll_interval_and_at_least_15_s():
    assert OktaAssignmentEventTrigger(poll_interval=2).effective_commit_delay == 15
    assert OktaAssignmentEventTrigger(poll_interval=20).effective_commit_delay == 40
    assert OktaAssignmentEventTrigger(poll_interval=2, commit_delay=0).effective_commit_delay == 0


def test_group_events_are_read_only_when_asked():
    assert OktaAssignmentEventTrigger().event_types == (
        "application.user_membership.add",
        "application.user_membership.remove",
        "application.user_membership.change_username",
    )
    assert "group.user_membership.add" in OktaAssignmentEventTrigger(include_group_events=True).event_types


# Cursor commits ---------------------------------------------------------------------------------
def _cursor(n: int) -> EventCursor:
    return EventCursor(next_path=f"/api/v1/logs?after={n}", last_published=f"t{n}", seen_uuids=[str(n)])


def test_the_cursor_moves_freely_while_nothing_is_in_flight():
    assert _safe_cursor(deque(), _cursor(3), confirmed_before=100.0) == _cursor(3)


def test_the_cursor_stays_in_front_of_the_oldest_batch_not_yet_stored():
    in_flight = deque([(10.0, _cursor(1)), (20.0, _cursor(2))])

    assert _safe_cursor(in_flight, _cursor(3), confirmed_before=5.0) == _cursor(1)
    assert _safe_cursor(in_flight, _cursor(3), confirmed_before=15.0) == _cursor(2)
    assert _safe_cursor(in_flight, _cursor(3), confirmed_before=25.0) == _cursor(3)
    assert not in_flight


def test_no_cursor_is_committed_in_front_of_a_first_batch_read_without_one():
    assert _safe_cursor(deque([(10.0, None)]), _cursor(1), confirmed_before=5.0) is None


# Payloads ------------------------------------------------------------------------------------------
def _event(uuid: str, user_id: str, login: str, kind: str = "add") -> LogEvent:
    return LogEvent(
        uuid=uuid,
        published=f"2026-01-01T00:00:0{uuid[-1]}.000Z",
        event_type=f"application.user_membership.{kind}",
        outcome="SUCCESS",
        targets=(
            LogTarget(id="0ua1", type="AppUser", alternate_id=login),
            LogTarget(id="0oa1", type="AppInstance"),
            LogTarget(id=user_id, type="User", alternate_id=login),
        ),
    )


def _result(*events: LogEvent) -> PollResult:
    users = {t.id: t.alternate_id for e in events for t in e.targets_of("User")}
    return PollResult(events=list(events), users=users, cursor=_cursor(9))


def test_payload_names_users_once_with_every_event_uuid_and_type_counts():
    result = _result(_event("u1", "00u1", "a@x.io"), _event("u2", "00u1", "a@x.io", "remove"))

    [payload] = build_payloads(result, result.users, "0oa1", max_users=10)

    assert payload["users"] == [{"id": "00u1", "login": "a@x.io"}]
    assert payload["event_uuids"] == ["u1", "u2"]
    assert payload["event_types"] == {
        "application.user_membership.add": 1,
        "application.user_membership.remove": 1,
    }
    assert payload["app_id"] == "0oa1"
    assert payload["version"] == 1
    assert (payload["first_published"], payload["last_published"]) < ("2026-01-01T00:00:02", "~")


def test_a_burst_is_split_into_payloads_of_bounded_size():
    events = [_event(f"u{i}", f"00u{i}", f"p{i}@x.io") for i in range(5)]
    result = _result(*events)

    payloads = build_payloads(result, result.users, "0oa1", max_users=2)

    assert [len(p["users"]) for p in payloads] == [2, 2, 1]
    assert [p["event_uuids"] for p in payloads] == [["u0", "u1"], ["u2", "u3"], ["u4"]]


def test_users_are_read_back_from_triggering_asset_events_each_once():
    events = {
        "asset": [
            SimpleNamespace(
                extra={"from_trigger": True, "payload": {"users": [{"id": "1", "login": "a@x"}]}}
            ),
            SimpleNamespace(
                extra={"payload": {"users": [{"id": "2", "login": "b@x"}, {"id": "1", "login": "a@x"}]}}
            ),
            SimpleNamespace(extra={"payload": {"users": [{"id": "00u3", "login": ""}]}}),
            SimpleNamespace(extra={}),  # an event posted by hand through the API
        ]
    }

    assert users_from_asset_events(events) == ["a@x", "b@x", "00u3"]
    assert users_from_asset_events(None) == []
    assert users_from_payloads([None, "junk", {"users": "junk"}]) == []


# Rate limits ---------------------------------------------------------------------------------------
def test_rate_limit_is_read_from_the_headers():
    headers = {"x-rate-limit-limit": ["60"], "x-rate-limit-remaining": ["7"], "x-rate-limit-reset": ["1000"]}
    assert RateLimit.from_headers(headers) == RateLimit(limit=60, remaining=7, reset=1000.0)
    assert RateLimit.from_headers({}) is None
    assert RateLimit.from_headers(headers | {"x-rate-limit-remaining": ["many"]}) is None


def test_waits_for_the_window_to_reset_when_the_bucket_is_nearly_drained():
    assert RateLimit(limit=100, remaining=50, reset=1060).pause(0.2, now=1000) == 0
    assert RateLimit(limit=100, remaining=20, reset=1060).pause(0.2, now=1000) == 60
    assert RateLimit(limit=100, remaining=0, reset=990).pause(0.2, now=1000) == 0


def test_next_delay_is_the_interval_or_the_rate_limit_pause_capped():
    trigger = OktaAssignmentEventTrigger(poll_interval=10)
    now_ish = __import__("time").time()

    assert trigger._next_delay(None) == 10
    assert trigger._next_delay(RateLimit(limit=100, remaining=90, reset=now_ish + 50)) == 10
    assert 45 < trigger._next_delay(RateLimit(limit=100, remaining=1, reset=now_ish + 50)) < 52
    assert trigger._next_delay(RateLimit(limit=100, remaining=1, reset=now_ish + 5000)) == 300


# The trigger awaits the hook ------------------------------------------------------------------------
def test_the_trigger_awaits_the_hook_on_its_own_loop_and_reads_its_rate_limit(monkeypatch):
    """Every System Log request runs on the triggerer's loop thread (no worker thread, no second
    loop); the rate limit the trigger paces itself by is the hook's attribute."""
    import asyncio
    import json
    import threading

    from multidict import CIMultiDict

    from okta_salesforce.hooks.okta_transport import OktaTransport
    from okta_salesforce.triggers import okta_events

    org = "https://acme.okta.com"
    monkeypatch.setenv(
        "AIRFLOW_CONN_OKTA_DEFAULT", json.dumps({"conn_type": "okta", "host": org, "password": "x" * 40})
    )
    event = {
        "uuid": "e1",
        "published": "2026-01-01T00:00:00.000Z",
        "eventType": "application.user_membership.add",
        "target": [
            {"id": "0oa1", "type": "AppInstance"},
            {"id": "00u1", "type": "User", "alternateId": "u1@acme.example.com"},
        ],
    }
    threads: list[str] = []

    class Executor:
        _oauth = None

        def set_session(self, session):
            pass

        async def create_request(self, method, url, headers):
            return {"method": method, "url": url}, None

        async def fire_request_helper(self, request, attempts, started):
            threads.append(threading.current_thread().name)
            headers = CIMultiDict(
                {"X-Rate-Limit-Limit": "100", "X-Rate-Limit-Remaining": "42", "X-Rate-Limit-Reset": "1000"}
            )
            headers.add("Link", f'<{org}/api/v1/logs?after=e1>; rel="next"')
            body = [event] if "after=" not in request["url"] else []
            return request, SimpleNamespace(status=200, headers=headers), json.dumps(body), None

    monkeypatch.setattr(OktaTransport, "executor", property(lambda self: Executor()))
    seen: list[RateLimit | None] = []

    class Stop(BaseException):
        pass

    async def fake_sleep(seconds: float) -> None:
        raise Stop

    monkeypatch.setattr(okta_events, "_sleep", fake_sleep)
    monkeypatch.setattr(
        OktaAssignmentEventTrigger,
        "_next_delay",
        lambda self, rate_limit, pushed=False: seen.append(rate_limit),
    )

    async def scenario() -> list[dict]:
        payloads = []
        try:
            async for fired in OktaAssignmentEventTrigger(app_id="0oa1").run():
                payloads.append(fired.payload)
        except Stop:
            pass
        return payloads

    [payload] = asyncio.run(scenario())
    assert payload["users"] == [{"id": "00u1", "login": "u1@acme.example.com"}]
    assert threads == [threading.main_thread().name] * 2  # both pages read on the loop's own thread
    assert seen == [RateLimit(limit=100, remaining=42, reset=1000.0)]
