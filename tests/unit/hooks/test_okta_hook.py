"""OktaHook without a server: the connection reader, the SDK config, TLS context, log redaction, imports."""

from __future__ import annotations

import copy
import json
import logging
import ssl
import subprocess
import sys
from pathlib import Path

import pytest

from okta_salesforce.get_provider_info import get_provider_info
from okta_salesforce.hooks.okta import (
    DEFAULT_SCOPES,
    OktaError,
    OktaHook,
    ssl_context_for,
)
from okta_salesforce.hooks.okta_events import EventCursor, SystemLogPoller
from okta_salesforce.hooks.okta_logging import _RedactCredentials
from okta_salesforce.hooks.okta_records import event_from_json

REPO = Path(__file__).resolve().parents[3]
TOKEN = "00canary-api-token-0123456789abcdefghijklmnop"


def set_okta(monkeypatch: pytest.MonkeyPatch, **conn: object) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_OKTA_DEFAULT", json.dumps({"conn_type": "okta", **conn}))


def test_class_attributes_and_provider_info_agree() -> None:
    okta_type = next(t for t in get_provider_info()["connection-types"] if t["connection-type"] == "okta")
    assert okta_type["hook-class-name"] == f"{OktaHook.__module__}.{OktaHook.__qualname__}"
    assert (OktaHook.conn_name_attr, OktaHook.default_conn_name, OktaHook.conn_type) == (
        "okta_conn_id",
        "okta_default",
        "okta",
    )
    assert "get_ui_field_behaviour" not in vars(OktaHook)  # the form is declared in provider info only
    fields = set(okta_type["conn-fields"])
    assert {"auth_mode", "client_id", "private_key", "key_id", "scopes", "ca_bundle"} <= fields


