"""The Okta sandbox driven through the real okta SDK (3.4.6, async) and raw HTTPS, both verified.

Responses are validated against Okta's OpenAPI description (the part vendored in tests/specs).
"""

from __future__ import annotations

import asyncio
import ssl
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import jwt
import pytest
import requests

from okta_salesforce_testbed.sandbox.okta import OktaApp
from okta_salesforce_testbed.sandbox.seed import Seed
from okta_salesforce_testbed.sandbox.server import SandboxServer
from okta_salesforce_testbed.sandbox.tls import SandboxCA

pytestmark = pytest.mark.integration

SPEC = Path(__file__).resolve().parents[2] / "specs" / "okta-management-openapi.yaml"
SCOPES = ["okta.apps.read", "okta.logs.read", "okta.users.read"]


@dataclass
class OktaSandbox:
    """One started Okta sandbox and what a client needs to reach it."""

    app: OktaApp
    server: SandboxServer
    ca_path: Path
    seed: Seed

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def token(self) -> str:
        return self.seed.credentials.okta_api_token

    @property
    def app_users_path(self) -> str:
        return f"/api/v1/apps/{self.seed.okta_app_id}/users"

    def get(self, path: str, *, auth: str | None = None, **params: Any) -> requests.Response:
        headers = {"Authorization": auth if auth is not None else f"SSWS {self.token}"}
        # ``verify`` per call: a Session.verify would lose to REQUESTS_CA_BUNDLE.
        return requests.get(
            self.url + path, params=params, headers=headers, verify=str(self.ca_path), timeout=10
        )

    def post(self, path: str, *, auth: str | None = None, **kwargs: Any) -> requests.Response:
        headers = {"Authorization": auth} if auth else {}
        return requests.post(self.url + path, headers=headers, verify=str(self.ca_path), timeout=10, **kwargs)


@pytest.fixture
def okta(tmp_path: Path) -> Iterator[OktaSandbox]:
    seed = Seed(users=120, seed=11)
    ca = SandboxCA(tmp_path)
    app = OktaApp.from_seed(seed, directory=tmp_path)
    server = SandboxServer(app, ca)
    app.base_url = server.url
    with server:
        yield OktaSandbox(app, server, ca.ca_path, seed)


class _SharedSSLContext(ssl.SSLContext):
    """An SSLContext that survives the SDK's ``copy.deepcopy`` of its configuration."""

    def __deepcopy__(self, memo: dict[int, Any]) -> _SharedSSLContext:
        return self


def _ssl_context(ca_path: Path) -> ssl.SSLContext:
    context = _SharedSSLContext(ssl.PROTOCOL_TLS_CLIENT)  # verifies certificates and host names
    context.load_verify_locations(cafile=str(ca_path))
    return context


def sdk_client(okta: OktaSandbox, **config: Any) -> Any:
    """The real okta SDK client, trusting the sandbox CA through its ``sslContext`` setting."""
    from okta.client import Client  # slow import: keep it inside tests

    settings: dict[str, Any] = {"orgUrl": okta.url, "sslContext": _ssl_context(okta.ca_path)}
    if "authorizationMode" not in config:
        settings["token"] = okta.token
    return Client({**settings, **config})


def private_key_client(okta: OktaSandbox) -> Any:
    return sdk_client(
        okta,
        authorizationMode="PrivateKey",
        clientId=okta.seed.credentials.okta_client_id,
        kid=okta.seed.credentials.okta_key_id,
        privateKey=okta.app.service_private_key_pem,
        scopes=SCOPES,
    )


async def _get_all(client: Any, path: str) -> tuple[list[dict[str, Any]], int, Any]:
    """Follow ``next`` links with the SDK's request executor; returns items, pages, first response."""
    from okta.api_response import OktaAPIResponse

    executor = client.get_request_executor()
    request, error = await executor.create_request("GET", path)
    assert error is None
    response, body, error = await executor.execute(request)
    assert error is None, error
    page = OktaAPIResponse(executor, request, response, body)
    items, pages = list(page.get_body()), 1
    while page.has_next():
        more, error = await page.next()
        assert error is None, error
        items.extend(more)
        pages += 1
    return items, pages, response


