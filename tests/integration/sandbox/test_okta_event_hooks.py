"""The Okta sandbox's Event Hooks: registration, verification, HTTPS deliveries, retries, faults.

The receiver here is a small recording HTTPS app; ``test_hook_through_the_proxy_to_the_receiver``
puts the provider's real receiver behind the allow-list reverse proxy.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

from okta_salesforce_testbed.sandbox.server import App, Request, Response, SandboxServer

pytestmark = pytest.mark.integration

SECRET = "hook-secret-abcdefghijklmnopqrstuvwxyz"
HOOK_PATH = "/okta-salesforce/event-hooks/okta"


class Receiver(App):
    """Records every request; answers verifications, and deliveries with ``status``."""

    name = "receiver"

    def __init__(self) -> None:
        super().__init__()
        self.requests: list[Request] = []
        self.status = 204
        self.echo = True
        self.route("GET", "/hook", "get")(self._verify)
        self.route("POST", "/hook", "post")(self._deliver)

    def _verify(self, request: Request) -> Response:
        self.requests.append(request)
        challenge = request.header("x-okta-verification-challenge") if self.echo else "wrong"
        return Response(200, {"verification": challenge}, content_type="application/json")

    def _deliver(self, request: Request) -> Response:
        self.requests.append(request)
        return Response(self.status)

    def posts(self) -> list[dict[str, Any]]:
        return [json.loads(r.body) for r in self.requests if r.method == "POST"]


@pytest.fixture
def receiver(sandboxes) -> Iterator[tuple[Receiver, str]]:
    app = Receiver()
    with SandboxServer(app, sandboxes.ca) as server:
        yield app, server.url + "/hook"


def api(sandboxes, method: str, path: str, body: Any = None) -> requests.Response:
    token = sandboxes.seed.credentials.okta_api_token
    return requests.request(
        method,
        sandboxes.okta.url + path,
        json=body,
        headers={"Authorization": f"SSWS {token}", "Accept": "application/json"},
        verify=str(sandboxes.ca_path),
        timeout=30,
    )


def hook_body(uri: str, events: list[str] | None = None) -> dict[str, Any]:
    return {
        "name": "Airflow okta-salesforce",
        "events": {"type": "EVENT_TYPE", "items": events or ["application.user_membership.add"]},
        "channel": {
            "type": "HTTP",
            "version": "1.0.0",
            "config": {
                "uri": uri,
                "headers": [{"key": "X-Other-Header", "value": "v1"}],
                "authScheme": {"type": "HEADER", "key": "Authorization", "value": SECRET},
            },
        },
    }


def register(sandboxes, uri: str) -> dict[str, Any]:
    created = api(sandboxes, "POST", "/api/v1/eventHooks", hook_body(uri))
    assert created.status_code == 200, created.text
    verified = api(sandboxes, "POST", f"/api/v1/eventHooks/{created.json()['id']}/lifecycle/verify")
    assert verified.status_code == 200, verified.text
    return verified.json()


def until(what: str, check: Callable[[], Any], timeout: float = 15) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def assign_new(sandboxes, login: str) -> None:
    sandboxes.okta_app.add_user(first_name="Hook", last_name="Tester", login=login)
    sandboxes.okta_app.assign(login)


def test_a_hook_is_created_active_and_unverified_and_never_shows_its_secret(sandboxes, receiver):
    _, uri = receiver
    created = api(sandboxes, "POST", "/api/v1/eventHooks", hook_body(uri))

    assert created.status_code == 200
    body = created.json()
    assert (body["status"], body["verificationStatus"]) == ("ACTIVE", "UNVERIFIED")
    assert body["channel"]["config"]["authScheme"] == {"type": "HEADER", "key": "Authorization"}
    assert SECRET not in created.text
    assert SECRET not in api(sandboxes, "GET", "/api/v1/eventHooks").text
    assert SECRET not in repr(sandboxes.okta_app.hooks.get(body["id"]))


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda b: b["channel"]["config"].update(uri="http://127.0.0.1:1/hook"), "channel.config.uri"),
        (lambda b: b["events"].update(items=["user.session.start"]), "events.items"),
        (lambda b: b.pop("name"), "name"),
    ],
)
def test_invalid_hooks_are_refused_naming_the_field(sandboxes, receiver, change, field):
    body = hook_body(receiver[1])
    change(body)
    response = api(sandboxes, "POST", "/api/v1/eventHooks", body)

    assert response.status_code == 400
    assert response.json()["errorCode"] == "E0000001"
    assert field in json.dumps(response.json()["errorCauses"])


def test_verification_sends_the_challenge_with_the_configured_headers(sandboxes, receiver):
    app, uri = receiver
    hook = register(sandboxes, uri)

    assert hook["verificationStatus"] == "VERIFIED"
    [request] = app.requests
    assert request.method == "GET"
    assert request.header("x-okta-verification-challenge")
    assert request.header("Authorization") == SECRET
    assert request.header("X-Other-Header") == "v1"


def test_verification_is_tried_twice_then_fails_when_the_challenge_is_not_echoed(sandboxes, receiver):
    app, uri = receiver
    app.echo = False
    created = api(sandboxes, "POST", "/api/v1/eventHooks", hook_body(uri)).json()

    response = api(sandboxes, "POST", f"/api/v1/eventHooks/{created['id']}/lifecycle/verify")
    assert response.status_code == 400
    assert "verification" in response.text
    assert [r.method for r in app.requests] == ["GET", "GET"]
    hook = api(sandboxes, "GET", f"/api/v1/eventHooks/{created['id']}").json()
    assert hook["verificationStatus"] == "UNVERIFIED"


def test_an_assignment_is_delivered_over_https_with_the_secret(sandboxes, receiver):
    app, uri = receiver
    hook = register(sandboxes, uri)
    assign_new(sandboxes, "pushed@example.com")

    [delivery] = until("a delivery", app.posts)
    assert delivery["eventType"] == "com.okta.event_hook"
    assert delivery["source"].endswith(f"/api/v1/eventHooks/{hook['id']}")
    [event] = delivery["data"]["events"]
    assert event["eventType"] == "application.user_membership.add"
    assert {t["alternateId"] for t in event["target"] if t["type"] == "User"} == {"pushed@example.com"}
    post = next(r for r in app.requests if r.method == "POST")
    assert post.header("Authorization") == SECRET


def test_unsubscribed_and_inactive_hooks_get_nothing(sandboxes, receiver):
    app, uri = receiver
    hook = register(sandboxes, uri)
    sandboxes.okta_app.add_user(
        first_name="Not", last_name="Assigned", login="na@example.com"
    )  # not subscribed
    api(sandboxes, "POST", f"/api/v1/eventHooks/{hook['id']}/lifecycle/deactivate")
    assign_new(sandboxes, "inactive@example.com")
    time.sleep(0.5)

    assert app.posts() == []
    assert api(sandboxes, "DELETE", f"/api/v1/eventHooks/{hook['id']}").status_code == 204


def test_an_active_hook_cannot_be_deleted(sandboxes, receiver):
    hook = register(sandboxes, receiver[1])

    assert api(sandboxes, "DELETE", f"/api/v1/eventHooks/{hook['id']}").status_code == 400


def test_a_failed_delivery_is_retried_once_then_logged(sandboxes, receiver):
    app, uri = receiver
    register(sandboxes, uri)
    app.status = 500
    assign_new(sandboxes, "retried@example.com")

    until("two attempts", lambda: len(app.posts()) == 2)
    failures = until(
        "the failure event",
        lambda: [e for e in sandboxes.okta_app.events() if e["eventType"] == "event_hook.delivery"],
    )
    assert failures[0]["outcome"]["result"] == "FAILURE"
    first, second = app.posts()
    assert first["eventId"] == second["eventId"]


def test_a_dropped_delivery_never_reaches_the_receiver_and_a_duplicate_arrives_twice(sandboxes, receiver):
    app, uri = receiver
    register(sandboxes, uri)
    okta = sandboxes.okta_app
    okta.hooks.inject("drop")
    assign_new(sandboxes, "dropped@example.com")
    until("the queue to drain", okta.hooks.idle)
    assert app.posts() == []

    okta.hooks.inject("duplicate")
    assign_new(sandboxes, "twice@example.com")
    posts = until("two deliveries", lambda: len(app.posts()) == 2 and app.posts())
    assert posts[0] == posts[1]
    assert (okta.hooks.counters["dropped"], okta.hooks.counters["delivered"]) == (1, 2)


def test_hook_through_the_proxy_to_the_receiver(sandboxes):
    """Okta sandbox -> HTTPS allow-list proxy -> the provider's receiver app (uvicorn, fake recorder)."""
    import uvicorn
    from fastapi import FastAPI

    from okta_salesforce.event_hook.receiver import HookSettings, Outcome, create_app
    from okta_salesforce.plugin import URL_PREFIX
    from okta_salesforce_testbed.sandbox.reverse_proxy import ReverseProxy

    recorded: list[list[str]] = []

    class Recorder:
        def record(self, settings: HookSettings, events: list[Any]) -> Outcome:
            recorded.append([e.uuid for e in events])
            return Outcome(new=len(events))

        def mark_verified(self, settings: HookSettings) -> None:
            recorded.append(["verified"])

    settings = HookSettings(header="Authorization", secret=SECRET, app_id=sandboxes.seed.okta_app_id)
    api_server = FastAPI()  # mounted under the plugin's prefix, as Airflow's API server does
    api_server.mount(URL_PREFIX, create_app(settings=lambda: settings, recorder=Recorder()))  # type: ignore[arg-type]
    server = uvicorn.Server(uvicorn.Config(api_server, host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        until("uvicorn", lambda: server.started)
        port = server.servers[0].sockets[0].getsockname()[1]
        proxy = ReverseProxy(f"http://127.0.0.1:{port}", [HOOK_PATH])
        with SandboxServer(proxy, sandboxes.ca) as front:
            register(sandboxes, front.url + HOOK_PATH)
            assign_new(sandboxes, "proxied@example.com")
            until("the delivery", lambda: len(recorded) == 2)
            outside = requests.get(front.url + "/api/v2/dags", verify=str(sandboxes.ca_path), timeout=10)
    finally:
        server.should_exit = True
        thread.join(10)

    assert recorded[0] == ["verified"]
    assert len(recorded[1]) == 1
    assert outside.status_code == 404  # nothing but the hook's path is reachable through the proxy
