"""Salesforce sandbox OAuth flows with plain requests over verified HTTPS."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Iterator
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin

import jwt
import pytest
import requests

from okta_salesforce.hooks.salesforce_session import mount_ca_bundle
from okta_salesforce_testbed.sandbox.salesforce import SalesforceApp
from okta_salesforce_testbed.sandbox.salesforce_oauth import parse_redirect
from okta_salesforce_testbed.sandbox.seed import Credentials, Seed
from okta_salesforce_testbed.sandbox.server import SandboxServer
from okta_salesforce_testbed.sandbox.tls import SandboxCA

pytestmark = pytest.mark.integration
CREDS = Credentials()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxServer]:
    ca = SandboxCA(tmp_path_factory.mktemp("ca"))
    app = SalesforceApp.from_seed(Seed(users=60), directory=tmp_path_factory.mktemp("salesforce"))
    with SandboxServer(app, ca) as srv:
        app.base_url = srv.url
        yield srv


@pytest.fixture
def app(server: SandboxServer) -> Iterator[SalesforceApp]:
    app = server.app
    assert isinstance(app, SalesforceApp)
    yield app
    app.rotate_refresh_tokens = False


@pytest.fixture
def http(server: SandboxServer) -> requests.Session:
    session = requests.Session()
    mount_ca_bundle(session, str(server.ca.ca_path))
    return session


def _post_token(http: requests.Session, app: SalesforceApp, **data: str) -> requests.Response:
    return http.post(f"{app.base_url}/services/oauth2/token", data=data)


def _refresh(http: requests.Session, app: SalesforceApp, token: str, **overrides: str) -> requests.Response:
    data = {
        "grant_type": "refresh_token",
        "client_id": CREDS.salesforce_client_id,
        "client_secret": CREDS.salesforce_client_secret,
        "refresh_token": token,
        **overrides,
    }
    return _post_token(http, app, **data)


def test_refresh_token_response_and_signature(http: requests.Session, app: SalesforceApp) -> None:
    response = _refresh(http, app, CREDS.salesforce_refresh_token)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {
        "access_token",
        "signature",
        "scope",
        "instance_url",
        "id",
        "token_type",
        "issued_at",
    }
    assert body["token_type"] == "Bearer"
    assert body["instance_url"] == app.base_url
    assert re.fullmatch(rf"{re.escape(app.base_url)}/id/00D\w{{15}}/005\w{{15}}", body["id"])
    assert body["issued_at"].isdigit()
    assert len(body["issued_at"]) == 13
    expected = base64.b64encode(
        hmac.new(
            CREDS.salesforce_client_secret.encode(), (body["id"] + body["issued_at"]).encode(), hashlib.sha256
        ).digest()
    ).decode()
    assert body["signature"] == expected
    data = http.get(
        f"{app.base_url}/services/data/v62.0/limits",
        headers={"Authorization": f"Bearer {body['access_token']}"},
    )
    assert data.status_code == 200
    assert "Sforce-Limit-Info" in data.headers


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        (
            {"client_id": "nope"},
            {"error": "invalid_client_id", "error_description": "client identifier invalid"},
        ),
        (
            {"client_secret": "wrong"},
            {"error": "invalid_client", "error_description": "invalid client credentials"},
        ),
        (
            {"refresh_token": "5Aep861bogus"},
            {"error": "invalid_grant", "error_description": "expired access/refresh token"},
        ),
        (
            {"grant_type": "password"},
            {"error": "unsupported_grant_type", "error_description": "grant type not supported"},
        ),
    ],
)
def test_token_errors_as_salesforce_words_them(
    http: requests.Session, app: SalesforceApp, overrides: dict[str, str], error: dict[str, str]
) -> None:
    response = _refresh(http, app, CREDS.salesforce_refresh_token, **overrides)
    assert response.status_code == 400
    assert response.json() == error
    assert CREDS.salesforce_client_secret not in response.text


def test_rotation_invalidates_the_old_refresh_token(http: requests.Session, app: SalesforceApp) -> None:
    app.rotate_refresh_tokens = True
    first = _refresh(http, app, CREDS.salesforce_refresh_token).json()
    rotated = first["refresh_token"]
    assert rotated != CREDS.salesforce_refresh_token
    stale = _refresh(http, app, CREDS.salesforce_refresh_token)
    assert stale.status_code == 400
    assert stale.json() == {"error": "invalid_grant", "error_description": "expired access/refresh token"}
    second = _refresh(http, app, rotated).json()
    assert second["refresh_token"] not in (rotated, CREDS.salesforce_refresh_token)
    app.oauth.add_refresh_token(
        CREDS.salesforce_refresh_token, app.unmanaged["integration"]
    )  # restore for others


class _Forms(HTMLParser):
    """The forms of a page: action, method and the inputs' name -> value (submit buttons by id)."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict[str, Any]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append({"action": attributes.get("action", ""), "inputs": {}, "buttons": {}})
        elif tag == "input" and self.forms:
            if attributes.get("type") == "submit":
                self.forms[-1]["buttons"][attributes.get("id")] = (
                    attributes.get("name"),
                    attributes.get("value"),
                )
            elif attributes.get("name"):
                self.forms[-1]["inputs"][attributes["name"]] = attributes.get("value", "")


