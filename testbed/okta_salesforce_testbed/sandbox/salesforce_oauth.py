"""Salesforce OAuth 2.0 for the sandbox: token endpoint, authorize pages, revoke, userinfo.

Flows: ``refresh_token`` (optional Refresh Token Rotation), ``authorization_code``
with PKCE S256, ``urn:ietf:params:oauth:grant-type:jwt-bearer`` and
``client_credentials``. Errors carry the ``error`` / ``error_description`` pairs
Salesforce returns (HTTP 400). Secrets are never echoed in errors.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, quote, urlencode, urlsplit

import jwt
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

from okta_salesforce_testbed.sandbox.oauth_error import OAuthError
from okta_salesforce_testbed.sandbox.server import Request, Response

if TYPE_CHECKING:
    from okta_salesforce_testbed.sandbox.salesforce_org import Org

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
AUTH_CODE_TTL = 15 * 60
JWT_MAX_LIFETIME = 3 * 60
APPROVALS_PER_USER = 5
APP_SCOPES = ("api", "refresh_token", "offline_access", "id", "openid", "web")
NO_STORE = {"Cache-Control": "no-cache,must-revalidate,max-age=0,no-store,private", "Pragma": "no-cache"}
LOGIN_ERROR = (
    "Please check your username and password. "
    "If you still can't log in, contact your Salesforce administrator."
)


@dataclass
class Grant:
    """A refresh token's grant: who approved which scopes for which client."""

    user_id: str
    client_id: str
    scopes: tuple[str, ...]
    created: float = field(default_factory=time.time)


@dataclass
class Session:
    """An issued access token."""

    user_id: str
    client_id: str
    scopes: tuple[str, ...]
    refresh_token: str | None = None
    calls: int = 0


@dataclass
class AuthCode:
    client_id: str
    redirect_uri: str
    user_id: str
    scopes: tuple[str, ...]
    code_challenge: str | None
    expires: float
    used: bool = False