@cache
def _openapi() -> Any:
    from openapi_core import Config, OpenAPI

    # Okta's published file does not pass openapi-spec-validator (path parameters without
    # ``required: true``); validate responses against it without validating the spec itself.
    return OpenAPI.from_file_path(str(SPEC), config=Config(spec_validator_cls=None))


def assert_valid(response: requests.Response) -> None:
    """Validate one response against the Okta Management OpenAPI description."""
    from openapi_core.contrib.requests import RequestsOpenAPIRequest, RequestsOpenAPIResponse

    request = response.request
    # The spec's server is https://{yourOktaDomain}: present the sandbox as an Okta org.
    request.url = request.url.replace(response.url.split("/api/")[0], "https://acme.okta.com")
    _openapi().validate_response(RequestsOpenAPIRequest(request), RequestsOpenAPIResponse(response))


def _assigned(okta: OktaSandbox) -> list[Any]:
    return [p for p in okta.seed.people if p.assigned]


def _unassigned(okta: OktaSandbox) -> Any:
    return next(p for p in okta.seed.people if not p.assigned)


# The SDK ------------------------------------------------------------------------------------------------
def test_sdk_request_executor_follows_next_links_across_pages(okta: OktaSandbox) -> None:
    from okta.pagination import PaginationHelper

    async def run() -> tuple[list[dict[str, Any]], int, Any]:
        return await _get_all(sdk_client(okta), f"{okta.app_users_path}?limit=25&expand=user")

    items, pages, first = asyncio.run(run())
    assigned = _assigned(okta)
    assert pages >= 3
    assert sorted(i["id"] for i in items) == sorted(p.okta_id for p in assigned)
    assert all(i["_embedded"]["user"]["id"] == i["id"] for i in items)
    # Okta sends self and next as two Link headers; aiohttp's ``links`` joins them, which
    # OktaAPIResponse uses, but PaginationHelper reads only the first header (self): no cursor.
    assert [link.split(";")[1].strip() for link in first.headers.getall("Link")] == [
        'rel="self"',
        'rel="next"',
    ]
    assert PaginationHelper.extract_next_cursor(first.headers) is None


def test_sdk_typed_api_reads_app_users_and_fails_on_unknown_status(okta: OktaSandbox) -> None:
    from pydantic import ValidationError

    person = _assigned(okta)[0]
    client = sdk_client(okta)
    users, _, error = asyncio.run(client.list_application_users(okta.seed.okta_app_id, limit=500))
    assert error is None, error
    assert len(users) == len(_assigned(okta))
    assert {u.scope for u in users} == {"USER", "GROUP"}
    # The SDK's models reject enum values they do not know and lose the whole page.
    okta.app.add_unknown_status(person.login, "PENDING_FUTURE")
    with pytest.raises(ValidationError, match="PENDING_FUTURE"):
        asyncio.run(client.list_application_users(okta.seed.okta_app_id, limit=500))


def test_sdk_retries_a_429_after_the_reset(okta: OktaSandbox) -> None:
    okta.server.inject("apps.users.list", "rate_limit", times=1)

    async def run() -> list[dict[str, Any]]:
        items, _, _ = await _get_all(sdk_client(okta), f"{okta.app_users_path}?limit=500")
        return items

    items = asyncio.run(run())
    assert len(items) == len(_assigned(okta))
    assert okta.server.counters["apps.users.list"] == 2  # the 429, then the retry after the reset


def test_sdk_private_key_jwt_gets_a_token_and_scopes_are_enforced(okta: OktaSandbox) -> None:
    async def run() -> tuple[int, int, Any]:
        client = private_key_client(okta)
        items, _, _ = await _get_all(client, f"{okta.app_users_path}?limit=40")
        logs, _, _ = await _get_all(client, "/api/v1/logs?until=2100-01-01T00:00:00Z")
        executor = client.get_request_executor()
        request, _ = await executor.create_request("GET", f"/api/v1/groups/{okta.seed.okta_group_id}/users")
        _, _, error = await executor.execute(request)
        return len(items), len(logs), error

    count, logs, forbidden = asyncio.run(run())
    assert count == len(_assigned(okta))
    assert logs == 0
    assert okta.server.counters["oauth.token"] == 1  # cached for the following calls
    assert forbidden.status == 403
    assert forbidden.error_code == "E0000006"


