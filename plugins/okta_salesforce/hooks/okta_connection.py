"""The ``okta`` connection: its fields and extras read once, TLS trust, and the okta SDK's configuration."""

from __future__ import annotations

import logging
import ssl
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from okta_salesforce.hooks.okta_errors import OktaError

if TYPE_CHECKING:
    from airflow.sdk import Connection

DEFAULT_SCOPES = ("okta.apps.read", "okta.logs.read", "okta.users.read")
USER_AGENT = "airflow-provider-okta-salesforce"
AUTH_MODES = ("api_token", "private_key")


@dataclass(frozen=True)
class OktaSettings:
    """The connection, read once: org URL, credentials and TLS trust."""

    org_url: str
    auth_mode: str
    api_token: str | None = field(default=None, repr=False)
    client_id: str | None = None
    private_key: str | None = field(default=None, repr=False)
    key_id: str | None = None
    scopes: tuple[str, ...] = DEFAULT_SCOPES
    ca_bundle: str | None = None
    dpop: bool = False


def read_settings(conn: Connection, conn_id: str) -> OktaSettings:
    """The connection's fields and extras, validated; secrets are registered with the masker.

    :raises OktaError: naming the connection and what is wrong (never a secret's value).
    """
    from airflow.sdk.log import mask_secret

    extra: dict[str, Any] = conn.extra_dejson
    if not conn.host:
        raise OktaError(f"Connection {conn_id!r} has no host (the Okta org URL).")
    host = conn.host.rstrip("/")
    org_url = host if "://" in host else f"https://{host}"
    if conn.port and not urlsplit(org_url).port:
        org_url = f"{org_url}:{conn.port}"
    org = urlsplit(org_url)
    if org.scheme.lower() != "https" or not org.hostname or org.username or org.password:
        raise OktaError(
            f"Connection {conn_id!r}: the Okta org URL must be https://<org host> "
            f"(got {org.scheme}://{org.hostname}); the API token is never sent over plain HTTP."
        )
    auth_mode = str(extra.get("auth_mode") or "api_token")
    scopes = extra.get("scopes") or DEFAULT_SCOPES
    if isinstance(scopes, str):
        scopes = scopes.replace(",", " ").split()
    private_key = extra.get("private_key") or None
    if private_key and "\\n" in private_key and "\n" not in private_key:
        private_key = private_key.replace("\\n", "\n")  # a PEM pasted as one line
    settings = OktaSettings(
        org_url=org_url,
        auth_mode=auth_mode,
        api_token=conn.password or None,
        client_id=extra.get("client_id") or None,
        private_key=private_key,
        key_id=extra.get("key_id") or None,
        scopes=tuple(scopes),
        ca_bundle=extra.get("ca_bundle") or None,
        dpop=str(extra.get("dpop", "")).lower() in ("true", "1", "yes"),
    )
    for secret in (settings.api_token, settings.private_key):
        if secret:
            mask_secret(secret)
    if auth_mode == "api_token" and not settings.api_token:
        raise OktaError(f"Connection {conn_id!r}: auth_mode api_token needs the API token.")
    if auth_mode == "private_key" and not (settings.client_id and settings.private_key):
        raise OktaError(f"Connection {conn_id!r}: auth_mode private_key needs client_id and private_key.")
    if auth_mode not in AUTH_MODES:
        raise OktaError(f"Connection {conn_id!r}: unknown auth_mode {auth_mode!r}.")
    return settings


class CopySafeSSLContext(ssl.SSLContext):
    """An ``SSLContext`` that ``copy.deepcopy`` returns as itself.

    The okta SDK deep-copies its configuration; a plain ``SSLContext`` cannot be copied
    (``TypeError: cannot pickle 'SSLContext' object``) and would be lost with the trust it holds.
    """

    def __deepcopy__(self, memo: dict[int, Any]) -> CopySafeSSLContext:
        return self

    def __copy__(self) -> CopySafeSSLContext:
        return self


def ssl_context_for(ca_bundle: str | None) -> CopySafeSSLContext:
    """A verifying TLS context trusting certifi's and the system's CAs, plus ``ca_bundle``.

    :param ca_bundle: path to a PEM file of extra CAs (or the PEM text itself). The environment's
        ``SSL_CERT_FILE`` is honoured too; ``REQUESTS_CA_BUNDLE`` cannot displace this file.
    """
    import certifi

    context = CopySafeSSLContext(ssl.PROTOCOL_TLS_CLIENT)  # hostname check and CERT_REQUIRED
    context.load_verify_locations(cafile=certifi.where())
    context.load_default_certs()
    if ca_bundle and "-----BEGIN" in ca_bundle:
        context.load_verify_locations(cadata=ca_bundle)
    elif ca_bundle:
        context.load_verify_locations(cafile=ca_bundle)
    return context


def sdk_config(settings: OktaSettings, ssl_context: ssl.SSLContext, *, timeout: float) -> dict[str, Any]:
    """The okta SDK client configuration for this connection (contains secrets: never log it)."""
    s = settings
    client: dict[str, Any] = {
        "orgUrl": s.org_url,
        "userAgent": USER_AGENT,
        "requestTimeout": timeout,
        "rateLimit": {"maxRetries": 2},
        "cache": {"enabled": False, "defaultTtl": 300, "defaultTti": 300},
        "logging": {"enabled": False, "logLevel": logging.INFO},
        "sslContext": ssl_context,
        "raiseException": False,
    }
    if s.auth_mode == "private_key":
        client |= {
            "authorizationMode": "PrivateKey",
            "clientId": s.client_id,
            "privateKey": s.private_key,
            "scopes": list(s.scopes),
            "oauthTokenRenewalOffset": 5,
            "dpopEnabled": s.dpop,
        }
        if s.key_id:
            client["kid"] = s.key_id
    else:
        client |= {"authorizationMode": "SSWS", "token": s.api_token}
    return {"client": client, "testing": {"testingDisableHttpsCheck": False}}
