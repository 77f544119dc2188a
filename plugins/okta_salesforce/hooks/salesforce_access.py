"""One Salesforce access token per connection, shared by the tasks of a run and by the runs that follow.

Every task of a run is its own process. Without sharing, each fetched its own access token: one
token request per Salesforce task, and with Refresh Token Rotation one rotation each. Here a
token, once obtained, is kept in this process *and* in the token store
(:class:`~.salesforce_token_store.AccessTokenStore`) with the time it was obtained; the next
task, or the next run, takes it from there.

Salesforce's token responses have no ``expires_in``: an access token lives for the org's session
timeout (15 minutes to 24 hours, measured from its last use) and an expired or revoked one shows
as ``401 INVALID_SESSION_ID``. So a shared token is reused for at most ``max_age`` seconds
(default 15 minutes, the shortest session timeout Salesforce allows), and a ``401`` renews it
once (:meth:`SharedAccessToken.renew`, called by :class:`~.salesforce_session.RefreshingSession`):
a token another process already renewed is taken from the store; otherwise a new one is fetched
and shared. Fetching happens under a per-connection file lock, so parallel tasks on one host wait
for one request instead of each making their own (and each spending a rotated refresh token).

Nothing here logs a token; tokens read from the store are registered with the secrets masker.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from okta_salesforce.hooks.salesforce_locks import lock_path
from okta_salesforce.hooks.salesforce_oauth import TokenResponse
from okta_salesforce.hooks.salesforce_token_store import (
    AccessTokenStore,
    StoredAccessToken,
    TokenStore,
    fingerprint,
)

__all__ = ["DEFAULT_MAX_AGE_SECONDS", "SharedAccessToken", "clear_token_cache"]

log = logging.getLogger(__name__)

#: Salesforce's shortest session timeout: a token younger than this is alive unless revoked.
DEFAULT_MAX_AGE_SECONDS = 15 * 60.0

# This process's tokens, per connection configuration (``cache_key``).
_TOKENS: dict[str, StoredAccessToken] = {}
_LOCKS: dict[str, threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()


class SharedAccessToken:
    """The access token of one connection configuration, shared through this process and a store.

    :param conn_id: the connection (the store's key).
    :param cache_key: identifies the connection's configuration (host, client, flow, refresh
        token): a token obtained with another configuration is never used.
    :param store: the token store; shared only when it is an :class:`AccessTokenStore`.
    :param fetch: gets a new token from Salesforce (the connection's flow, rotation included).
    :param mask: registers a secret with the secrets masker.
    :param max_age: seconds a token is reused before a new one is fetched.
    """

    def __init__(
        self,
        *,
        conn_id: str,
        cache_key: str,
        store: TokenStore,
        fetch: Callable[[], TokenResponse],
        mask: Callable[[str], None],
        max_age: float = DEFAULT_MAX_AGE_SECONDS,
    ) -> None:
        self.conn_id = conn_id
        self.cache_key = cache_key
        self.origin = fingerprint(cache_key)
        self.store = store
        self._fetch = fetch
        self._mask = mask
        self.max_age = max_age

    def current(self) -> TokenResponse:
        """A token young enough to use: this process's, the store's, or a new one."""
        return self._get(rejected=None)

    def renew(self, rejected: str) -> TokenResponse:
        """A token other than ``rejected`` (Salesforce answered 401 to it): another task's, or a new one."""
        return self._get(rejected=rejected)

    # -- internals ----------------------------------------------------------------------------
    def _get(self, rejected: str | None) -> TokenResponse:
        with _lock_for(self.cache_key):
            token = self._usable(_TOKENS.get(self.cache_key), rejected)
            if token is None:
                token = self._shared_or_new(rejected)
                _TOKENS[self.cache_key] = token
        return _response(token)

    def _usable(self, token: StoredAccessToken | None, rejected: str | None) -> StoredAccessToken | None:
        if token is None or token.origin != self.origin or token.access_token == rejected:
            return None
        age = time.time() - token.obtained_at
        return token if 0 <= age < self.max_age else None

    def _shared_or_new(self, rejected: str | None) -> StoredAccessToken:
        if not isinstance(self.store, AccessTokenStore):
            return self._new()
        from filelock import FileLock

        shared = self._from_store(rejected)
        if shared is not None:
            return shared
        # Another task on this host may be fetching right now: wait for it, then look again.
        with FileLock(lock_path(self.conn_id, "access"), timeout=120):
            shared = self._from_store(rejected)
            if shared is not None:
                return shared
            token = self._new()
            self._share(token)
        return token

    def _from_store(self, rejected: str | None) -> StoredAccessToken | None:
        assert isinstance(self.store, AccessTokenStore)
        try:
            stored = self.store.get_access(self.conn_id)
        except Exception as err:  # noqa: BLE001 - sharing is an optimisation: fall back to a new token
            log.warning("Could not read the shared Salesforce access token (%s).", type(err).__name__)
            return None
        token = self._usable(stored, rejected)
        if token is not None:
            self._mask(token.access_token)
            log.info(
                "Using the Salesforce access token an earlier task shared (connection %s).", self.conn_id
            )
        return token

    def _share(self, token: StoredAccessToken) -> None:
        assert isinstance(self.store, AccessTokenStore)
        try:
            self.store.set_access(self.conn_id, token)
        except Exception as err:  # noqa: BLE001 - the next task then fetches its own token
            log.warning(
                "Could not share the Salesforce access token through %s (%s); the next task gets its own.",
                type(self.store).__name__,
                type(err).__name__,
            )

    def _new(self) -> StoredAccessToken:
        fetched = self._fetch()
        return StoredAccessToken(
            access_token=fetched.access_token,
            instance_url=fetched.instance_url,
            origin=self.origin,
            obtained_at=time.time(),
            id=fetched.id,
            issued_at=fetched.issued_at,
        )


def _response(token: StoredAccessToken) -> TokenResponse:
    return TokenResponse(
        access_token=token.access_token,
        instance_url=token.instance_url,
        id=token.id,
        issued_at=token.issued_at,
    )


def _lock_for(key: str) -> threading.Lock:
    with _LOCKS_GUARD:
        return _LOCKS.setdefault(key, threading.Lock())


def clear_token_cache() -> None:
    """Forget this process's access tokens (the store's shared token stays; tests, benchmarks)."""
    with _LOCKS_GUARD:
        _TOKENS.clear()