def test_sdk_private_key_client_recovers_after_token_expiry_only_with_a_new_client(okta: OktaSandbox) -> None:
    async def run() -> Any:
        client = private_key_client(okta)
        await _get_all(client, f"{okta.app_users_path}?limit=500")
        okta.app.expire_access_tokens()
        executor = client.get_request_executor()
        request, _ = await executor.create_request("GET", okta.app_users_path)
        _, _, error = await executor.execute(request)
        return error

    error = asyncio.run(run())
    assert error.status == 401
    assert error.error_code == "E0000011"


# Token endpoint -------------------------------------------------------------------------------------
def _assertion(okta: OktaSandbox, *, key: str | bytes | None = None, **overrides: Any) -> str:
    client_id = okta.seed.credentials.okta_client_id
    now = int(time.time())
    claims = {
        "iss": client_id,
        "sub": client_id,
        "aud": f"{okta.url}/oauth2/v1/token",
        "iat": now,
        "exp": now + 300,
        "jti": str(uuid.uuid4()),
        **overrides,
    }
    return jwt.encode(
        claims,
        key or okta.app.service_private_key_pem,
        algorithm="RS256",
        headers={"kid": okta.seed.credentials.okta_key_id},
    )


def _token_request(okta: OktaSandbox, assertion: str, scope: str = "okta.apps.read") -> requests.Response:
    return okta.post(
        "/oauth2/v1/token",
        data={
            "grant_type": "client_credentials",
            "scope": scope,
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": assertion,
        },
    )


def test_token_endpoint_issues_okta_token_json(okta: OktaSandbox) -> None:
    response = _token_request(okta, _assertion(okta), "okta.apps.read okta.logs.read")
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert body["scope"] == "okta.apps.read okta.logs.read"
    listed = okta.get(okta.app_users_path, auth=f"Bearer {body['access_token']}")
    assert listed.status_code == 200
    denied = okta.get(f"/api/v1/users/{_assigned(okta)[0].okta_id}", auth=f"Bearer {body['access_token']}")
    assert denied.status_code == 403
    assert 'error="insufficient_scope"' in denied.headers["WWW-Authenticate"]


@pytest.mark.parametrize(
    ("overrides", "error", "words"),
    [
        ({"aud": "https://elsewhere.example.com/oauth2/v1/token"}, "invalid_client", "audience"),
        ({"exp": int(time.time()) + 7200}, "invalid_client", "too far"),
        ({"exp": int(time.time()) - 10}, "invalid_client", "expired"),
        ({"sub": "someone-else"}, "invalid_client", "'sub'"),
        ({"iss": "0oaunknown", "sub": "0oaunknown"}, "invalid_client", "client_id"),
    ],
)
def test_token_endpoint_rejects_bad_assertions(
    okta: OktaSandbox, overrides: dict[str, Any], error: str, words: str
) -> None:
    response = _token_request(okta, _assertion(okta, **overrides))
    assert response.status_code == 401
    assert response.json()["error"] == error
    assert words in response.json()["error_description"]


def test_token_endpoint_rejects_wrong_key_replay_and_ungranted_scope(okta: OktaSandbox) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    other = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    forged = _token_request(okta, _assertion(okta, key=other))
    assert forged.json() == {
        "error": "invalid_client",
        "error_description": "The client_assertion signature is invalid.",
    }
    assertion = _assertion(okta)
    assert _token_request(okta, assertion).status_code == 200
    replay = _token_request(okta, assertion)
    assert replay.status_code == 401
    assert "already been used" in replay.json()["error_description"]
    scope = _token_request(okta, _assertion(okta), "okta.users.manage")
    assert scope.status_code == 400
    assert scope.json()["error"] == "invalid_scope"


