"""Salesforce's OAuth 2.0 token endpoint: the grants the hook and ``okta-salesforce authorize`` use.

Token requests are plain form POSTs made here rather than through requests-oauthlib, whose
``OAuth2Session`` logs request bodies and token responses at DEBUG. Nothing in this module logs a
secret, and no error it raises contains one.

Transport rules (docs/security.md): the token endpoint must be ``https://``; a redirect from it is
never followed (requests would re-POST the form, secret included, to wherever it points); the
response's ``instance_url`` must be HTTPS inside Salesforce's domains (or the connection's
``instance_domains``); and a grant Salesforce signs must carry a valid ``signature``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import jwt
import requests
from airflow.sdk.exceptions import AirflowException
from tenacity import (
    before_sleep_log,
    retry,
    retry_if_exception_type,
    retry_if_not_exception_type,
    stop_after_attempt,
    wait_exponential,
)

from okta_salesforce.hooks.salesforce_domains import UnsafeEndpointError, check_instance_url, require_https

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

log = logging.getLogger(__name__)

PRODUCTION_LOGIN = "https://login.salesforce.com"
SANDBOX_LOGIN = "https://test.salesforce.com"
JWT_LIFETIME_SECONDS = 180  # Salesforce accepts at most 3 minutes
#: Grants whose response Salesforce signs with the consumer secret (the JWT bearer response has no
#: ``signature``: that flow does not use the secret).
SIGNED_GRANTS = frozenset({"refresh_token", "authorization_code", "client_credentials"})


class SalesforceOAuthError(AirflowException):
    """The token endpoint refused a grant (the message names the error, never a secret)."""

    def __init__(self, message: str, *, error: str | None = None, status: int | None = None) -> None:
        super().__init__(message)
        self.error = error
        self.status = status


class InvalidGrantError(SalesforceOAuthError):
    """``invalid_grant``: the refresh token, code or assertion is expired, revoked or already spent."""


class SignatureMismatchError(SalesforceOAuthError):
    """The token response's ``signature`` is missing, or does not match ``id + issued_at``."""


class _TransientTokenError(Exception):
    """A 5xx/429 answer from the token endpoint, worth another try."""

    def __init__(self, status: int) -> None:
        super().__init__(f"token endpoint answered HTTP {status}")
        self.status = status


@dataclass(frozen=True)
class TokenResponse:
    """The useful part of a token response. Secrets are left out of ``repr``."""

    access_token: str = field(repr=False)
    instance_url: str
    id: str | None = None
    issued_at: str | None = None
    refresh_token: str | None = field(default=None, repr=False)
    scope: str | None = None

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> TokenResponse:
        if not payload.get("access_token") or not payload.get("instance_url"):
            raise SalesforceOAuthError("The token response has no access_token or instance_url.")
        return cls(
            access_token=str(payload["access_token"]),
            instance_url=str(payload["instance_url"]).rstrip("/"),
            id=payload.get("id"),
            issued_at=None if payload.get("issued_at") is None else str(payload["issued_at"]),
            refresh_token=payload.get("refresh_token") or None,
            scope=payload.get("scope"),
        )


