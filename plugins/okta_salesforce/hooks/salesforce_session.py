"""HTTP plumbing for the Salesforce hook: an extra CA bundle that survives ``REQUESTS_CA_BUNDLE``,
and a session that renews an expired access token and retries the request once.

simple-salesforce raises ``SalesforceExpiredSession`` on ``401 INVALID_SESSION_ID`` and cannot
refresh a session it was given, so the renewal happens one level below it, in
:meth:`RefreshingSession.send`: every path (``query``, ``query_more`` past page one, ``restful``,
sObject calls) goes through it.
"""

from __future__ import annotations

import logging
import ssl
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar, cast

import certifi
import requests
from requests.adapters import HTTPAdapter

if TYPE_CHECKING:
    from requests import PreparedRequest, Response
    from urllib3 import PoolManager

log = logging.getLogger(__name__)

SessionT = TypeVar("SessionT", bound=requests.Session)

_BEARER = "Bearer "


def ssl_context_with(ca_bundle: str | None) -> ssl.SSLContext:
    """A verifying TLS context that trusts the usual CAs plus the PEM file ``ca_bundle``."""
    context = ssl.create_default_context(cafile=certifi.where())
    context.load_default_certs()
    if ca_bundle:
        context.load_verify_locations(cafile=ca_bundle)
    return context


class CABundleAdapter(HTTPAdapter):
    """An adapter whose TLS context also trusts an extra CA bundle.

    ``requests`` lets ``REQUESTS_CA_BUNDLE``/``CURL_CA_BUNDLE`` override a ``Session.verify`` that
    points at another file. A CA loaded into the adapter's own ``ssl_context`` stays trusted
    whatever the environment says (the environment's bundle is only added on top).
    """

    def __init__(self, ca_bundle: str, **kwargs: Any) -> None:
        self.ca_bundle = ca_bundle
        self._ssl_context = ssl_context_with(ca_bundle)
        super().__init__(**kwargs)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs["ssl_context"] = self._ssl_context
        super().init_poolmanager(*args, **kwargs)

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> PoolManager:
        proxy_kwargs["ssl_context"] = self._ssl_context
        return cast("PoolManager", super().proxy_manager_for(proxy, **proxy_kwargs))  # stubs: Any


def mount_ca_bundle(session: SessionT, ca_bundle: str | None) -> SessionT:
    """Make ``session`` trust ``ca_bundle`` for HTTPS (no-op when it is empty)."""
    if ca_bundle:
        session.mount("https://", CABundleAdapter(ca_bundle))
    return session


def is_expired_session(response: Response) -> bool:
    """Whether a response is Salesforce's ``401 INVALID_SESSION_ID`` (an expired or revoked token)."""
    if response.status_code != 401:
        return False
    try:
        body = response.json()
    except ValueError:
        return True  # a bare 401 on a bearer call means the same thing
    errors = body if isinstance(body, list) else [body]
    codes = {e.get("errorCode") for e in errors if isinstance(e, dict)}
    return not codes or "INVALID_SESSION_ID" in codes


class RefreshingSession(requests.Session):
    """A session that, on ``401 INVALID_SESSION_ID``, renews the bearer token and retries once.

    :param renew: called with the access token that was rejected; returns a current one. It must
        be safe to call from several threads (the hook serialises renewals per connection).
    :param on_renewed: called with the new token, to update the client that holds it.
    """

    def __init__(
        self,
        *,
        renew: Callable[[str], str],
        on_renewed: Callable[[str], None] | None = None,
    ) -> None:
        super().__init__()
        self._renew = renew
        self._on_renewed = on_renewed
        self._lock = threading.Lock()

    def send(self, request: PreparedRequest, **kwargs: Any) -> Response:
        response = super().send(request, **kwargs)
        sent = request.headers.get("Authorization", "")
        if not sent.startswith(_BEARER) or not is_expired_session(response):
            return response
        log.info("Salesforce access token expired; renewing it and retrying %s once.", request.method)
        token = self._renew(sent.removeprefix(_BEARER))
        if self._on_renewed is not None:
            with self._lock:
                self._on_renewed(token)
        retry = request.copy()
        retry.headers["Authorization"] = _BEARER + token
        response.close()
        return super().send(retry, **kwargs)