# Wire format ---------------------------------------------------------------------------------------
def test_responses_match_the_openapi_description(okta: OktaSandbox) -> None:
    person = _assigned(okta)[0]
    okta.app.assign(_unassigned(okta).login, via_group=True)
    okta.app.unassign(person.login)
    responses = [
        okta.get(okta.app_users_path, limit=20, expand="user"),
        okta.get(f"{okta.app_users_path}/{_assigned(okta)[1].okta_id}"),
        okta.get(f"/api/v1/users/{person.login}"),
        okta.get("/api/v1/logs", since="2000-01-01T00:00:00Z"),
        okta.get(f"{okta.app_users_path}/{person.okta_id}"),  # 404 once unassigned
        okta.get(okta.app_users_path, auth="SSWS wrong"),
    ]
    assert [r.status_code for r in responses] == [200, 200, 200, 200, 404, 401]
    for response in responses[:5]:  # the spec lists no 401 for these operations: checked by hand below
        assert_valid(response)
    assert responses[4].json()["errorCode"] == "E0000007"
    error = responses[5].json()
    assert error["errorCode"] == "E0000011"
    assert error["errorSummary"] == "Invalid token provided"
    assert set(error) == {"errorCode", "errorSummary", "errorLink", "errorId", "errorCauses"}


def test_app_users_paging_cap_query_and_non_ascii(okta: OktaSandbox) -> None:
    capped = okta.get(okta.app_users_path, limit=5000)
    assert capped.status_code == 200
    assert len(capped.json()) == len(_assigned(okta))
    assert okta.get(okta.app_users_path, limit=0).json()["errorCode"] == "E0000001"
    person = _assigned(okta)[3]
    found = okta.get(okta.app_users_path, q=person.first_name[:3].lower()).json()
    assert person.okta_id in {u["id"] for u in found}
    assert all(
        any(
            str(v).lower().startswith(person.first_name[:3].lower())
            for v in (
                u["credentials"]["userName"],
                u["profile"]["firstName"],
                u["profile"]["lastName"],
                u["profile"]["email"],
            )
        )
        for u in found
    )
    everyone = okta.get(okta.app_users_path, limit=500).json()
    names = {u["profile"]["lastName"] for u in everyone}
    assert any(not n.isascii() for n in names)
    group = [u for u in everyone if u["scope"] == "GROUP"]
    assert group
    assert all(u["_links"]["group"]["href"].endswith(okta.seed.okta_group_id) for u in group)


def test_rate_limit_headers_and_429(okta: OktaSandbox, fresh_rate_limit_window) -> None:
    fresh_rate_limit_window(okta.app.limiter.window)
    okta.app.set_rate_limit("logs", 2)
    first = okta.get("/api/v1/logs")
    assert first.headers["X-Rate-Limit-Limit"] == "2"
    assert first.headers["X-Rate-Limit-Remaining"] == "1"
    assert int(first.headers["X-Rate-Limit-Reset"]) > time.time()
    okta.get("/api/v1/logs")
    spent = okta.get("/api/v1/logs")
    assert spent.status_code == 429
    assert spent.json()["errorCode"] == "E0000047"
    assert spent.headers["X-Rate-Limit-Remaining"] == "0"
    assert_valid(spent)
    assert okta.get(okta.app_users_path).status_code == 200  # other buckets are independent


def test_injected_server_error_is_okta_shaped(okta: OktaSandbox) -> None:
    okta.server.inject("users.get", "server_error", status=500)
    response = okta.get(f"/api/v1/users/{_assigned(okta)[0].okta_id}")
    assert response.status_code == 500
    assert response.json()["errorCode"] == "E0000009"