class SalesforceOAuth:
    """The connected app and every token it has issued.

    :param org: the org whose users authorize.
    :param client_id: consumer key of the connected app.
    :param client_secret: consumer secret.
    :param callback_urls: allowed ``redirect_uri`` values.
    :param certificate_key: public key of the certificate uploaded for JWT bearer.
    :param passwords: usernames that can log in to the authorize page, with passwords.
    :param preauthorized_profiles: profile names admin-approved for JWT bearer.
    :param base_url: a callable giving the server's base URL (login host = instance here).
    """

    def __init__(
        self,
        org: Org,
        *,
        client_id: str,
        client_secret: str,
        callback_urls: list[str],
        certificate_key: RSAPublicKey,
        passwords: dict[str, str],
        run_as_user_id: str,
        preauthorized_profiles: tuple[str, ...],
        base_url: Callable[[], str],
    ) -> None:
        self.org = org
        self.client_id = client_id
        self.client_secret = client_secret
        self.callback_urls = list(callback_urls)
        self.certificate_key = certificate_key
        self.passwords = {k.lower(): v for k, v in passwords.items()}
        self.run_as_user_id = run_as_user_id
        self.preauthorized_profiles = preauthorized_profiles
        self.base_url = base_url
        self.rotate_refresh_tokens = False
        self.refresh_tokens: dict[str, Grant] = {}
        self.sessions: dict[str, Session] = {}
        self.codes: dict[str, AuthCode] = {}
        self.ui_sessions: dict[str, str] = {}

    # Token bookkeeping -------------------------------------------------------------------
    def add_refresh_token(self, token: str, user_id: str, scopes: tuple[str, ...] = APP_SCOPES[:3]) -> None:
        self.refresh_tokens[token] = Grant(user_id, self.client_id, scopes)

    def _new_refresh_token(self, user_id: str, scopes: tuple[str, ...]) -> str:
        token = "5Aep861" + secrets.token_urlsafe(60).replace("-", ".").replace("_", ".")
        self.refresh_tokens[token] = Grant(user_id, self.client_id, scopes)
        mine = sorted(
            (
                t
                for t, g in self.refresh_tokens.items()
                if g.user_id == user_id and g.client_id == self.client_id
            ),
            key=lambda t: self.refresh_tokens[t].created,
        )
        for oldest in mine[: max(0, len(mine) - APPROVALS_PER_USER)]:  # the sixth approval revokes the oldest
            self.revoke_refresh_token(oldest)
        return token

    def revoke_refresh_token(self, token: str) -> None:
        self.refresh_tokens.pop(token, None)
        for access, session in list(self.sessions.items()):
            if session.refresh_token == token:
                del self.sessions[access]

    def expire_access_tokens(self) -> None:
        self.sessions.clear()

    def _issue(
        self, user_id: str, scopes: tuple[str, ...], *, refresh_token: str | None = None
    ) -> dict[str, Any]:
        access = f"{self.org.org_id[:15]}!AQ" + secrets.token_urlsafe(72).replace("-", ".").replace("_", ".")
        self.sessions[access] = Session(user_id, self.client_id, scopes, refresh_token)
        base = self.base_url()
        identity = f"{base}/id/{self.org.org_id}/{user_id}"
        issued_at = str(int(time.time() * 1000))
        signature = base64.b64encode(
            hmac.new(self.client_secret.encode(), (identity + issued_at).encode(), hashlib.sha256).digest()
        ).decode()
        return {
            "access_token": access,
            "signature": signature,
            "scope": " ".join(scopes),
            "instance_url": base,
            "id": identity,
            "token_type": "Bearer",
            "issued_at": issued_at,
        }

    def session(self, access_token: str) -> Session | None:
        return self.sessions.get(access_token)

    # Token endpoint ----------------------------------------------------------------------
    def token(self, request: Request) -> Response:
        try:
            return Response(200, self._token(request), dict(NO_STORE))
        except OAuthError as error:
            return error.response(NO_STORE)

    def _token(self, request: Request) -> dict[str, Any]:
        form = request.form() if request.body else {k: v[0] for k, v in request.query.items()}
        grant_type = form.get("grant_type", "")
        handlers = {
            "refresh_token": self._refresh,
            "authorization_code": self._authorization_code,
            JWT_BEARER: self._jwt_bearer,
            "client_credentials": self._client_credentials,
        }
        handler = handlers.get(grant_type)
        if handler is None:
            raise OAuthError("unsupported_grant_type", "grant type not supported")
        return handler(form, request)

    def _client(self, form: dict[str, str], request: Request, *, secret_required: bool = True) -> None:
        client_id, client_secret = form.get("client_id"), form.get("client_secret")
        auth = request.header("Authorization") or ""
        if auth.lower().startswith("basic "):
            try:
                client_id, _, client_secret = base64.b64decode(auth[6:]).decode().partition(":")
            except (ValueError, UnicodeDecodeError) as exc:
                raise OAuthError("invalid_client", "invalid client credentials") from exc
        if client_id != self.client_id:
            raise OAuthError("invalid_client_id", "client identifier invalid")
        if (secret_required or client_secret) and not hmac.compare_digest(
            (client_secret or "").encode(), self.client_secret.encode()
        ):
            raise OAuthError("invalid_client", "invalid client credentials")

    def _active_user(self, user_id: str) -> dict[str, Any]:
        user = self.org.table("User").get(user_id)
        if user is None or not user["IsActive"]:
            raise OAuthError("inactive_user", "user is inactive")
        login = self.org.table("UserLogin").get(self.org.login_by_user.get(user_id, ""))
        if login and login["IsFrozen"]:
            raise OAuthError("invalid_grant", "authentication failure")
        return user

    def _refresh(self, form: dict[str, str], request: Request) -> dict[str, Any]:
        self._client(form, request)
        token = form.get("refresh_token", "")
        grant = self.refresh_tokens.get(token)
        if grant is None or grant.client_id != self.client_id:
            raise OAuthError("invalid_grant", "expired access/refresh token")
        self._active_user(grant.user_id)
        if self.rotate_refresh_tokens:
            self.revoke_refresh_token(token)
            new_token = self._new_refresh_token(grant.user_id, grant.scopes)
            body = self._issue(grant.user_id, grant.scopes, refresh_token=new_token)
            body["refresh_token"] = new_token
            return body
        return self._issue(grant.user_id, grant.scopes, refresh_token=token)

    def _authorization_code(self, form: dict[str, str], request: Request) -> dict[str, Any]:
        self._client(form, request, secret_required=False)
        code = self.codes.get(form.get("code", ""))
        if code is None:
            raise OAuthError("invalid_grant", "invalid authorization code")
        if code.used or code.expires < time.time():
            raise OAuthError("invalid_grant", "expired authorization code")
        code.used = True  # single use, even when the exchange fails below
        if form.get("redirect_uri") != code.redirect_uri:
            raise OAuthError("redirect_uri_mismatch", "redirect_uri must match configuration")
        if code.code_challenge is not None:
            verifier = form.get("code_verifier", "")
            digest = (
                base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
            )
            if not verifier or not hmac.compare_digest(digest, code.code_challenge):
                raise OAuthError("invalid_grant", "invalid code verifier")
        elif not form.get("client_secret"):
            raise OAuthError("invalid_client", "invalid client credentials")
        self._active_user(code.user_id)
        refresh = None
        if {"refresh_token", "offline_access"} & set(code.scopes):
            refresh = self._new_refresh_token(code.user_id, code.scopes)
        body = self._issue(code.user_id, code.scopes, refresh_token=refresh)
        if refresh:
            body["refresh_token"] = refresh
        return body

    def _jwt_bearer(self, form: dict[str, str], request: Request) -> dict[str, Any]:
        assertion = form.get("assertion", "")
        try:
            unverified = jwt.decode(assertion, options={"verify_signature": False})
            header = jwt.get_unverified_header(assertion)
        except jwt.PyJWTError as exc:
            raise OAuthError("invalid_grant", "invalid assertion") from exc
        if unverified.get("iss") != self.client_id:
            raise OAuthError("invalid_client_id", "client identifier invalid")
        if header.get("alg") != "RS256":
            raise OAuthError("invalid_grant", "invalid assertion")
        try:
            claims = jwt.decode(
                assertion,
                self.certificate_key,
                algorithms=["RS256"],
                options={"verify_aud": False, "verify_exp": False, "require": ["exp"]},
            )
        except jwt.PyJWTError as exc:
            raise OAuthError("invalid_grant", "invalid assertion") from exc
        audiences = claims.get("aud")
        audiences = [audiences] if isinstance(audiences, str) else list(audiences or [])
        valid_audiences = {
            self.base_url().rstrip("/"),
            "https://login.salesforce.com",
            "https://test.salesforce.com",
        }
        if not any(str(a).rstrip("/") in valid_audiences for a in audiences):
            raise OAuthError("invalid_grant", "audience is invalid")
        now = time.time()
        exp = claims.get("exp")
        if not isinstance(exp, (int, float)) or exp < now or exp > now + JWT_MAX_LIFETIME + 5:
            raise OAuthError("invalid_grant", "expired authorization code")
        user = self.org.user_by_username(str(claims.get("sub", "")))
        if user is None:
            raise OAuthError("invalid_grant", "user hasn't approved this consumer")
        self._active_user(user["Id"])
        profile = self.org.table("Profile").get(user["ProfileId"]) or {}
        if profile.get("Name") not in self.preauthorized_profiles:
            raise OAuthError("invalid_app_access", "user is not admin approved to access this app")
        return self._issue(user["Id"], ("api",))

    def _client_credentials(self, form: dict[str, str], request: Request) -> dict[str, Any]:
        self._client(form, request)
        self._active_user(self.run_as_user_id)
        return self._issue(self.run_as_user_id, ("api",))

    # Revoke and userinfo --------------------------------------------------------------------
    def revoke(self, request: Request) -> Response:
        form = request.form() if request.body else {k: v[0] for k, v in request.query.items()}
        token = form.get("token", "")
        if token in self.refresh_tokens:
            self.revoke_refresh_token(token)
        elif token in self.sessions:
            del self.sessions[token]
        else:
            return OAuthError("unsupported_token_type", "this token type is not supported").response(NO_STORE)
        return Response(200, None)

    def userinfo(self, request: Request) -> Response:
        auth = request.header("Authorization") or ""
        session = self.sessions.get(auth[7:]) if auth.startswith("Bearer ") else None
        if session is None:
            return Response(403, "Bad_OAuth_Token", content_type="text/plain;charset=UTF-8")
        user = self.org.table("User")[session.user_id]
        base = self.base_url()
        return Response(
            200,
            {
                "sub": f"{base}/id/{self.org.org_id}/{user['Id']}",
                "user_id": user["Id"],
                "organization_id": self.org.org_id,
                "preferred_username": user["Username"],
                "nickname": user["CommunityNickname"],
                "name": user["Name"],
                "email": user["Email"],
                "given_name": user["FirstName"],
                "family_name": user["LastName"],
                "zoneinfo": user["TimeZoneSidKey"],
                "active": user["IsActive"],
                "user_type": "STANDARD",
                "language": user["LanguageLocaleKey"],
                "locale": user["LocaleSidKey"],
            },
        )

    # Authorize pages -----------------------------------------------------------------------
    def authorize(self, request: Request) -> Response:
        """GET shows login (no session) or the Allow page; POST records the user's decision."""
        params = request.form() if request.method == "POST" else {k: v[0] for k, v in request.query.items()}
        if params.get("client_id") != self.client_id:
            return _error_page("invalid_client_id", "client identifier invalid")
        redirect_uri = params.get("redirect_uri", "")
        if redirect_uri not in self.callback_urls:
            return _error_page("redirect_uri_mismatch", "redirect_uri must match configuration")
        state = params.get("state")
        if params.get("response_type") != "code":
            return _redirect_error(
                redirect_uri, "unsupported_response_type", "response type not supported", state
            )
        challenge = params.get("code_challenge")
        if challenge is not None and params.get("code_challenge_method", "S256") != "S256":
            return _redirect_error(redirect_uri, "invalid_request", "invalid code challenge method", state)
        requested = tuple(params.get("scope", "").split()) or APP_SCOPES[:3]
        if not set(requested) <= set(APP_SCOPES):
            return _redirect_error(redirect_uri, "invalid_scope", "the requested scope is not allowed", state)
        user_id = self.ui_sessions.get(_cookie(request, "sid") or "")
        if user_id is None:
            start = "/services/oauth2/authorize?" + urlencode(
                {k: v for k, v in params.items() if k != "oaapprove"}
            )
            return Response(302, None, {"Location": "/?" + urlencode({"startURL": start})})
        if request.method == "GET":
            return Response(200, _allow_page(params), content_type="text/html;charset=UTF-8")
        if "oaapprove" not in params:
            return _redirect_error(redirect_uri, "access_denied", "end-user denied authorization", state)
        code = "aPrx" + secrets.token_urlsafe(48)
        self.codes[code] = AuthCode(
            self.client_id, redirect_uri, user_id, requested, challenge, time.time() + AUTH_CODE_TTL
        )
        query = {"code": code, **({"state": state} if state is not None else {})}
        return Response(302, None, {"Location": _append_query(redirect_uri, query)})

    def login_page(self, request: Request) -> Response:
        start = request.arg("startURL") or ""
        return Response(200, _login_page(start, None), content_type="text/html;charset=UTF-8")

    def login(self, request: Request) -> Response:
        form = request.form()
        username = form.get("username", "").strip().lower()
        start = form.get("startURL") or "/"
        expected = self.passwords.get(username)
        user = self.org.user_by_username(username)
        ok = (
            expected is not None
            and hmac.compare_digest(form.get("pw", form.get("password", "")).encode(), expected.encode())
            and user is not None
            and user["IsActive"]
        )
        if not ok or user is None:
            return Response(200, _login_page(start, LOGIN_ERROR), content_type="text/html;charset=UTF-8")
        sid = secrets.token_urlsafe(32)
        self.ui_sessions[sid] = user["Id"]
        if not start.startswith("/"):
            start = "/"
        return Response(302, None, {"Location": start, "Set-Cookie": f"sid={sid}; Path=/; Secure; HttpOnly"})


