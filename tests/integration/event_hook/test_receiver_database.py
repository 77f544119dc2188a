"""The Event Hook receiver on a real (SQLite) metadata database: Asset events, de-duplication, health."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from okta_salesforce.event_hook.ledger import DELIVERED_KEY, FIRED_KEY, HEALTH_KEY
from okta_salesforce.event_hook.receiver import (
    DEFAULT_ASSET,
    HOOK_PATH,
    AssetEventRecorder,
    HookSettings,
    create_app,
)

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("airflow_metadata_db")]

SECRET = "another-shared-secret-9876543210"
APP_ID = "0oasalesforceapp0001"
SETTINGS = HookSettings(header="Authorization", secret=SECRET, app_id=APP_ID)
AUTH = {"Authorization": SECRET}


@pytest.fixture(scope="module")
def asset_id() -> int:
    """A migrated metadata database (this session's AIRFLOW_HOME) with the watched Asset."""
    from airflow.models.asset import AssetActive, AssetModel
    from airflow.utils.db import initdb
    from airflow.utils.session import create_session

    initdb()
    with create_session() as session:
        asset = AssetModel(name=DEFAULT_ASSET, uri=DEFAULT_ASSET, group="asset")
        session.add(asset)
        session.flush()
        session.add(AssetActive.for_asset(asset))
        return asset.id


@pytest.fixture
def client(asset_id: int) -> TestClient:
    _reset(asset_id)
    return TestClient(create_app(settings=lambda: SETTINGS, recorder=AssetEventRecorder()))


def _reset(asset_id: int) -> None:
    from airflow.models.asset import AssetEvent
    from airflow.models.asset_state_store import AssetStateStoreModel
    from airflow.utils.session import create_session
    from sqlalchemy import delete

    with create_session() as session:
        session.execute(delete(AssetEvent).where(AssetEvent.asset_id == asset_id))
        session.execute(delete(AssetStateStoreModel).where(AssetStateStoreModel.asset_id == asset_id))


def _asset_events(asset_id: int) -> list[dict[str, Any]]:
    from airflow.models.asset import AssetEvent
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        return [
            dict(e.extra) for e in session.scalars(select(AssetEvent).where(AssetEvent.asset_id == asset_id))
        ]


def _state(asset_id: int, key: str) -> Any:
    from airflow.models.asset_state_store import AssetStateStoreModel
    from airflow.utils.session import create_session

    with create_session() as session:
        row = session.get(AssetStateStoreModel, (asset_id, key))
        return json.loads(row.value) if row else None


def _set_state(asset_id: int, key: str, value: Any) -> None:
    from airflow.state import AssetScope, get_state_backend
    from airflow.utils.session import create_session

    with create_session() as session:
        get_state_backend().set(AssetScope(asset_id=asset_id), key, json.dumps(value), session=session)


def _delivery(*uuids: str, login: str = "ada@example.com", user_id: str = "00uada") -> dict[str, Any]:
    events = [
        {
            "uuid": uuid,
            "published": "2026-01-02T03:04:05.678Z",
            "eventType": "application.user_membership.add",
            "outcome": {"result": "SUCCESS"},
            "target": [
                {"id": "0ua1", "type": "AppUser", "alternateId": login},
                {"id": APP_ID, "type": "AppInstance", "alternateId": "Salesforce"},
                {"id": user_id, "type": "User", "alternateId": login},
            ],
        }
        for uuid in uuids
    ]
    return {"eventType": "com.okta.event_hook", "eventId": "delivery-1", "data": {"events": events}}


def test_a_delivery_becomes_one_asset_event_naming_the_user(client, asset_id):
    assert client.post(HOOK_PATH, json=_delivery("e-1"), headers=AUTH).status_code == 204

    [extra] = _asset_events(asset_id)
    assert extra["from_event_hook"] is True
    payload = extra["payload"]
    assert payload["users"] == [{"id": "00uada", "login": "ada@example.com"}]
    assert payload["event_uuids"] == ["e-1"]
    assert payload["source"] == "okta_event_hook"
    assert "e-1" in _state(asset_id, DELIVERED_KEY)["uuids"]


def test_a_duplicate_delivery_creates_no_second_asset_event(client, asset_id):
    body = _delivery("dup-1")
    responses = [client.post(HOOK_PATH, json=body, headers=AUTH).status_code for _ in range(2)]

    assert responses == [204, 204]
    assert len(_asset_events(asset_id)) == 1
    assert _state(asset_id, HEALTH_KEY)["deliveries"] == 2


def test_only_the_new_events_of_a_partly_seen_delivery_are_queued(client, asset_id):
    client.post(HOOK_PATH, json=_delivery("old-1"), headers=AUTH)
    client.post(
        HOOK_PATH,
        json={
            **_delivery("old-1"),
            "data": {
                "events": [
                    *_delivery("old-1")["data"]["events"],
                    *_delivery("new-1", login="bo@example.com", user_id="00ubo")["data"]["events"],
                ]
            },
        },
        headers=AUTH,
    )

    payloads = [e["payload"] for e in _asset_events(asset_id)]
    assert [p["event_uuids"] for p in payloads] == [["old-1"], ["new-1"]]
    assert payloads[1]["users"] == [{"id": "00ubo", "login": "bo@example.com"}]


def test_an_event_the_poller_already_fired_starts_nothing(client, asset_id):
    _set_state(asset_id, FIRED_KEY, {"uuids": {"polled-1": 1.0e12}})

    assert client.post(HOOK_PATH, json=_delivery("polled-1"), headers=AUTH).status_code == 204
    assert _asset_events(asset_id) == []


def test_a_refused_delivery_writes_nothing(client, asset_id):
    response = client.post(HOOK_PATH, json=_delivery("x-1"), headers={"Authorization": "nope"})

    assert response.status_code == 401
    assert _asset_events(asset_id) == []
    assert _state(asset_id, HEALTH_KEY) is None


def test_verification_is_recorded_as_push_health(client, asset_id):
    headers = {**AUTH, "x-okta-verification-challenge": "abc"}
    assert client.get(HOOK_PATH, headers=headers).json() == {"verification": "abc"}

    assert _state(asset_id, HEALTH_KEY)["verified"] > 0


def test_a_missing_asset_answers_503(asset_id):
    other = HookSettings(header="Authorization", secret=SECRET, app_id=APP_ID, asset="not_deployed_yet")
    client = TestClient(create_app(settings=lambda: other, recorder=AssetEventRecorder()))

    assert client.post(HOOK_PATH, json=_delivery("m-1"), headers=AUTH).status_code == 503