# System Log -----------------------------------------------------------------------------------------
def test_logs_polling_always_returns_next_even_on_empty_pages(okta: OktaSandbox) -> None:
    first = okta.get("/api/v1/logs", since="2000-01-01T00:00:00Z")
    assert first.json() == []
    assert first.links["next"]["url"]
    okta.app.assign(_unassigned(okta).login)
    following = requests.get(
        first.links["next"]["url"],
        headers={"Authorization": f"SSWS {okta.token}"},
        verify=str(okta.ca_path),
        timeout=10,
    )
    assert [e["eventType"] for e in following.json()] == ["application.user_membership.add"]
    again = requests.get(
        following.links["next"]["url"],
        headers={"Authorization": f"SSWS {okta.token}"},
        verify=str(okta.ca_path),
        timeout=10,
    )
    assert again.json() == []
    assert "next" in again.links
    bounded = okta.get("/api/v1/logs", since="2000-01-01T00:00:00Z", until="2100-01-01T00:00:00Z")
    assert len(bounded.json()) == 1
    assert "next" not in bounded.links


def test_logs_filter_and_admin_events(okta: OktaSandbox) -> None:
    newcomer, leaver = _unassigned(okta), _assigned(okta)[0]
    okta.app.assign(newcomer.login, via_group=True)
    okta.app.unassign(leaver.login)
    okta.app.update_profile(newcomer.login, login=f"renamed.{newcomer.login}", department="Finance")
    types = [e["eventType"] for e in okta.app.events()]
    assert types[:2] == ["group.user_membership.add", "application.user_membership.add"]
    assert "application.user_membership.remove" in types
    assert "application.user_membership.change_username" in types
    filtered = okta.get(
        "/api/v1/logs",
        since="2000-01-01T00:00:00Z",
        filter='eventType eq "application.user_membership.add" or eventType eq "application.user_membership.remove"',  # noqa: E501
    ).json()
    assert [e["eventType"] for e in filtered] == [
        "application.user_membership.add",
        "application.user_membership.remove",
    ]
    added = filtered[0]
    targets = {t["type"]: t for t in added["target"]}
    assert targets["User"]["id"] == newcomer.okta_id
    assert targets["User"]["alternateId"] == newcomer.login
    assert targets["AppInstance"]["id"] == okta.seed.okta_app_id
    assert targets["AppUser"]["id"].startswith("0ua")  # Okta's internal app-user id, not the user id
    by_target = okta.get(
        "/api/v1/logs",
        since="2000-01-01T00:00:00Z",
        filter=f'(target.id eq "{leaver.okta_id}") and eventType sw "application."',
    ).json()
    assert [e["eventType"] for e in by_target] == ["application.user_membership.remove"]
    descending = okta.get("/api/v1/logs", since="2000-01-01T00:00:00Z", sortOrder="DESCENDING", limit=2)
    assert descending.json()[0]["published"] >= descending.json()[1]["published"]
    assert "next" in descending.links
    bad = okta.get("/api/v1/logs", filter="eventType eq unquoted")
    assert bad.status_code == 400
    assert bad.json()["errorCode"] == "E0000031"


def test_admin_http_api(okta: OktaSandbox) -> None:
    person = _unassigned(okta)
    assert okta.post("/__sandbox/okta/assign", json={"user": person.login}).status_code == 401
    auth = f"SSWS {okta.token}"
    assigned = okta.post("/__sandbox/okta/assign", auth=auth, json={"user": person.login, "via_group": False})
    assert assigned.status_code == 200
    assert assigned.json()["scope"] == "USER"
    created = okta.post(
        "/__sandbox/okta/users",
        auth=auth,
        json={"first_name": "花子", "last_name": "山田", "login": "hanako.new@acme.example.com"},
    ).json()
    assert created["status"] == "ACTIVE"
    assert created["profile"]["firstName"] == "花子"
    assert okta.post(
        "/__sandbox/okta/status", auth=auth, json={"user": person.login, "status": "DEPROVISIONED"}
    ).ok
    assert okta.get(f"{okta.app_users_path}/{person.okta_id}").status_code == 404
    events = okta.get("/__sandbox/okta/events").json()
    assert [e["eventType"] for e in events] == [
        "application.user_membership.add",
        "user.lifecycle.create",
        "user.lifecycle.activate",
        "user.lifecycle.deactivate",
        "application.user_membership.remove",
    ]
    missing = okta.post("/__sandbox/okta/unassign", auth=auth, json={"user": "nobody@acme.example.com"})
    assert missing.status_code == 404
