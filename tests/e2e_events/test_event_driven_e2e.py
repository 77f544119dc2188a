"""Event-driven provisioning end to end: Okta assignment -> triggerer -> Asset event -> Dag run -> Salesforce.

Runs Airflow's api-server, scheduler (LocalExecutor), dag-processor and triggerer as separate
processes on a fresh PostgreSQL database, with the sandboxes standing in for Okta and Salesforce.
"""

from __future__ import annotations

import time
from collections import Counter

import pytest

from okta_salesforce_testbed.event_deployment import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e_events"), pytest.mark.timeout(900)]

CURSOR_KEY = "okta_system_log_cursor"


def _settled(deployment, *, quiet_for: float) -> None:
    """Wait until no run of the events Dag is queued or running for ``quiet_for`` seconds."""
    quiet_since: list[float] = []

    def quiet() -> bool:
        deployment.check_alive()
        if deployment.pending_runs():
            quiet_since.clear()
            return False
        quiet_since.append(time.monotonic())
        return quiet_since[-1] - quiet_since[0] >= quiet_for

    wait_for("the events Dag to settle", quiet, timeout=300, interval=0.5)


def test_an_okta_assignment_activates_the_salesforce_user(event_deployment):
    delays = []
    for index in range(2):
        login = f"e2e.{index}@example.com"
        event_deployment.assign_new_person(login)
        delays.append(event_deployment.wait_active(login))
    _settled(event_deployment, quiet_for=2)

    print(
        f"assign -> active Salesforce user: {', '.join(f'{d:.1f}' for d in delays)} s "
        f"(trigger poll interval {event_deployment.poll_interval:g} s)"
    )
    lines = [line for line in event_deployment.reports() if line["login"].startswith("e2e.")]
    assert [(line["action"], line["outcome"]) for line in lines] == [("create", "success")] * 2
    [(cursor,)] = event_deployment.query("SELECT value FROM asset_state_store WHERE key = %s", CURSOR_KEY)
    assert "next_path" in str(cursor)


def test_a_triggerer_restart_loses_no_event_and_provisions_nobody_twice(event_deployment):
    deployment = event_deployment
    while_down = [f"down.{i}@example.com" for i in range(2)]
    in_flight = "inflight@example.com"

    # Assignments made while the triggerer is down are read from the stored cursor on start.
    deployment.restart_triggerer(
        down_for=lambda: [deployment.assign_new_person(login) for login in while_down]
    )
    deployment.wait_until_polling(timeout=180)
    # A restart right after an event fired, before its cursor was committed: replayed, not lost.
    deployment.assign_new_person(in_flight)
    triggerer_log = deployment.component_logs / "triggerer.log"
    wait_for(
        "the trigger to fire", lambda: in_flight in triggerer_log.read_text(encoding="utf-8"), timeout=60
    )
    deployment.restart_triggerer()

    for login in [*while_down, in_flight]:
        deployment.wait_active(login, timeout=240)
    deployment.wait_until_polling(timeout=180)
    _settled(deployment, quiet_for=3 * deployment.poll_interval)

    lines = [line for line in deployment.reports() if line["login"] in {*while_down, in_flight}]
    writes = Counter(
        line["login"] for line in lines if line["action"] != "skip" and line["outcome"] != "unchanged"
    )
    assert writes == dict.fromkeys([*while_down, in_flight], 1), lines
    assert not [line for line in deployment.reports() if line["outcome"] == "failed"]
    assert triggerer_log.read_text(encoding="utf-8").count("resuming from the stored cursor") >= 2


def _naming(deployment, login: str) -> list[dict]:
    """The Asset events whose payload names ``login``."""
    return [
        extra
        for extra in deployment.asset_events()
        if any(user.get("login") == login for user in (extra.get("payload") or {}).get("users", []))
    ]


def test_push_an_assignment_becomes_active_through_the_event_hook_and_a_dropped_one_through_the_poller(
    event_deployment,
):
    deployment = event_deployment
    deployment.enable_push()  # Okta (sandbox) -> HTTPS proxy -> API server plugin, verified
    try:
        pushed, dropped = "pushed.e2e@example.com", "dropped.e2e@example.com"
        deployment.assign_new_person(pushed)
        delay = deployment.wait_active(pushed, timeout=120)
        print(f"push: assign -> active Salesforce user in {delay:.1f} s")

        deployment.sandboxes.okta_app.hooks.inject("drop")  # Okta never delivers this one
        deployment.assign_new_person(dropped)
        deployment.wait_active(dropped, timeout=180)
        # The poller has read both events by now; let any run it might start finish.
        calls = deployment.log_calls()
        wait_for("two more polls", lambda: deployment.log_calls() >= calls + 2, timeout=60)
        _settled(deployment, quiet_for=3 * deployment.poll_interval)
    finally:
        deployment.disable_push()

    # Seen by push and by the poller, started once, by push; the dropped delivery by the poller.
    assert [bool(extra.get("from_event_hook")) for extra in _naming(deployment, pushed)] == [True]
    assert [bool(extra.get("from_trigger")) for extra in _naming(deployment, dropped)] == [True]
    lines = [line for line in deployment.reports() if line["login"] in (pushed, dropped)]
    assert sorted((line["login"], line["action"], line["outcome"]) for line in lines) == [
        (dropped, "create", "success"),
        (pushed, "create", "success"),
    ]
    hooks = deployment.sandboxes.okta_app.hooks.counters
    assert (hooks["dropped"], hooks["failed"]) == (1, 0)
    api_log = (deployment.component_logs / "api-server.log").read_text(encoding="utf-8")
    assert deployment.hook_secret not in api_log