def test_constructor_is_keyword_only_and_does_no_io(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AIRFLOW_CONN_OKTA_DEFAULT", raising=False)
    hook = OktaHook(okta_conn_id="okta_default")  # no such connection: fine until used
    assert hook.okta_conn_id == "okta_default"
    with pytest.raises(TypeError):
        OktaHook("okta_default")  # type: ignore[misc]


def test_api_token_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    set_okta(monkeypatch, host="acme.okta.com/", password=TOKEN)
    hook = OktaHook()
    settings = hook.settings
    assert (settings.org_url, settings.auth_mode, settings.scopes) == (
        "https://acme.okta.com",
        "api_token",
        DEFAULT_SCOPES,
    )
    assert TOKEN not in repr(settings)
    client = hook.sdk_config()["client"]
    assert (client["authorizationMode"], client["token"], client["orgUrl"]) == (
        "SSWS",
        TOKEN,
        "https://acme.okta.com",
    )


def test_private_key_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    pem = "-----BEGIN PRIVATE KEY-----\\nMIIE\\n-----END PRIVATE KEY-----"
    extra = {
        "auth_mode": "private_key",
        "client_id": "0oa1",
        "private_key": pem,
        "key_id": "kid-1",
        "scopes": "okta.apps.read,okta.users.read",
    }
    set_okta(monkeypatch, host="https://acme.okta.com", extra=extra)
    client = OktaHook().sdk_config()["client"]
    assert client["authorizationMode"] == "PrivateKey"
    assert client["scopes"] == ["okta.apps.read", "okta.users.read"]
    assert client["privateKey"].splitlines()[1] == "MIIE"
    assert client["kid"] == "kid-1"


@pytest.mark.parametrize(
    ("conn", "message"),
    [
        ({"password": TOKEN}, "no host"),
        ({"host": "acme.okta.com"}, "needs the API token"),
        ({"host": "acme.okta.com", "extra": {"auth_mode": "private_key"}}, "needs client_id"),
        ({"host": "acme.okta.com", "password": TOKEN, "extra": {"auth_mode": "oidc"}}, "unknown auth_mode"),
        ({"host": "http://acme.okta.com", "password": TOKEN}, "must be https://"),
        ({"host": "ftp://acme.okta.com", "password": TOKEN}, "must be https://"),
        ({"host": "https://user:pw@acme.okta.com", "password": TOKEN}, "must be https://"),
    ],
)
def test_invalid_connections(monkeypatch: pytest.MonkeyPatch, conn: dict, message: str) -> None:
    set_okta(monkeypatch, **conn)
    with pytest.raises(OktaError, match=message):
        OktaHook().settings  # noqa: B018


def test_ssl_context_survives_deepcopy_and_keeps_verification(tmp_path: Path) -> None:
    import trustme

    ca = trustme.CA(organization_name="canary-ca")
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    context = ssl_context_for(str(bundle))
    config = {"client": {"sslContext": context}}
    assert copy.deepcopy(config)["client"]["sslContext"] is context
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname
    subjects = [dict(x[0] for x in c["subject"]).get("organizationName") for c in context.get_ca_certs()]
    assert "canary-ca" in subjects
    assert ssl_context_for(ca.cert_pem.bytes().decode()).get_ca_certs()


def _redacted(message: str) -> str:
    record = logging.LogRecord("okta-sdk-python", logging.DEBUG, __file__, 1, "%s", (message,), None)
    assert _RedactCredentials().filter(record)
    return record.getMessage()


@pytest.mark.parametrize(
    "message",
    [
        f"{{'Authorization': 'SSWS {TOKEN}'}}",
        f"{{'Authorization': 'SSWS{TOKEN}'}}",  # the typed API's configuration joins them without a space
        f'{{"authorization": "ssws{TOKEN}"}}',
        f"Authorization: Bearer {TOKEN}",
        f"Authorization=DPoP {TOKEN}",
        f"{{'Authorization': 'Basic {TOKEN}'}}",
        f"{{'Authorization': '{TOKEN}'}}",  # a bare value
        f"header value SSWS{TOKEN} in prose",
        f"token_type Bearer {TOKEN}",
    ],
)
def test_every_authorization_form_is_redacted(message: str) -> None:
    assert TOKEN not in _redacted(message)


def test_redaction_keeps_ordinary_text() -> None:
    assert _redacted("Bearer tokens expire; authorization_mode SSWS") == (
        "Bearer tokens expire; authorization_mode SSWS"
    )


def test_redaction_filter() -> None:
    record = logging.LogRecord(
        "okta-sdk-python",
        logging.DEBUG,
        __file__,
        1,
        "Request: %s",
        ({"headers": {"Authorization": f"SSWS {TOKEN}"}, "form": {"client_assertion": "eyJa.eyJb.sig"}},),
        None,
    )
    assert _RedactCredentials().filter(record)
    message = record.getMessage()
    assert TOKEN not in message
    assert "eyJa" not in message
    assert "SSWS ***" in message


def _event(event_type: str, *targets: tuple[str, str, str]) -> object:
    data = {
        "uuid": f"{event_type}-{targets[0][0]}",
        "published": "2026-01-01T00:00:00.000Z",
        "eventType": event_type,
        "target": [{"id": i, "type": t, "alternateId": a} for i, t, a in targets],
    }
    return event_from_json(data)


def test_affected_users_from_events() -> None:
    app_add = _event(
        "application.user_membership.add",
        ("0ua1", "AppUser", "ada"),
        ("0oaSF", "AppInstance", "Salesforce"),
        ("00u1", "User", "ada@acme.com"),
    )
    other_app = _event(
        "application.user_membership.remove",
        ("0oaOther", "AppInstance", "x"),
        ("00u2", "User", "bo@acme.com"),
    )
    group_add = _event(
        "group.user_membership.add", ("00u3", "User", "cy@acme.com"), ("00gSF", "UserGroup", "")
    )
    other_group = _event(
        "group.user_membership.add", ("00u4", "User", "dee@acme.com"), ("00gX", "UserGroup", "")
    )
    events = [app_add, other_app, group_add, other_group]

    unknown_groups = SystemLogPoller(object(), "0oaSF")  # type: ignore[arg-type]
    assert unknown_groups._affected_users(events) == (
        {"00u1": "ada@acme.com"},
        {"00u3": "cy@acme.com", "00u4": "dee@acme.com"},
    )
    known_groups = SystemLogPoller(object(), "0oaSF", group_ids=["00gSF"])  # type: ignore[arg-type]
    assert known_groups._affected_users(events) == ({"00u1": "ada@acme.com", "00u3": "cy@acme.com"}, {})


def test_cursor_round_trip_tolerates_junk() -> None:
    cursor = EventCursor("/api/v1/logs?after=x", "2026-01-01T00:00:00.000Z", ["a", "b"])
    assert EventCursor.from_dict(json.loads(json.dumps(cursor.to_dict()))) == cursor
    assert EventCursor.from_dict(None) is None
    assert EventCursor.from_dict({"seen_uuids": [1, "a"]}) == EventCursor(None, None, ["a"])


def test_variable_cursor_store(monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow.sdk import Variable

    from okta_salesforce.hooks.okta_events import VariableCursorStore

    saved: dict[str, object] = {}
    monkeypatch.setattr(Variable, "set", lambda key, value, **kw: saved.update({key: (value, kw)}))
    monkeypatch.setattr(Variable, "get", lambda key, default=None, **kw: saved.get(key, (default,))[0])
    store = VariableCursorStore()
    assert store.load("k") is None
    store.save("k", EventCursor("/next", "t", ["u"]))
    assert saved["k"][1]["serialize_json"] is True
    assert store.load("k") == EventCursor("/next", "t", ["u"])


def test_parsing_dags_and_importing_the_provider_never_imports_the_sdk() -> None:
    """The okta SDK costs seconds to import: DAG parsing and tasks that do not call Okta must not pay."""
    dags = sorted(str(p) for p in (REPO / "dags").glob("*.py"))
    script = f"""
import importlib.util, json, sys
import okta_salesforce.hooks.okta, okta_salesforce.hooks.okta_events, okta_salesforce.operators.okta
from okta_salesforce.hooks.okta import OktaHook
from okta_salesforce.operators.okta import OktaAssignmentsOperator
OktaHook(okta_conn_id="okta_default")
OktaAssignmentsOperator(task_id="t", app_id="0oa1")
for i, path in enumerate({dags!r}):
    spec = importlib.util.spec_from_file_location(f"dag_{{i}}", path)
    spec.loader.exec_module(importlib.util.module_from_spec(spec))
print(json.dumps(sorted(m for m in sys.modules if m == "okta" or m.startswith("okta."))))
"""
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False, cwd=REPO, timeout=120
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []


def test_unreadable_private_key_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    extra = {"auth_mode": "private_key", "client_id": "0oa1", "private_key": "not a key"}
    set_okta(monkeypatch, host="https://127.0.0.1:9", extra=extra)
    with OktaHook() as hook, pytest.raises(OktaError, match="authentication failed"):
        hook.get("/api/v1/logs")


def test_hook_url_refuses_a_path_that_would_change_the_host(monkeypatch: pytest.MonkeyPatch) -> None:
    set_okta(monkeypatch, host="https://acme.okta.com", password=TOKEN)
    with pytest.raises(OktaError, match="Refusing"):
        OktaHook().url("@evil.example/api/v1/users")


def test_logins_are_looked_up_concurrently_within_the_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    """Provisioning on demand: two calls per login, at most ``concurrency`` in flight, order kept."""
    import asyncio
    from urllib.parse import unquote, urlsplit

    from okta_salesforce.hooks.okta import OktaNotFoundError, OktaResponse

    set_okta(monkeypatch, host="https://acme.okta.com", password=TOKEN)
    hook = OktaHook(concurrency=3)
    logins = [f"user{i}@acme.example.com" for i in range(12)] + ["nobody@acme.example.com"]
    state = {"in_flight": 0, "peak": 0, "calls": 0}

    async def fake_aget(url: str) -> OktaResponse:
        state["in_flight"] += 1
        state["calls"] += 1
        state["peak"] = max(state["peak"], state["in_flight"])
        try:
            await asyncio.sleep(0.01)
            path = unquote(urlsplit(url).path)
            if path.startswith("/api/v1/apps/"):
                user_id = path.rsplit("/", 1)[1]
                login = user_id.removeprefix("id-")
                body = {
                    "id": user_id,
                    "status": "ACTIVE",
                    "scope": "USER",
                    "credentials": {"userName": login},
                    "profile": {},
                    "_embedded": {"user": {"id": user_id, "status": "ACTIVE", "profile": {"login": login}}},
                }
            else:
                login = path.rsplit("/", 1)[1]
                if login.startswith("nobody"):
                    raise OktaNotFoundError("not found", status=404)
                body = {"id": f"id-{login}", "status": "ACTIVE", "profile": {"login": login}}
            return OktaResponse(url=url, status=200, headers={}, body=body)
        finally:
            state["in_flight"] -= 1

    monkeypatch.setattr(hook.transport, "aget", fake_aget)
    with hook:
        records = list(hook.iter_assignments_for_logins("0oaapp", logins))
    assert [r.login for r in records] == logins  # in the order asked
    # The login Okta answers 404 for is planned as unassigned (deleted), not skipped.
    assert (records[-1].assigned, records[-1].user_status) == (False, "DELETED")
    assert state["calls"] == 2 * 12 + 1
    assert 1 < state["peak"] <= 3