def compute_signature(client_secret: str, identity_url: str, issued_at: str) -> str:
    """``base64(HMAC-SHA256(client_secret, id + issued_at))``, as Salesforce signs token responses."""
    digest = hmac.new(client_secret.encode(), (identity_url + issued_at).encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def verify_signature(
    payload: Mapping[str, Any], client_secret: str | None, *, required: bool = False
) -> None:
    """Check a token response's ``signature`` against the consumer secret.

    What a valid signature proves is narrow: whoever produced the response knows the consumer
    secret, and ``id`` and ``issued_at`` are as they signed them. It does not cover
    ``access_token``, ``refresh_token`` or ``instance_url``: those rest on TLS to the token
    endpoint (and :func:`check_instance_url`).

    :param required: the grant is one Salesforce signs, so a missing signature is an error too.
        Without a consumer secret there is nothing to check with, and the check is skipped.
    :raises SignatureMismatchError: the signature is missing (when required) or wrong.
    """
    if not client_secret:
        return
    signature = payload.get("signature")
    if not signature:
        if not required:
            return
        raise SignatureMismatchError(
            "The Salesforce token response carries no signature, but Salesforce signs every response "
            "of this grant: something between Airflow and Salesforce answered instead. The token was "
            "discarded.",
            error="missing_signature",
        )
    expected = compute_signature(client_secret, str(payload.get("id", "")), str(payload.get("issued_at", "")))
    if not hmac.compare_digest(expected.encode(), str(signature).encode()):
        raise SignatureMismatchError(
            "The Salesforce token response failed its signature check: either the consumer secret "
            "in the connection is not the connected app's, or something between Airflow and "
            "Salesforce altered the response. The token was discarded.",
            error="invalid_signature",
        )


def jwt_audience(login_url: str) -> str:
    """The ``aud`` of a JWT bearer assertion for a login host.

    Salesforce wants ``https://login.salesforce.com`` for production orgs (My Domain included) and
    ``https://test.salesforce.com`` for sandboxes; any other host (an Experience Cloud site, a
    local emulator) is its own audience.
    """
    host = (urlsplit(login_url).hostname or "").lower()
    if host == "test.salesforce.com" or host.endswith(".sandbox.my.salesforce.com"):
        return SANDBOX_LOGIN
    if host == "login.salesforce.com" or host.endswith(".my.salesforce.com"):
        return PRODUCTION_LOGIN
    return login_url.rstrip("/")


def scrub(text: str, secrets: Iterable[str | None]) -> str:
    """Replace every occurrence of each secret in ``text`` with ``***``."""
    for secret in secrets:
        if secret and len(secret) >= 5:
            text = text.replace(secret, "***")
    return text


class TokenEndpoint:
    """Client of ``{login_url}/services/oauth2/token``.

    :param login_url: ``https://login.salesforce.com``, ``https://test.salesforce.com`` or a My
        Domain URL (``https://`` only).
    :param session: the HTTP session (carrying the CA bundle) to post with.
    :param instance_domains: private domains allowed as ``instance_url`` besides Salesforce's own.
    :raises SalesforceOAuthError: ``login_url`` is not HTTPS (nothing is sent).
    """

    def __init__(
        self,
        *,
        login_url: str,
        client_id: str,
        client_secret: str | None,
        session: requests.Session,
        timeout: float = 30.0,
        attempts: int = 4,
        instance_domains: Sequence[str] = (),
    ) -> None:
        try:
            require_https(login_url, "The Salesforce Login URL")
        except UnsafeEndpointError as err:
            raise SalesforceOAuthError(str(err), error="insecure_endpoint") from None
        self.instance_domains = tuple(instance_domains)
        self.login_url = login_url.rstrip("/")
        self.client_id = client_id
        self.client_secret = client_secret
        self.session = session
        self.timeout = timeout
        self.attempts = attempts

    @property
    def token_url(self) -> str:
        return f"{self.login_url}/services/oauth2/token"

    @property
    def authorize_url(self) -> str:
        return f"{self.login_url}/services/oauth2/authorize"

    def refresh(self, refresh_token: str) -> TokenResponse:
        """Spend a refresh token (with rotation on, the response carries its successor)."""
        return self._grant({"grant_type": "refresh_token", "refresh_token": refresh_token}, with_secret=True)

    def jwt_bearer(self, username: str, private_key: str) -> TokenResponse:
        """The JWT bearer flow: an RS256 assertion signed with the connected app's certificate key."""
        now = int(time.time())
        claims = {
            "iss": self.client_id,
            "sub": username,
            "aud": jwt_audience(self.login_url),
            "exp": now + JWT_LIFETIME_SECONDS,
        }
        assertion = jwt.encode(claims, private_key, algorithm="RS256")
        return self._grant(
            {"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": assertion},
            with_secret=False,
        )

    def client_credentials(self) -> TokenResponse:
        """The client credentials flow (needs a My Domain host and a run-as user on the app)."""
        return self._grant({"grant_type": "client_credentials"}, with_secret=True)

    def authorization_code(self, code: str, *, redirect_uri: str, code_verifier: str) -> TokenResponse:
        """Exchange an authorization code obtained with PKCE."""
        return self._grant(
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": redirect_uri,
                "code_verifier": code_verifier,
            },
            with_secret=True,
        )

    # ------------------------------------------------------------------------------------------
    def _grant(self, data: dict[str, str], *, with_secret: bool) -> TokenResponse:
        form = {**data, "client_id": self.client_id}
        if with_secret and self.client_secret:
            form["client_secret"] = self.client_secret
        payload = self._post(form)
        verify_signature(payload, self.client_secret, required=data["grant_type"] in SIGNED_GRANTS)
        token = TokenResponse.from_payload(payload)
        try:
            check_instance_url(token.instance_url, self.instance_domains)
        except UnsafeEndpointError as err:
            raise SalesforceOAuthError(str(err), error="untrusted_instance_url") from None
        return token

    def _post(self, form: dict[str, str]) -> dict[str, Any]:
        secrets = list(form.values())

        @retry(
            retry=(
                retry_if_exception_type((requests.ConnectionError, requests.Timeout, _TransientTokenError))
                & retry_if_not_exception_type(requests.exceptions.SSLError)  # a trust problem stays one
            ),
            stop=stop_after_attempt(self.attempts),
            wait=wait_exponential(multiplier=0.5, max=8),
            before_sleep=before_sleep_log(log, logging.WARNING),
            reraise=True,
        )
        def post() -> requests.Response:
            response = self.session.post(
                self.token_url,
                data=form,
                headers={"Accept": "application/json"},
                timeout=self.timeout,
                allow_redirects=False,  # a redirect would re-POST the form, secret included
            )
            if response.status_code == 429 or response.status_code >= 500:
                response.close()
                raise _TransientTokenError(response.status_code)
            return response

        try:
            response = post()
        except _TransientTokenError as err:
            raise SalesforceOAuthError(
                f"The Salesforce token endpoint {self.token_url} kept failing (HTTP {err.status}) "
                f"after {self.attempts} attempts; try again later.",
                status=err.status,
            ) from None
        except requests.RequestException as err:
            reason = scrub(f"{type(err).__name__}: {err}", secrets)
            raise SalesforceOAuthError(
                f"Could not reach the Salesforce token endpoint {self.token_url} ({reason}). Check the "
                "connection's Login URL, the network and, for a private CA, its ca_bundle."
            ) from None
        if response.is_redirect or 300 <= response.status_code < 400:
            target = urlsplit(response.headers.get("Location", "")).hostname or "elsewhere"
            response.close()
            raise SalesforceOAuthError(
                f"The Salesforce token endpoint {self.token_url} answered HTTP {response.status_code}, "
                f"a redirect to {target}. Token requests are never redirected (the form carries "
                "secrets): set the connection's Login URL to the host that serves the token endpoint.",
                error="redirected",
                status=response.status_code,
            )
        try:
            payload = response.json()
        except ValueError:
            payload = {}
        if response.ok and isinstance(payload, dict):
            return payload
        if not isinstance(payload, dict):
            payload = {}
        error = str(payload.get("error") or f"http_{response.status_code}")
        description = str(payload.get("error_description") or "")
        message = scrub(
            f"Salesforce refused the {form.get('grant_type', '')} grant at {self.token_url}: "
            f"{error}{': ' + description if description else ''} (HTTP {response.status_code}).",
            secrets,
        )
        cls = InvalidGrantError if error == "invalid_grant" else SalesforceOAuthError
        raise cls(message, error=error, status=response.status_code)
