"""The Event Hook receiver without a database: handshake, authentication, body checks, what gets recorded."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from fastapi.testclient import TestClient

from okta_salesforce.event_hook.receiver import (
    HOOK_PATH,
    HookSettings,
    NotConfiguredError,
    Outcome,
    create_app,
)

SECRET = "s3cr3t-shared-with-okta-0123456789"
APP_ID = "0oasalesforceapp0001"
SETTINGS = HookSettings(header="Authorization", secret=SECRET, app_id=APP_ID)


class FakeRecorder:
    """Remembers what the receiver asked to record."""

    def __init__(self) -> None:
        self.deliveries: list[list[Any]] = []
        self.verified = 0

    def record(self, settings: HookSettings, events: list[Any]) -> Outcome:
        self.deliveries.append(list(events))
        return Outcome(new=len(events), asset_events=1 if events else 0)

    def mark_verified(self, settings: HookSettings) -> None:
        self.verified += 1


@pytest.fixture
def recorder() -> FakeRecorder:
    return FakeRecorder()


@pytest.fixture
def client(recorder: FakeRecorder) -> TestClient:
    return TestClient(create_app(settings=lambda: SETTINGS, recorder=recorder))  # type: ignore[arg-type]


def assignment(uuid: str, *, app_id: str = APP_ID, event_type: str = "application.user_membership.add"):
    return {
        "uuid": uuid,
        "published": "2026-01-02T03:04:05.678Z",
        "eventType": event_type,
        "outcome": {"result": "SUCCESS"},
        "target": [
            {"id": "0ua1", "type": "AppUser", "alternateId": "ada@example.com"},
            {"id": app_id, "type": "AppInstance", "alternateId": "Salesforce"},
            {"id": "00u1", "type": "User", "alternateId": "ada@example.com"},
        ],
    }


def delivery(*events: dict[str, Any]) -> dict[str, Any]:
    return {
        "eventType": "com.okta.event_hook",
        "eventTypeVersion": "1.0",
        "cloudEventsVersion": "0.1",
        "source": "https://example.okta.com/api/v1/eventHooks/who1",
        "eventId": "b4f8c1e0-0000-4000-8000-000000000001",
        "eventTime": "2026-01-02T03:04:06.000Z",
        "contentType": "application/json",
        "data": {"events": list(events)},
    }


def test_verification_echoes_the_challenge(client, recorder):
    response = client.get(
        HOOK_PATH, headers={"Authorization": SECRET, "x-okta-verification-challenge": "chal-123"}
    )

    assert response.status_code == 200
    assert response.json() == {"verification": "chal-123"}
    assert recorder.verified == 1


def test_verification_without_the_challenge_header_is_a_bad_request(client):
    response = client.get(HOOK_PATH, headers={"Authorization": SECRET})

    assert response.status_code == 400
    assert "x-okta-verification-challenge" in response.json()["error"]


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "wrong"}, {"Authorization": SECRET[:-1]}, {"X-Other": SECRET}],
    ids=["missing", "wrong", "prefix", "other-header"],
)
def test_a_delivery_without_the_secret_is_refused_and_starts_nothing(client, recorder, headers, caplog):
    caplog.set_level(logging.DEBUG)
    response = client.post(HOOK_PATH, json=delivery(assignment("u-1")), headers=headers)

    assert response.status_code == 401
    assert recorder.deliveries == []
    assert SECRET not in caplog.text


@pytest.mark.parametrize("headers", [{}, {"Authorization": "wrong"}], ids=["missing", "wrong"])
def test_a_verification_without_the_secret_is_refused(client, recorder, headers):
    response = client.get(HOOK_PATH, headers={**headers, "x-okta-verification-challenge": "chal-42"})

    assert response.status_code == 401
    assert "chal-42" not in response.text
    assert recorder.verified == 0


def test_the_secret_may_travel_in_a_custom_header(recorder):
    custom = HookSettings(header="X-Okta-Hook-Secret", secret=SECRET, app_id=APP_ID)
    client = TestClient(create_app(settings=lambda: custom, recorder=recorder))  # type: ignore[arg-type]

    assert client.post(HOOK_PATH, json=delivery(), headers={"Authorization": SECRET}).status_code == 401
    assert client.post(HOOK_PATH, json=delivery(), headers={"x-okta-hook-secret": SECRET}).status_code == 204


def test_a_delivery_keeps_only_the_apps_assignment_and_the_user_change_events(client, recorder):
    events = [
        assignment("keep-add"),
        assignment("other-app", app_id="0oaother"),
        assignment("keep-profile", event_type="user.account.update_profile"),
        assignment("ignored-type", event_type="user.session.start"),
        {"eventType": "application.user_membership.add"},  # no uuid: cannot be de-duplicated
    ]
    response = client.post(HOOK_PATH, json=delivery(*events), headers={"Authorization": SECRET})

    assert response.status_code == 204
    assert [[e.uuid for e in batch] for batch in recorder.deliveries] == [["keep-add", "keep-profile"]]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ("not json", "body"),
        ([], "body"),
        ({"eventType": "something.else", "data": {"events": []}}, "eventType"),
        ({"eventType": "com.okta.event_hook", "data": {"events": {}}}, "data.events"),
    ],
)
def test_a_body_that_is_not_a_delivery_is_refused_naming_the_field(client, recorder, body, field):
    kwargs = {"content": body} if isinstance(body, str) else {"json": body}
    response = client.post(HOOK_PATH, headers={"Authorization": SECRET}, **kwargs)

    assert response.status_code == 400
    assert response.json()["error"].startswith(field)
    assert recorder.deliveries == []


def test_an_unconfigured_receiver_answers_503_so_okta_retries(recorder):
    def missing() -> HookSettings:
        raise NotConfiguredError("connection 'okta_event_hook' is not available")

    client = TestClient(create_app(settings=missing, recorder=recorder))  # type: ignore[arg-type]

    response = client.post(HOOK_PATH, json=delivery(assignment("u")), headers={"Authorization": "x"})
    assert response.status_code == 503
    assert recorder.deliveries == []


def test_a_recording_failure_answers_503_without_leaking_details(recorder):
    class Broken(FakeRecorder):
        def record(self, settings: HookSettings, events: list[Any]) -> Outcome:
            raise RuntimeError(f"database down, secret={settings.secret}")

    client = TestClient(create_app(settings=lambda: SETTINGS, recorder=Broken()))  # type: ignore[arg-type]

    response = client.post(HOOK_PATH, json=delivery(assignment("u")), headers={"Authorization": SECRET})
    assert response.status_code == 503
    assert SECRET not in response.text


def test_settings_never_show_the_secret():
    assert SECRET not in repr(SETTINGS)
    assert SECRET not in str(SETTINGS)


def test_settings_come_from_the_connection_with_the_app_from_the_config(monkeypatch):
    from okta_salesforce.event_hook.receiver import load_settings

    monkeypatch.setenv(
        "AIRFLOW_CONN_OKTA_EVENT_HOOK",
        json.dumps({"conn_type": "generic", "password": SECRET, "extra": {"header": "X-Hook"}}),
    )
    settings = load_settings()

    assert (settings.header, settings.secret, settings.app_id) == ("X-Hook", SECRET, APP_ID)


def test_a_connection_without_a_password_leaves_the_receiver_unconfigured(monkeypatch):
    from okta_salesforce.event_hook.receiver import load_settings

    monkeypatch.setenv("AIRFLOW_CONN_OKTA_EVENT_HOOK", '{"conn_type": "generic"}')
    with pytest.raises(NotConfiguredError, match="no password"):
        load_settings()


def test_an_oversized_body_is_refused(client, recorder):
    from okta_salesforce.event_hook.receiver import MAX_BODY_BYTES

    body = delivery(assignment("big")) | {"padding": "x" * MAX_BODY_BYTES}
    response = client.post(HOOK_PATH, json=body, headers={"Authorization": SECRET})

    assert response.status_code == 413
    assert recorder.deliveries == []
