"""The Salesforce connection: a connected app authorized with OAuth 2.0, its tokens kept current.

``SalesforceOAuthHook(...).get_conn()`` returns a :class:`simple_salesforce.Salesforce` bound to a
current access token. The hook

* gets tokens with the connection's flow (``refresh_token``, ``jwt_bearer``, ``client_credentials``)
  and checks each response's signature;
* shares one access token between the tasks of a run and between runs through the token store
  (see :mod:`.salesforce_access`) and, when Salesforce answers ``401 INVALID_SESSION_ID`` on any
  call, renews it and retries that call once (see :mod:`.salesforce_session`);
* persists rotated refresh tokens in a :class:`~.salesforce_token_store.TokenStore` under a lock, so
  the next task, run and worker spend the newest one and two refreshes never spend the same one;
* registers every secret with Airflow's secrets masker and keeps them out of logs and errors.

See ``docs/salesforce-connection.md`` for the connected app set-up and the token lifecycle.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseHook
from airflow.sdk.log import mask_secret

from okta_salesforce.hooks.salesforce_access import (
    DEFAULT_MAX_AGE_SECONDS,
    SharedAccessToken,
    clear_token_cache,
)
from okta_salesforce.hooks.salesforce_domains import UnsafeEndpointError, parse_domains, require_https
from okta_salesforce.hooks.salesforce_locks import lock_path
from okta_salesforce.hooks.salesforce_oauth import (
    InvalidGrantError,
    SalesforceOAuthError,
    TokenEndpoint,
    TokenResponse,
    scrub,
)
from okta_salesforce.hooks.salesforce_session import RefreshingSession, mount_ca_bundle
from okta_salesforce.hooks.salesforce_token_store import (
    StoredToken,
    TokenStore,
    default_token_store,
    fingerprint,
)
from okta_salesforce.version_compat import AirflowFailException

if TYPE_CHECKING:
    import requests
    from airflow.sdk import Connection
    from simple_salesforce import Salesforce

__all__ = ["ReauthorizationRequired", "SalesforceOAuthError", "SalesforceOAuthHook", "clear_token_cache"]

DEFAULT_API_VERSION = "62.0"
AUTH_FLOWS = ("refresh_token", "jwt_bearer", "client_credentials")


class ReauthorizationRequired(SalesforceOAuthError, AirflowFailException):
    """The stored refresh token no longer works: an admin must authorize the connection again.

    An :class:`~airflow.sdk.exceptions.AirflowFailException`: retrying cannot help, so the task
    fails at once (no retries) and the failure notifiers get the message, which names the
    connection and the command that re-authorizes it.
    """


@dataclass(frozen=True)
class SalesforceConnectionSettings:
    """What the hook needs from a ``salesforce_oauth`` connection, validated."""

    conn_id: str
    login_url: str
    client_id: str
    client_secret: str | None = field(repr=False)
    auth_flow: str
    refresh_token: str | None = field(repr=False)
    username: str | None
    private_key: str | None = field(repr=False)
    api_version: str
    ca_bundle: str | None
    instance_domains: tuple[str, ...] = ()

    @classmethod
    def from_connection(cls, conn: Connection) -> SalesforceConnectionSettings:
        extra = conn.extra_dejson
        login_url = (conn.host or "").strip().rstrip("/")
        if login_url and "://" not in login_url:
            login_url = f"https://{login_url}"
        settings = cls(
            conn_id=conn.conn_id,
            login_url=login_url,
            client_id=(conn.login or "").strip(),
            client_secret=conn.password or None,
            auth_flow=(extra.get("auth_flow") or "refresh_token").strip(),
            refresh_token=extra.get("refresh_token") or None,
            username=extra.get("username") or None,
            private_key=_pem(extra.get("private_key")),
            api_version=str(extra.get("api_version") or DEFAULT_API_VERSION).lstrip("v"),
            ca_bundle=extra.get("ca_bundle") or None,
            instance_domains=_domains(conn.conn_id, extra.get("instance_domains")),
        )
        settings.validate()
        return settings

    @property
    def secrets(self) -> list[str]:
        return [s for s in (self.client_secret, self.refresh_token, self.private_key) if s]

    @property
    def cache_key(self) -> str:
        """Identifies this configuration: a re-authorized connection gets a fresh cache entry."""
        basis = "|".join(
            (self.login_url, self.client_id, self.auth_flow, self.refresh_token or "", self.username or "")
        )
        return f"{self.conn_id}:{fingerprint(basis)}"

    def validate(self) -> None:
        problems = []
        if not self.login_url:
            problems.append("Login URL (host) is empty")
        else:
            try:
                require_https(self.login_url, "Login URL (host)")
            except UnsafeEndpointError as err:
                problems.append(str(err).rstrip("."))
        if not self.client_id:
            problems.append("Consumer key (login) is empty")
        if self.auth_flow not in AUTH_FLOWS:
            problems.append(f"auth_flow {self.auth_flow!r} is not one of {', '.join(AUTH_FLOWS)}")
        elif self.auth_flow == "refresh_token" and not self.refresh_token:
            problems.append("refresh_token is empty (run `okta-salesforce authorize`)")
        elif self.auth_flow == "jwt_bearer" and not (self.username and self.private_key):
            problems.append("jwt_bearer needs username and private_key")
        elif self.auth_flow == "client_credentials" and not self.client_secret:
            problems.append("client_credentials needs the consumer secret (password)")
        if self.ca_bundle and not Path(self.ca_bundle).is_file():
            problems.append(f"ca_bundle {self.ca_bundle} is not a file")
        if problems:
            raise ValueError(f"Salesforce connection {self.conn_id!r}: " + "; ".join(problems) + ".")


class SalesforceOAuthHook(BaseHook):
    """
    Salesforce REST API through a connected app authorized with OAuth 2.0.

    :param salesforce_conn_id: a ``salesforce_oauth`` connection.
    :param token_store: where rotated refresh tokens are kept; by default the one named by
        ``$OKTA_SALESFORCE_TOKEN_STORE`` (an Airflow Variable per connection).
    :param timeout: seconds to wait for each HTTP answer.
    """

    conn_name_attr = "salesforce_conn_id"
    default_conn_name = "salesforce_oauth_default"
    conn_type = "salesforce_oauth"
    hook_name = "Salesforce (OAuth connected app)"

    #: How long to keep re-reading the token store after ``invalid_grant`` before concluding that
    #: the token is dead (another host may have spent it and not yet saved its successor).
    rotation_settle_seconds: float = 5.0
    #: Seconds an access token is reused (by this and later tasks) before a new one is fetched.
    access_token_max_age: float = DEFAULT_MAX_AGE_SECONDS

    def __init__(
        self,
        *,
        salesforce_conn_id: str = default_conn_name,
        token_store: TokenStore | None = None,
        timeout: float = 60.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.salesforce_conn_id = salesforce_conn_id
        self._token_store = token_store
        self.timeout = timeout

    # -- connection ---------------------------------------------------------------------------
    @cached_property
    def settings(self) -> SalesforceConnectionSettings:
        """The connection's fields and extras, read once and validated."""
        settings = SalesforceConnectionSettings.from_connection(self.get_connection(self.salesforce_conn_id))
        for secret in settings.secrets:
            mask_secret(secret)
        return settings

    @cached_property
    def token_store(self) -> TokenStore:
        return self._token_store or default_token_store()

    @cached_property
    def token_endpoint(self) -> TokenEndpoint:
        s = self.settings
        return TokenEndpoint(
            login_url=s.login_url,
            client_id=s.client_id,
            client_secret=s.client_secret,
            session=mount_ca_bundle(_plain_session(), s.ca_bundle),
            timeout=self.timeout,
            instance_domains=s.instance_domains,
        )

    @cached_property
    def http_session(self) -> RefreshingSession:
        """The session the client uses: trusts ``ca_bundle``, renews the token on 401."""
        session = RefreshingSession(renew=self._renew_access_token, on_renewed=self._use_access_token)
        return mount_ca_bundle(session, self.settings.ca_bundle)

    # -- client -------------------------------------------------------------------------------
    @cached_property
    def client(self) -> Salesforce:
        """A :class:`simple_salesforce.Salesforce` bound to a current token and the org's instance."""
        from simple_salesforce import Salesforce

        token = self.get_access_token()
        return Salesforce(
            session_id=token.access_token,
            instance_url=token.instance_url,
            version=self.settings.api_version,
            session=self.http_session,
            # Plain dicts from json's C decoder: the default OrderedDict hook is a Python call per
            # object (2.5 times the CPU of decoding the 2,000 users of a SOQL page).
            object_pairs_hook=None,
        )

    def get_conn(self) -> Salesforce:
        """The Salesforce client (created once per hook)."""
        return self.client

    @property
    def instance_url(self) -> str:
        return self.get_access_token().instance_url

    # -- tokens -------------------------------------------------------------------------------
    @cached_property
    def shared_access_token(self) -> SharedAccessToken:
        """This connection's access token as every task of a run shares it (process, then store)."""
        return SharedAccessToken(
            conn_id=self.salesforce_conn_id,
            cache_key=self.settings.cache_key,
            store=self.token_store,
            fetch=self._fetch_token,
            mask=mask_secret,
            max_age=self.access_token_max_age,
        )

    def get_access_token(self) -> TokenResponse:
        """A current access token: this process's, one an earlier task shared, or a new one."""
        return self.shared_access_token.current()

    def _renew_access_token(self, rejected: str) -> str:
        """A token to replace ``rejected``: one another thread or task renewed, or a new one."""
        return self.shared_access_token.renew(rejected).access_token

    def _use_access_token(self, access_token: str) -> None:
        """Point the client (when it exists) at a renewed token."""
        client = self.__dict__.get("client")
        if client is not None:
            client.session_id = access_token
            client.headers = {**client.headers, "Authorization": f"Bearer {access_token}"}

    def _fetch_token(self) -> TokenResponse:
        s = self.settings
        self.log.info("Getting a Salesforce access token (connection %s, %s flow).", s.conn_id, s.auth_flow)
        if s.auth_flow == "jwt_bearer":
            token = self.token_endpoint.jwt_bearer(s.username or "", s.private_key or "")
        elif s.auth_flow == "client_credentials":
            token = self.token_endpoint.client_credentials()
        else:
            token = self._refresh_with_rotation()
        mask_secret(token.access_token)
        return token

    def _refresh_with_rotation(self) -> TokenResponse:
        """Spend the newest refresh token and save its successor, one process at a time per host.

        Across hosts the file lock does not reach; there a refresh that loses the race gets
        ``invalid_grant`` for a token the winner already spent, re-reads the store, finds the
        winner's successor and retries with it.
        """
        from filelock import FileLock

        s = self.settings
        origin = fingerprint(s.refresh_token or "")
        with FileLock(lock_path(s.conn_id), timeout=max(self.timeout * 2, 60)):
            spent: set[str] = set()
            candidate = self._current_refresh_token(origin)
            while True:
                try:
                    token = self.token_endpoint.refresh(candidate)
                except InvalidGrantError as err:
                    spent.add(candidate)
                    successor = self._await_successor(origin, spent)
                    if successor is None:
                        raise ReauthorizationRequired(
                            f"Salesforce rejected the refresh token of connection {s.conn_id!r} "
                            f"({err.error}: it expired, was revoked, or its app approval was removed). "
                            f"Re-authorize: `okta-salesforce authorize --conn-id {s.conn_id}`, then store "
                            "the new refresh token in the connection.",
                            error=err.error,
                            status=err.status,
                        ) from None
                    self.log.info("The refresh token was rotated by another worker; using its successor.")
                    candidate = successor
                    continue
                break
            if token.refresh_token and token.refresh_token != candidate:
                mask_secret(token.refresh_token)
                self._save_refresh_token(StoredToken(refresh_token=token.refresh_token, origin=origin))
        return token

    def _current_refresh_token(self, origin: str) -> str:
        stored = self.token_store.get(self.salesforce_conn_id)
        if stored is not None and stored.origin == origin:
            mask_secret(stored.refresh_token)
            return stored.refresh_token
        return self.settings.refresh_token or ""

    def _await_successor(self, origin: str, spent: set[str]) -> str | None:
        deadline = time.monotonic() + self.rotation_settle_seconds
        while True:
            current = self._current_refresh_token(origin)
            if current not in spent:
                return current
            if time.monotonic() >= deadline:
                return None
            time.sleep(min(0.5, self.rotation_settle_seconds))

    def _save_refresh_token(self, token: StoredToken) -> None:
        try:
            self.token_store.set(self.salesforce_conn_id, token)
        except Exception as err:  # noqa: BLE001 - any store failure gets the same actionable error
            # The old token is spent: without the new one the next task cannot authenticate.
            raise SalesforceOAuthError(
                f"Salesforce rotated the refresh token of connection {self.salesforce_conn_id!r}, but "
                f"saving it to {type(self.token_store).__name__} failed ({type(err).__name__}). "
                "Fix the token store, then re-authorize the connection.",
            ) from None
        self.log.info("Saved the rotated refresh token to %s.", type(self.token_store).__name__)

    # -- UI -----------------------------------------------------------------------------------
    def test_connection(self) -> tuple[bool, str]:
        """Get a token and read the org's API limits; say what to fix when that fails."""
        from simple_salesforce.exceptions import SalesforceError

        try:
            client = self.get_conn()
            limits = client.limits()
        except ValueError as err:
            return False, str(err)
        except SalesforceOAuthError as err:
            return False, str(err)
        except SalesforceError as err:
            content = scrub(str(err.content)[:300], self.settings.secrets)
            resource = err.resource_name or "the limits call"
            return False, (
                f"Salesforce answered HTTP {err.status} to {resource}: {content}. "
                "Check the connected app's scopes (api) and the user's API Enabled permission."
            )
        except Exception as err:  # noqa: BLE001 - the UI wants a message, not a traceback
            return False, f"Could not reach Salesforce: {scrub(str(err), self.settings.secrets)[:300]}"
        daily = limits.get("DailyApiRequests", {})
        usage = ""
        if daily:
            usage = f"; {daily.get('Remaining')} of {daily.get('Max')} daily API requests left"
        return True, (
            f"Connected to {self.instance_url} with the {self.settings.auth_flow} flow, "
            f"API v{self.settings.api_version}{usage}."
        )


def _domains(conn_id: str, value: Any) -> tuple[str, ...]:
    try:
        return parse_domains(value)
    except UnsafeEndpointError as err:
        raise ValueError(f"Salesforce connection {conn_id!r}: {err}") from None


def _pem(value: str | None) -> str | None:
    """A PEM key as typed into a one-line form field (``\\n`` for newlines) made whole again."""
    if not value:
        return None
    return value.replace("\\n", "\n") if "\n" not in value else value


def _plain_session() -> requests.Session:
    import requests

    return requests.Session()
