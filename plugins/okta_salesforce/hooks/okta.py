"""Okta hook: the ``okta`` connection, authentication through the okta SDK, robust JSON reads.

The okta SDK (3.x, async, aiohttp) signs every request: SSWS API token or an OAuth 2.0 service
app with a private-key JWT (and DPoP when the app requires it), and retries rate-limited calls.
Everything above the wire is ours: the JSON is parsed into tolerant records
(:mod:`okta_salesforce.hooks.okta_records`), pagination follows every ``Link: rel="next"``
header, 5xx answers and dropped connections are retried with backoff, and errors are raised,
not returned. The SDK is imported only when a request is made: parsing a DAG file never pays
for it.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import random
import ssl
import time
from collections.abc import Coroutine, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote, urlencode, urlsplit

from airflow.sdk import BaseHook
from airflow.sdk.exceptions import AirflowException

from okta_salesforce.hooks.okta_logging import SDK_LOGGER, guard_sdk_logger
from okta_salesforce.hooks.okta_records import (
    assignment_from_app_user,
    parse_links,
    same_origin_path,
    unassigned_from_user,
)

if TYPE_CHECKING:
    from aiohttp import ClientSession
    from okta.client import Client
    from okta.request_executor import RequestExecutor
    from tenacity import RetryCallState

    from okta_salesforce.sync.models import OktaAssignment

log = logging.getLogger(__name__)

DEFAULT_SCOPES = ("okta.apps.read", "okta.logs.read", "okta.users.read")
USER_AGENT = "airflow-provider-okta-salesforce"
T = TypeVar("T")


class OktaError(AirflowException):
    """A call to Okta failed for good (after retries, or with an answer that retrying cannot fix)."""


class OktaApiError(OktaError):
    """Okta answered with an error status.

    :param status: the HTTP status.
    :param error_code: Okta's ``errorCode`` (``E0000007`` ...), when the body had one.
    """

    def __init__(self, message: str, *, status: int | None = None, error_code: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.error_code = error_code


class OktaNotFoundError(OktaApiError):
    """HTTP 404: the app, user or assignment does not exist."""


class _TransientError(Exception):
    """A failure worth retrying: 5xx, a dropped connection, a timeout, a rate limit."""

    def __init__(self, message: str, *, reset_at: float | None = None) -> None:
        super().__init__(message)
        self.reset_at = reset_at


@dataclass(frozen=True)
class OktaResponse:
    """One successful answer: status, headers (by lower-cased name, every value kept) and JSON body."""

    url: str
    status: int
    headers: dict[str, list[str]] = field(repr=False)
    body: Any = field(repr=False)

    def header(self, name: str) -> str | None:
        """The first value of header ``name``, looked up case-insensitively."""
        values = self.headers.get(name.lower())
        return values[0] if values else None

    @property
    def links(self) -> dict[str, str]:
        """``rel`` to URL, over every ``Link`` header."""
        return parse_links(self.headers.get("link", []))


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


class OktaHook(BaseHook):
    """Read an Okta org: app assignments, users and the System Log.

    :param okta_conn_id: the ``okta`` connection (host = org URL; password = API token, or a
        service app in the extras).
    :param timeout: seconds allowed for one HTTP request.
    :param max_retries: retries of a request after a 5xx, a dropped connection or a rate limit.
    :param backoff: first backoff in seconds; it doubles on each retry (capped at 30 s).
    :param page_size: ``limit`` of list calls (Okta allows up to 500 for app users).
    :param concurrency: requests in flight when reading many single users.
    """

    conn_name_attr = "okta_conn_id"
    default_conn_name = "okta_default"
    conn_type = "okta"
    hook_name = "Okta"

    def __init__(
        self,
        *,
        okta_conn_id: str = default_conn_name,
        timeout: float = 60.0,
        max_retries: int = 5,
        backoff: float = 0.5,
        page_size: int = 500,
        concurrency: int = 8,
    ) -> None:
        super().__init__()
        self.okta_conn_id = okta_conn_id
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff = backoff
        self.page_size = page_size
        self.concurrency = concurrency
        self._session: ClientSession | None = None

    # Connection ------------------------------------------------------------------
    @cached_property
    def settings(self) -> OktaSettings:
        """The connection's fields and extras, validated; secrets are registered with the masker."""
        from airflow.sdk.log import mask_secret

        conn = self.get_connection(self.okta_conn_id)
        extra = conn.extra_dejson
        if not conn.host:
            raise OktaError(f"Connection {self.okta_conn_id!r} has no host (the Okta org URL).")
        host = conn.host.rstrip("/")
        org_url = host if "://" in host else f"https://{host}"
        if conn.port and not urlsplit(org_url).port:
            org_url = f"{org_url}:{conn.port}"
        org = urlsplit(org_url)
        if org.scheme.lower() != "https" or not org.hostname or org.username or org.password:
            raise OktaError(
                f"Connection {self.okta_conn_id!r}: the Okta org URL must be https://<org host> "
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
            raise OktaError(f"Connection {self.okta_conn_id!r}: auth_mode api_token needs the API token.")
        if auth_mode == "private_key" and not (settings.client_id and settings.private_key):
            raise OktaError(
                f"Connection {self.okta_conn_id!r}: auth_mode private_key needs client_id and private_key."
            )
        if auth_mode not in ("api_token", "private_key"):
            raise OktaError(f"Connection {self.okta_conn_id!r}: unknown auth_mode {auth_mode!r}.")
        return settings

    @cached_property
    def ssl_context(self) -> ssl.SSLContext:
        """The TLS context of every request (verification on, the connection's ``ca_bundle`` trusted)."""
        return ssl_context_for(self.settings.ca_bundle)

    def sdk_config(self) -> dict[str, Any]:
        """The okta SDK client configuration for this connection (contains secrets: never log it)."""
        s = self.settings
        client: dict[str, Any] = {
            "orgUrl": s.org_url,
            "userAgent": USER_AGENT,
            "requestTimeout": self.timeout,
            "rateLimit": {"maxRetries": 2},
            "cache": {"enabled": False, "defaultTtl": 300, "defaultTti": 300},
            "logging": {"enabled": False, "logLevel": logging.INFO},
            "sslContext": self.ssl_context,
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

    @cached_property
    def _runner(self) -> asyncio.Runner:
        return asyncio.Runner()

    @cached_property
    def executor(self) -> RequestExecutor:
        """The SDK's request executor: signs requests (SSWS, private-key JWT, DPoP) and retries 429s.

        Built from ``okta.request_executor`` rather than ``okta.client.Client`` (whose import costs
        seconds), with the same validation; one aiohttp session is shared by all requests.
        """
        from okta.cache.no_op_cache import NoOpCache
        from okta.config.config_validator import ConfigValidator
        from okta.request_executor import RequestExecutor

        guard_sdk_logger()
        config = self.sdk_config()
        try:
            ConfigValidator(config)
            return RequestExecutor(config, NoOpCache())
        except ValueError as err:
            raise OktaError(f"Connection {self.okta_conn_id!r} rejected by the okta SDK: {err}") from err

    @cached_property
    def client(self) -> Client:
        """The okta SDK's full ``Client`` for this connection, for typed API calls we do not wrap.

        Its typed models are strict; the readers of this hook do not use them.
        """
        from okta.client import Client

        guard_sdk_logger()
        sdk_client = Client(copy.copy(self.sdk_config()["client"]))
        logging.getLogger(SDK_LOGGER).setLevel(logging.INFO)  # Client() resets the level
        return sdk_client

    def get_conn(self) -> Client:
        """The okta SDK ``Client`` (see :attr:`client`)."""
        return self.client

    def _ready_executor(self) -> RequestExecutor:
        """The executor, with one aiohttp session (made inside the hook's loop) for all requests."""
        import aiohttp

        executor = self.executor
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(ssl=self.ssl_context, limit=max(self.concurrency, 1))
            )
            executor.set_session(self._session)
        return executor

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        return self._runner.run(coro)

    def close(self) -> None:
        """Close the HTTP session and the hook's event loop."""
        if "_runner" not in self.__dict__:
            return
        if self._session is not None:
            self._runner.run(self._session.close())
            self._session = None
        self._runner.close()
        for name in ("_runner", "executor"):
            self.__dict__.pop(name, None)

    def __enter__(self) -> OktaHook:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # Requests --------------------------------------------------------------------
    def url(self, path: str, params: Mapping[str, Any] | None = None) -> str:
        """An absolute URL on the org for ``path`` (or a same-origin absolute URL) and query ``params``."""
        relative = same_origin_path(path, self.settings.org_url)
        if relative is None:
            raise OktaError(f"Refusing to follow a link away from the Okta org: {urlsplit(path).netloc}")
        if params:
            relative += ("&" if "?" in relative else "?") + urlencode(params, doseq=True)
        return self.settings.org_url + relative

    def get(self, path: str, params: Mapping[str, Any] | None = None) -> OktaResponse:
        """GET a JSON resource, retrying 5xx, rate limits and dropped connections.

        :raises OktaNotFoundError: on 404.
        :raises OktaApiError: on any other error status, or when retries run out.
        """
        return self._run(self._aget(self.url(path, params)))

    async def _aget(self, url: str) -> OktaResponse:
        from tenacity import AsyncRetrying, RetryError, retry_if_exception_type, stop_after_attempt

        retrying = AsyncRetrying(
            retry=retry_if_exception_type(_TransientError),
            stop=stop_after_attempt(self.max_retries + 1),
            wait=self._wait,
            before_sleep=self._log_retry,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    return await self._send("GET", url)
        except RetryError as err:
            cause = err.last_attempt.exception()
            raise OktaApiError(
                f"GET {_path_of(url)} failed after {self.max_retries + 1} attempts: {cause}"
            ) from cause
        raise AssertionError("unreachable")  # pragma: no cover

    def _wait(self, state: RetryCallState) -> float:
        """Seconds before the next attempt: until the rate-limit window resets, else exponential backoff."""
        error = state.outcome.exception() if state.outcome else None
        jitter = random.uniform(0, self.backoff / 2)
        if isinstance(error, _TransientError) and error.reset_at is not None:
            return min(max(error.reset_at - time.time(), 0.0), 120.0) + jitter
        return min(self.backoff * 2.0 ** (state.attempt_number - 1), 30.0) + jitter

    def _log_retry(self, state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        delay = state.next_action.sleep if state.next_action else 0.0
        self.log.warning(
            "Okta request failed (%s); retry %d/%d in %.1f s",
            error,
            state.attempt_number,
            self.max_retries,
            delay,
        )

    async def _send(self, method: str, url: str) -> OktaResponse:
        """One request through the SDK's executor, turned into a response or a raised error."""
        import aiohttp

        executor = self._ready_executor()
        try:
            request, error = await executor.create_request(method, url, headers={})
            if error is not None:
                raise _classify_failure(error, url, "authentication")
            _, response, text, error = await executor.fire_request(request)
        except AttributeError as err:  # how the SDK's lower layers surface a network failure
            raise _TransientError(f"connection failed ({err})") from err
        except ValueError as err:  # the SDK could not sign (an unreadable private key)
            raise OktaError(f"Okta authentication failed: {err}") from err
        except (TimeoutError, aiohttp.ClientError) as err:
            raise _classify_failure(err, url, "request") from err
        if response is None:
            raise _classify_failure(error, url, "request")
        headers: dict[str, list[str]] = {}
        for key, value in response.headers.items():
            headers.setdefault(key.lower(), []).append(value)
        status = response.status
        body = _json_or_text(text)
        if status == 429:
            reset = _first_float(headers.get("x-rate-limit-reset"))
            raise _TransientError(f"HTTP 429 {_error_summary(body)}", reset_at=reset)
        if status >= 500:
            raise _TransientError(f"HTTP {status} {_error_summary(body)}".rstrip())
        oauth = getattr(executor, "_oauth", None)
        if status == 401 and oauth is not None:  # access token revoked or expired early: get a new one
            oauth.clear_access_token()
            raise _TransientError(f"HTTP 401 {_error_summary(body)} (access token renewed)")
        if status == 404:
            raise OktaNotFoundError(
                f"{method} {_path_of(url)}: HTTP 404 {_error_summary(body)}",
                status=status,
                error_code=_error_code(body),
            )
        if status >= 400:
            raise OktaApiError(
                f"{method} {_path_of(url)}: HTTP {status} {_error_summary(body)}",
                status=status,
                error_code=_error_code(body),
            )
        return OktaResponse(url=url, status=status, headers=headers, body=body)

    def paginate(self, path: str, params: Mapping[str, Any] | None = None) -> Iterator[OktaResponse]:
        """Pages of a list call, following ``Link: rel="next"`` until there is none (or it repeats)."""
        url: str | None = self.url(path, params)
        seen: set[str] = set()
        while url and url not in seen:
            seen.add(url)
            page = self.get(url)
            yield page
            following = page.links.get("next")
            url = self.url(following) if following else None

    # Readers ---------------------------------------------------------------------
    def iter_app_users(self, app_id: str) -> Iterator[object]:
        """Every app user of ``app_id`` (direct and group-scoped), as raw JSON, page by page."""
        path = f"/api/v1/apps/{quote(app_id, safe='')}/users"
        for page in self.paginate(path, {"limit": self.page_size, "expand": "user"}):
            if not isinstance(page.body, list):
                raise OktaApiError(f"GET {path}: expected a JSON array, got {type(page.body).__name__}")
            yield from page.body

    def iter_assignments(self, app_id: str) -> Iterator[OktaAssignment]:
        """The full snapshot: one normalized record per user assigned to ``app_id``, streamed.

        Unknown statuses and extra fields are kept or ignored, never fatal; an object without an
        id is skipped with a warning; a user seen twice (a page re-read) is yielded once.
        """
        seen: set[str] = set()
        skipped = 0
        for item in self.iter_app_users(app_id):
            record = assignment_from_app_user(item) if isinstance(item, dict) else None
            if record is None:
                skipped += 1
                continue
            if record.okta_user_id in seen:
                continue
            seen.add(record.okta_user_id)
            yield record
        if skipped:
            self.log.warning("Skipped %d app user objects without an id", skipped)
        self.log.info("Read %d assignments of app %s", len(seen), app_id)

    def get_assignment(self, app_id: str, user_id: str, *, login: str = "") -> OktaAssignment:
        """The current state of one user for ``app_id``: assigned, or ``assigned=False``.

        :param login: the login to report if the user itself no longer exists.
        """
        return self._run(self._aget_assignment(app_id, user_id, login))

    def get_assignments(self, app_id: str, users: Mapping[str, str] | Iterable[str]) -> list[OktaAssignment]:
        """The current state of each user (by Okta id), read concurrently, in the order given.

        :param users: user ids, or a mapping of user id to the login to report for deleted users.
        """
        logins = dict(users) if isinstance(users, Mapping) else dict.fromkeys(users, "")
        return self._run(self._gather(app_id, logins)) if logins else []

    def iter_assignments_for_logins(self, app_id: str, logins: Sequence[str]) -> Iterator[OktaAssignment]:
        """Provisioning on demand: the current state of the users with these Okta logins.

        Each login costs a user lookup and an app-user read; logins are looked up concurrently,
        at most ``concurrency`` requests in flight, and yielded in the order given. A login Okta
        answers 404 for (a deleted user, or one that never existed) is yielded as not assigned
        (``user_status`` ``DELETED``), so a managed Salesforce user that still matches it is
        deprovisioned.
        """
        unique = list(dict.fromkeys(logins))
        if not unique:
            return
        found = self._run(self._gather_logins(app_id, unique))
        for login, assignment in zip(unique, found, strict=True):
            if assignment is None:
                self.log.warning("No Okta user with login %s (deleted?): planned as unassigned", login)
                yield unassigned_from_user(None, user_id="", login=login, user_status="DELETED")
                continue
            yield assignment

    async def _gather_logins(self, app_id: str, logins: list[str]) -> list[OktaAssignment | None]:
        limit = asyncio.Semaphore(max(self.concurrency, 1))

        async def one(login: str) -> OktaAssignment | None:
            async with limit:
                user = await self._aget_user(login, safe="@")
                if user is None:
                    return None
                return await self._aget_assignment(app_id, str(user.get("id", "")), login)

        return list(await asyncio.gather(*(one(login) for login in logins)))

    def find_user(self, login_or_id: str) -> dict[str, Any] | None:
        """The Okta user with this id or login, or ``None``."""
        try:
            body = self.get(f"/api/v1/users/{quote(login_or_id, safe='@')}").body
        except OktaNotFoundError:
            return None
        return body if isinstance(body, dict) else None

    def find_users(self, logins: Iterable[str]) -> dict[str, dict[str, Any] | None]:
        """:meth:`find_user` for many logins, read concurrently: login → user (``None`` on 404)."""
        wanted = list(dict.fromkeys(logins))
        return dict(zip(wanted, self._run(self._find_all(wanted)), strict=True)) if wanted else {}

    async def _find_all(self, logins: list[str]) -> list[dict[str, Any] | None]:
        limit = asyncio.Semaphore(max(self.concurrency, 1))

        async def one(login: str) -> dict[str, Any] | None:
            async with limit:
                try:
                    body = (await self._aget(self.url(f"/api/v1/users/{quote(login, safe='@')}"))).body
                except OktaNotFoundError:
                    return None
                return body if isinstance(body, dict) else None

        return list(await asyncio.gather(*(one(login) for login in logins)))

    async def _gather(self, app_id: str, logins: dict[str, str]) -> list[OktaAssignment]:
        limit = asyncio.Semaphore(max(self.concurrency, 1))

        async def one(user_id: str) -> OktaAssignment:
            async with limit:
                return await self._aget_assignment(app_id, user_id, logins[user_id])

        return list(await asyncio.gather(*(one(u) for u in logins)))

    async def _aget_assignment(self, app_id: str, user_id: str, login: str) -> OktaAssignment:
        app, user = quote(app_id, safe=""), quote(user_id, safe="")
        try:
            url = self.url(f"/api/v1/apps/{app}/users/{user}", {"expand": "user"})
            app_user = (await self._aget(url)).body
        except OktaNotFoundError:
            app_user = None
        if isinstance(app_user, dict):
            if not isinstance(app_user.get("_embedded"), dict):  # no expand support: read the user
                app_user = {**app_user, "_embedded": {"user": await self._aget_user(user_id) or {}}}
            record = assignment_from_app_user(app_user)
            if record is not None:
                return record
        found = await self._aget_user(user_id)
        return unassigned_from_user(found, user_id=user_id, login=login, user_status="DELETED")

    async def _aget_user(self, user_id: str, *, safe: str = "") -> dict[str, Any] | None:
        try:
            body = (await self._aget(self.url(f"/api/v1/users/{quote(user_id, safe=safe)}"))).body
        except OktaNotFoundError:
            return None
        return body if isinstance(body, dict) else None

    def test_connection(self) -> tuple[bool, str]:
        """Authenticate and read one System Log event (scope ``okta.logs.read``)."""
        try:
            self.get("/api/v1/logs", {"limit": 1})
        except Exception as err:  # noqa: BLE001 - the UI shows any failure; messages never hold secrets
            return False, str(err)
        finally:
            self.close()
        return True, f"Connected to {self.settings.org_url} ({self.settings.auth_mode})."


def _classify_failure(error: BaseException | None, url: str, stage: str) -> Exception:
    """Turn an error the SDK returned into a retryable or a final exception."""
    import aiohttp

    if isinstance(error, (aiohttp.ClientConnectorCertificateError, ssl.SSLCertVerificationError)):
        return OktaError(
            f"TLS verification failed for {urlsplit(url).netloc}: trust its CA with the connection's "
            f"ca_bundle ({error})"
        )
    if isinstance(error, (aiohttp.ClientError, TimeoutError, ConnectionError)):
        return _TransientError(f"connection failed ({type(error).__name__}: {error})".replace("()", ""))
    status = getattr(error, "status", None)
    if isinstance(status, int) and (status >= 500 or status == 429):
        return _TransientError(f"{stage} failed: {error}")
    return OktaApiError(f"Okta {stage} failed for {_path_of(url)}: {error}", status=status)


def _path_of(url: str) -> str:
    return urlsplit(url).path


def _first_float(values: list[str] | None) -> float | None:
    for value in values or ():
        try:
            return float(value)
        except ValueError:
            continue
    return None


def _json_or_text(text: str | None) -> Any:
    import json

    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def _error_code(body: Any) -> str:
    return str(body.get("errorCode") or body.get("error") or "") if isinstance(body, dict) else ""


def _error_summary(body: Any) -> str:
    """Okta's ``errorCode: errorSummary`` (or OAuth's ``error: error_description``) from an error body."""
    if not isinstance(body, dict):
        return ""
    code = _error_code(body)
    summary = body.get("errorSummary") or body.get("error_description") or ""
    return f"{code}: {summary}".strip(": ")