def _submit(http: requests.Session, page: requests.Response, button: str, **fields: str) -> requests.Response:
    parser = _Forms()
    parser.feed(page.text)
    form = next(f for f in parser.forms if button in f["buttons"])
    name, value = form["buttons"][button]
    data = {**form["inputs"], **fields, name: value}
    return http.post(urljoin(page.url, form["action"]), data=data, allow_redirects=False)


def _follow(http: requests.Session, response: requests.Response) -> requests.Response:
    while response.status_code == 302 and response.headers["Location"].startswith("/"):
        response = http.get(urljoin(response.url, response.headers["Location"]), allow_redirects=False)
    return response


def _authorize(http: requests.Session, app: SalesforceApp, challenge: str, state: str) -> str:
    params = {
        "response_type": "code",
        "client_id": CREDS.salesforce_client_id,
        "redirect_uri": CREDS.salesforce_callback_url,
        "scope": "api refresh_token offline_access",
        "state": state,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    http.cookies.clear()  # a fresh browser: no Salesforce session yet
    start = http.get(f"{app.base_url}/services/oauth2/authorize", params=params, allow_redirects=False)
    login_page = _follow(http, start)
    assert login_page.status_code == 200
    assert 'id="Login"' in login_page.text
    wrong = _submit(http, login_page, "Login", username=CREDS.salesforce_admin_username, pw="nope")
    assert "Please check your username and password" in wrong.text
    allow_page = _follow(
        http,
        _submit(
            http,
            login_page,
            "Login",
            username=CREDS.salesforce_admin_username,
            pw=CREDS.salesforce_admin_password,
        ),
    )
    assert 'id="oaapprove"' in allow_page.text
    redirect = _submit(http, allow_page, "oaapprove")
    assert redirect.status_code == 302
    location = redirect.headers["Location"]
    assert location.startswith(CREDS.salesforce_callback_url + "?")
    query = parse_redirect(location)
    assert query["state"] == state
    return query["code"]


def test_authorization_code_with_pkce(http: requests.Session, app: SalesforceApp) -> None:
    verifier = secrets.token_urlsafe(64)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    code = _authorize(http, app, challenge, state="xyz-123")
    exchange = {
        "grant_type": "authorization_code",
        "client_id": CREDS.salesforce_client_id,
        "client_secret": CREDS.salesforce_client_secret,
        "redirect_uri": CREDS.salesforce_callback_url,
        "code": code,
    }
    bad = _post_token(http, app, **exchange, code_verifier="wrong-verifier")
    assert bad.json() == {"error": "invalid_grant", "error_description": "invalid code verifier"}
    reused = _post_token(http, app, **exchange, code_verifier=verifier)
    assert reused.json() == {"error": "invalid_grant", "error_description": "expired authorization code"}

    code = _authorize(http, app, challenge, state="again")
    body = _post_token(http, app, **exchange | {"code": code}, code_verifier=verifier).json()
    assert body["refresh_token"].startswith("5Aep861")
    assert body["scope"] == "api refresh_token offline_access"
    assert body["id"].endswith(app.user(CREDS.salesforce_admin_username)["Id"])
    assert _refresh(http, app, body["refresh_token"]).status_code == 200


def test_authorize_rejects_unknown_client_and_redirect(http: requests.Session, app: SalesforceApp) -> None:
    base = {"response_type": "code", "client_id": CREDS.salesforce_client_id}
    bad_redirect = http.get(
        f"{app.base_url}/services/oauth2/authorize",
        params=base | {"redirect_uri": "https://evil.example.com/cb"},
        allow_redirects=False,
    )
    assert bad_redirect.status_code == 302
    assert parse_redirect(bad_redirect.headers["Location"])["error"] == "redirect_uri_mismatch"
    page = http.get(urljoin(app.base_url, bad_redirect.headers["Location"]))
    assert page.status_code == 400
    assert "redirect_uri must match configuration" in page.text
    bad_client = http.get(
        f"{app.base_url}/services/oauth2/authorize",
        params=base | {"client_id": "unknown", "redirect_uri": CREDS.salesforce_callback_url},
        allow_redirects=False,
    )
    assert parse_redirect(bad_client.headers["Location"])["error"] == "invalid_client_id"
    app.register_callback("https://evil.example.com/cb")
    allowed = http.get(
        f"{app.base_url}/services/oauth2/authorize",
        params=base | {"redirect_uri": "https://evil.example.com/cb"},
        allow_redirects=False,
    )
    assert allowed.headers["Location"].startswith("/?startURL=")


def _assertion(app: SalesforceApp, **claims: Any) -> str:
    payload = {
        "iss": CREDS.salesforce_client_id,
        "sub": CREDS.salesforce_username,
        "aud": app.base_url,
        "exp": int(time.time()) + 170,
        **claims,
    }
    return jwt.encode(payload, app.jwt_private_key_pem, algorithm="RS256")


def test_jwt_bearer(http: requests.Session, app: SalesforceApp) -> None:
    grant = "urn:ietf:params:oauth:grant-type:jwt-bearer"
    ok = _post_token(http, app, grant_type=grant, assertion=_assertion(app))
    assert ok.status_code == 200, ok.text
    assert ok.json()["id"].endswith(app.unmanaged["integration"])
    assert "refresh_token" not in ok.json()

    def error(assertion: str) -> dict[str, str]:
        return _post_token(http, app, grant_type=grant, assertion=assertion).json()

    assert error(_assertion(app, aud="https://example.com")) == {
        "error": "invalid_grant",
        "error_description": "audience is invalid",
    }
    assert (
        error(_assertion(app, exp=int(time.time()) - 5))["error_description"] == "expired authorization code"
    )
    assert (
        error(_assertion(app, exp=int(time.time()) + 3600))["error_description"]
        == "expired authorization code"
    )
    assert error(_assertion(app, iss="someone-else"))["error"] == "invalid_client_id"
    assert error("not.a.jwt") == {"error": "invalid_grant", "error_description": "invalid assertion"}
    other_key = jwt.encode(
        {
            "iss": CREDS.salesforce_client_id,
            "sub": CREDS.salesforce_username,
            "aud": app.base_url,
            "exp": int(time.time()) + 100,
        },
        _other_private_key(),
        algorithm="RS256",
    )
    assert error(other_key)["error_description"] == "invalid assertion"
    someone = next(u for u in app.users() if u["FederationIdentifier"] and u["IsActive"])
    assert error(_assertion(app, sub=someone["Username"])) == {
        "error": "invalid_app_access",
        "error_description": "user is not admin approved to access this app",
    }


def _other_private_key() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def test_client_credentials_runs_as_integration_user(http: requests.Session, app: SalesforceApp) -> None:
    response = _post_token(
        http,
        app,
        grant_type="client_credentials",
        client_id=CREDS.salesforce_client_id,
        client_secret=CREDS.salesforce_client_secret,
    )
    assert response.status_code == 200
    body = response.json()
    assert body["id"].endswith(app.unmanaged["integration"])
    assert "refresh_token" not in body
    basic = base64.b64encode(f"{CREDS.salesforce_client_id}:wrong".encode()).decode()
    refused = http.post(
        f"{app.base_url}/services/oauth2/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": f"Basic {basic}"},
    )
    assert refused.json() == {"error": "invalid_client", "error_description": "invalid client credentials"}


def test_revoke_kills_refresh_and_access_tokens(http: requests.Session, app: SalesforceApp) -> None:
    token = "5Aep861revocable"
    app.oauth.add_refresh_token(token, app.unmanaged["integration"])
    access = _refresh(http, app, token).json()["access_token"]
    assert http.post(f"{app.base_url}/services/oauth2/revoke", data={"token": token}).status_code == 200
    assert _refresh(http, app, token).json()["error"] == "invalid_grant"
    data = http.get(
        f"{app.base_url}/services/data/v62.0/limits", headers={"Authorization": f"Bearer {access}"}
    )
    assert data.status_code == 401
    assert data.json() == [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]
