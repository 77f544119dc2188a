"""OAuth 2.0 for Okta service apps: ``client_credentials`` with a ``private_key_jwt`` assertion.

What Okta's org authorization server checks (and how it words its refusals):
the client assertion is an RS256 JWT signed with a key whose public JWK is
registered for the service app, with ``iss == sub == client_id``,
``aud == {org}/oauth2/v1/token``, an ``exp`` in the future but at most one hour
away, and a ``jti`` that has not been used before. Only the scopes granted to
the app can be requested.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from okta_salesforce_testbed.sandbox.oauth_error import OAuthError

__all__ = ["ServiceApp", "TokenService"]

CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
MAX_ASSERTION_LIFETIME = 3600
TOKEN_TTL = 3600


@dataclass
class ServiceApp:
    """An OAuth service app: client id, granted scopes and one registered RSA key."""

    client_id: str
    key_id: str
    granted_scopes: frozenset[str]
    private_key: rsa.RSAPrivateKey = field(
        default_factory=lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048), repr=False
    )

    @property
    def private_key_pem(self) -> str:
        """The PKCS8 PEM a client signs its assertions with."""
        return self.private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()

    def public_jwk(self) -> dict[str, Any]:
        """The registered public key as a JWK (what the Admin Console shows)."""
        jwk = jwt.algorithms.RSAAlgorithm.to_jwk(self.private_key.public_key(), as_dict=True)
        return {**jwk, "kid": self.key_id, "use": "sig", "alg": "RS256", "status": "ACTIVE"}


@dataclass
class _Token:
    scopes: frozenset[str]
    expires_at: float
    client_id: str


class TokenService:
    """Issues and checks access tokens for registered service apps (thread-safe)."""

    def __init__(self, apps: list[ServiceApp], *, ttl: int = TOKEN_TTL) -> None:
        self.apps = {app.client_id: app for app in apps}
        self.ttl = ttl
        self._tokens: dict[str, _Token] = {}
        self._used_jti: dict[str, float] = {}
        self._signing_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self._lock = threading.Lock()

    def issue(self, form: dict[str, str], *, token_url: str) -> dict[str, Any]:
        """Handle one token request; returns Okta's token JSON or raises :class:`OAuthError`."""
        grant_type = form.get("grant_type")
        if not grant_type:
            raise OAuthError("invalid_request", "The token request must specify a 'grant_type'.")
        if grant_type != "client_credentials":
            raise OAuthError(
                "unsupported_grant_type",
                f"The authorization grant type '{grant_type}' is not supported by the authorization "
                "server. Configured grant types: [client_credentials].",
            )
        if form.get("client_assertion_type") != CLIENT_ASSERTION_TYPE or not form.get("client_assertion"):
            raise OAuthError(
                "invalid_client",
                "Client authentication failed. Either the client or the client credentials are invalid.",
                401,
            )
        app = self._verify_assertion(form["client_assertion"], token_url)
        if form.get("client_id") and form["client_id"] != app.client_id:
            raise OAuthError("invalid_client", "The 'client_id' does not match the client_assertion.", 401)
        requested = frozenset((form.get("scope") or "").split())
        if not requested:
            raise OAuthError(
                "invalid_scope",
                "The authorization server resource does not have any configured default scopes, "
                "'scope' must be provided.",
            )
        if not requested <= app.granted_scopes:
            raise OAuthError(
                "invalid_scope",
                "The following scopes are not granted to the client: "
                + " ".join(sorted(requested - app.granted_scopes)),
            )
        now = time.time()
        access_token = jwt.encode(
            {
                "ver": 1,
                "jti": "AT." + secrets.token_urlsafe(32),
                "iss": token_url.rsplit("/oauth2/", 1)[0],
                "aud": token_url.rsplit("/oauth2/", 1)[0],
                "iat": int(now),
                "exp": int(now) + self.ttl,
                "cid": app.client_id,
                "scp": sorted(requested),
                "sub": app.client_id,
            },
            self._signing_key,
            algorithm="RS256",
            headers={"kid": "sandbox-org-as"},
        )
        with self._lock:
            self._tokens[access_token] = _Token(requested, now + self.ttl, app.client_id)
        return {
            "token_type": "Bearer",
            "expires_in": self.ttl,
            "access_token": access_token,
            "scope": " ".join(sorted(requested)),
        }

    def _verify_assertion(self, assertion: str, token_url: str) -> ServiceApp:
        try:
            header = jwt.get_unverified_header(assertion)
            unverified = jwt.decode(assertion, options={"verify_signature": False})
        except jwt.PyJWTError:
            raise OAuthError("invalid_client", "The client_assertion token is malformed.", 401) from None
        if header.get("alg") != "RS256":
            raise OAuthError(
                "invalid_client", "The client_assertion token has an unsupported signing algorithm.", 401
            )
        app = self.apps.get(str(unverified.get("iss")))
        if app is None:
            raise OAuthError("invalid_client", "Invalid value for 'client_id' parameter.", 401)
        if unverified.get("sub") != app.client_id:
            raise OAuthError(
                "invalid_client", "The client_assertion token must have matching 'iss' and 'sub' claims.", 401
            )
        if header.get("kid") not in (None, app.key_id):
            raise OAuthError("invalid_client", "The client_assertion signature is invalid.", 401)
        try:
            claims = jwt.decode(
                assertion,
                app.private_key.public_key(),
                algorithms=["RS256"],
                audience=token_url,
                options={"require": ["exp", "aud", "iss", "sub"]},
                leeway=0,
            )
        except jwt.ExpiredSignatureError:
            raise OAuthError("invalid_client", "The client_assertion token is expired.", 401) from None
        except jwt.InvalidAudienceError:
            raise OAuthError(
                "invalid_client",
                "The audience [aud] claim in the client_assertion token must be the token endpoint.",
                401,
            ) from None
        except jwt.InvalidSignatureError:
            raise OAuthError("invalid_client", "The client_assertion signature is invalid.", 401) from None
        except jwt.PyJWTError:
            raise OAuthError("invalid_client", "The client_assertion token is invalid.", 401) from None
        now = time.time()
        if claims["exp"] - now > MAX_ASSERTION_LIFETIME:
            raise OAuthError(
                "invalid_client",
                "The client_assertion token has an expiration too far into the future.",
                401,
            )
        jti = claims.get("jti")
        if not jti:
            raise OAuthError("invalid_client", "The client_assertion token must contain a 'jti' claim.", 401)
        with self._lock:
            self._used_jti = {k: v for k, v in self._used_jti.items() if v > now}
            if jti in self._used_jti:
                raise OAuthError("invalid_client", "The client_assertion token has already been used.", 401)
            self._used_jti[jti] = float(claims["exp"])
        return app

    def scopes_for(self, access_token: str) -> frozenset[str] | None:
        """The scopes of a live access token, ``None`` when unknown or expired."""
        with self._lock:
            token = self._tokens.get(access_token)
            if token is None:
                return None
            if token.expires_at <= time.time():
                del self._tokens[access_token]
                return None
            return token.scopes

    def expire_all(self) -> None:
        """Expire every issued access token (scripts a token expiry)."""
        with self._lock:
            self._tokens.clear()
