"""Tolerant parsing of Okta JSON: links, app users, users and System Log events."""

from __future__ import annotations

import pytest

from okta_salesforce.hooks.okta_records import (
    UNASSIGNED,
    assignment_from_app_user,
    event_from_json,
    parse_links,
    same_origin_path,
    unassigned_from_user,
)

ORG = "https://acme.okta.com"


def test_links_from_two_headers_and_from_one() -> None:
    two = [
        f'<{ORG}/api/v1/apps/x/users?limit=2>; rel="self"',
        f'<{ORG}/api/v1/apps/x/users?after=b>; rel="next"',
    ]
    one = [f'<{ORG}/a?x=1,2>; rel="self", <{ORG}/a?after=c>; REL=next']
    assert parse_links(two) == {
        "self": f"{ORG}/api/v1/apps/x/users?limit=2",
        "next": f"{ORG}/api/v1/apps/x/users?after=b",
    }
    assert parse_links(one)["next"] == f"{ORG}/a?after=c"
    assert parse_links(one)["self"] == f"{ORG}/a?x=1,2"
    assert parse_links([]) == {}


def test_links_are_followed_on_the_org_only() -> None:
    assert same_origin_path(f"{ORG}/api/v1/logs?after=1", ORG) == "/api/v1/logs?after=1"
    assert same_origin_path("https://ACME.okta.com/x", ORG) == "/x"
    assert same_origin_path("/api/v1/logs", ORG) == "/api/v1/logs"
    assert same_origin_path("https://evil.example.com/api/v1/logs", ORG) is None
    assert same_origin_path("http://acme.okta.com/x", ORG) is None


@pytest.mark.parametrize(
    "url",
    [
        "@evil.example/api/v1/logs",  # appended to the org URL it would make evil.example the host
        "//evil.example/api/v1/logs",
        "https://acme.okta.com@evil.example/api/v1/logs",
        "https://user@acme.okta.com/api/v1/logs",
        "https://acme.okta.com:8443/api/v1/logs",
        "https://acme.okta.com:bad/api/v1/logs",
        "api/v1/logs",
        "/\\evil.example/x",
        "?after=1",
    ],
)
def test_same_origin_is_strict(url: str) -> None:
    assert same_origin_path(url, ORG) is None


def test_same_origin_default_port_is_the_same_origin() -> None:
    assert same_origin_path("https://acme.okta.com:443/x", ORG) == "/x"


def test_app_user_with_unknown_status_and_extra_fields() -> None:
    record = assignment_from_app_user(
        {
            "id": "00u1",
            "status": "PENDING_FUTURE",
            "scope": "group",
            "brandNewField": {"x": 1},
            "credentials": {"userName": "ada@sf.example.com"},
            "profile": {"department": "Sales", "title": None},
            "_embedded": {
                "user": {
                    "status": "SOME_NEW_STATE",
                    "profile": {"login": "ada@acme.com", "title": "Engineer", "department": "R&D"},
                }
            },
        }
    )
    assert record is not None
    assert record.assignment_status == "PENDING_FUTURE"
    assert record.user_status == "SOME_NEW_STATE"
    assert record.scope == "GROUP"
    assert (record.login, record.app_username) == ("ada@acme.com", "ada@sf.example.com")
    assert record.profile == {"login": "ada@acme.com", "title": "Engineer", "department": "Sales"}
    assert record.assigned


def test_app_user_with_missing_parts_is_kept_and_one_without_id_is_not() -> None:
    record = assignment_from_app_user(
        {"id": "00u2", "credentials": {"userName": "bo@acme.com"}, "_embedded": None}
    )
    assert record is not None
    assert (record.login, record.assignment_status, record.user_status, record.scope) == (
        "bo@acme.com",
        "UNKNOWN",
        "UNKNOWN",
        "USER",
    )
    assert assignment_from_app_user({"status": "ACTIVE"}) is None


def test_unassigned_records() -> None:
    user = {"id": "00u3", "status": "SUSPENDED", "profile": {"login": "cy@acme.com", "department": "Ops"}}
    record = unassigned_from_user(user, user_id="00u3")
    assert (record.assigned, record.assignment_status, record.user_status, record.login) == (
        False,
        UNASSIGNED,
        "SUSPENDED",
        "cy@acme.com",
    )
    assert record.profile["department"] == "Ops"
    gone = unassigned_from_user(None, user_id="00u4", login="dee@acme.com", user_status="DELETED")
    assert (gone.okta_user_id, gone.login, gone.user_status, gone.assigned) == (
        "00u4",
        "dee@acme.com",
        "DELETED",
        False,
    )


def test_log_events() -> None:
    event = event_from_json(
        {
            "uuid": "u-1",
            "published": "2026-01-01T00:00:00.000Z",
            "eventType": "application.user_membership.add",
            "outcome": {"result": "SUCCESS"},
            "target": [
                {"id": "0ua1", "type": "AppUser", "alternateId": "ada"},
                {"id": "0oa1", "type": "AppInstance"},
                {"id": "00u1", "type": "User", "alternateId": "ada@acme.com"},
                "garbage",
            ],
            "somethingNew": True,
        }
    )
    assert event is not None
    assert [t.id for t in event.targets_of("user")] == ["00u1"]
    assert event.targets_of("AppInstance")[0].id == "0oa1"
    assert event.outcome == "SUCCESS"
    assert event_from_json({"eventType": "x"}) is None