def _cookie(request: Request, name: str) -> str | None:
    for part in (request.header("Cookie") or "").split(";"):
        key, _, value = part.strip().partition("=")
        if key == name:
            return value
    return None


def _append_query(url: str, params: dict[str, str]) -> str:
    separator = "&" if urlsplit(url).query else "?"
    return url + separator + urlencode(params, quote_via=quote)


def _redirect_error(redirect_uri: str, error: str, description: str, state: str | None) -> Response:
    params = {"error": error, "error_description": description, **({"state": state} if state else {})}
    return Response(302, None, {"Location": _append_query(redirect_uri, params)})


def _error_page(error: str, description: str) -> Response:
    """Salesforce's RemoteAccessErrorPage: the client's redirect_uri is not trusted, so no redirect back."""
    location = "/setup/secur/RemoteAccessErrorPage.apexp?" + urlencode(
        {"error": error, "error_description": description}, quote_via=quote
    )
    return Response(302, None, {"Location": location})


def remote_access_error_page(request: Request) -> Response:
    error = html.escape(request.arg("error") or "")
    description = html.escape(request.arg("error_description") or "")
    body = (
        "<!DOCTYPE html><html><head><title>Remote Access Authorization Error</title></head><body>"
        f'<h1>Remote Access Authorization Error</h1><p id="error">error={error}</p>'
        f'<p id="error_description">{description}</p></body></html>'
    )
    return Response(400, body, content_type="text/html;charset=UTF-8")


def _page(title: str, body: str) -> str:
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title></head><body>{body}</body></html>"
    )


def _login_page(start_url: str, error: str | None) -> str:
    message = f'<div id="error" class="loginError">{html.escape(error)}</div>' if error else ""
    return _page(
        "Login | Salesforce",
        f'{message}<form id="login_form" name="login" method="post" action="/">'
        f'<input type="hidden" name="startURL" value="{html.escape(start_url)}">'
        '<label for="username">Username</label>'
        '<input id="username" name="username" type="email" autocomplete="username">'
        '<label for="password">Password</label>'
        '<input id="password" name="pw" type="password" autocomplete="current-password">'
        '<input id="Login" name="Login" type="submit" value="Log In"></form>',
    )


def _allow_page(params: dict[str, str]) -> str:
    hidden = "".join(
        f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
        for k, v in params.items()
        if k not in ("oaapprove", "oadeny")
    )
    scopes = "".join(
        f"<li>{html.escape(s)}</li>" for s in (params.get("scope") or "api refresh_token").split()
    )
    return _page(
        "Allow Access?",
        "<h1>Allow Access?</h1><p>The connected app is asking to:</p>"
        f'<ul id="scopes">{scopes}</ul>'
        f'<form id="frm" method="post" action="/services/oauth2/authorize">{hidden}'
        '<input id="oaapprove" name="oaapprove" type="submit" value="Allow">'
        '<input id="oadeny" name="oadeny" type="submit" value="Deny"></form>',
    )


def parse_redirect(location: str) -> dict[str, str]:
    """The query of a redirect Location as a flat dict (helper for tests and the CLI)."""
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
