"""One async GET to Okta through the okta SDK's request executor, decoded once, retried, rate-aware.

The SDK signs each request (SSWS API token, or an OAuth 2.0 service app's private-key JWT, with
DPoP when the app requires it) and waits out 429s using Okta's ``X-Rate-Limit-Reset``. Above it:
the body is decoded once (orjson; the SDK's ``fire_request`` would decode every 2xx body a second
time to decide whether to cache it, so the hook calls the executor's ``fire_request_helper``),
5xx, dropped connections and rate limits left over are retried with backoff, errors are raised
(not returned), and the ``X-Rate-Limit-*`` headers of the last answer are kept in
:attr:`OktaTransport.rate_limit`.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import random
import ssl
import time
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlsplit

import orjson

from okta_salesforce.hooks.okta_connection import OktaSettings, sdk_config
from okta_salesforce.hooks.okta_errors import (
    OktaApiError,
    OktaError,
    TransientError,
    classify_failure,
    error_summary,
    first_float,
    path_of,
    status_error,
)
from okta_salesforce.hooks.okta_logging import guard_sdk_logger
from okta_salesforce.hooks.okta_records import parse_links, same_origin_path

if TYPE_CHECKING:
    from aiohttp import ClientSession
    from okta.request_executor import RequestExecutor
    from tenacity import RetryCallState

    from okta_salesforce.sync.progress import Log


@dataclass(frozen=True)
class RateLimit:
    """The ``X-Rate-Limit-*`` headers of one Okta response.

    :param limit: requests allowed in the current window of the endpoint's bucket.
    :param remaining: requests left in the window.
    :param reset: epoch seconds when the window resets.
    """

    limit: int
    remaining: int
    reset: float

    @classmethod
    def from_headers(cls, headers: Mapping[str, list[str]]) -> RateLimit | None:
        """The rate limit of lower-cased ``headers``, or ``None`` when absent or malformed."""
        try:
            return cls(
                limit=int(_first(headers, "x-rate-limit-limit")),
                remaining=int(_first(headers, "x-rate-limit-remaining")),
                reset=float(_first(headers, "x-rate-limit-reset")),
            )
        except ValueError:
            return None

    @classmethod
    def from_response(cls, response: OktaResponse) -> RateLimit | None:
        """The rate-limit headers of ``response`` (see :meth:`from_headers`)."""
        return cls.from_headers(response.headers)

    def pause(self, reserve: float, now: float) -> float:
        """Seconds to wait so that at least ``reserve`` (a share of ``limit``) stays for other clients."""
        if self.limit <= 0 or self.remaining > self.limit * reserve:
            return 0.0
        return max(self.reset - now, 0.0)


def _first(headers: Mapping[str, list[str]], name: str) -> str:
    values = headers.get(name)
    return values[0] if values else ""


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

    @property
    def rate_limit(self) -> RateLimit | None:
        """The ``X-Rate-Limit-*`` headers of this answer."""
        return RateLimit.from_headers(self.headers)


def decode_json(text: str | bytes | None) -> Any:
    """The JSON value of a body (``None`` when empty; the text itself when it is not JSON).

    The cyclic garbage collector is paused while a page is decoded (:func:`paused_gc`): a page of
    500 users is tens of thousands of new containers, which would trigger collections that scan
    the whole heap (half the decode time at 100k users), and decoded JSON holds no cycles.
    """
    if not text:
        return None
    try:
        with paused_gc():
            return orjson.loads(text)
    except orjson.JSONDecodeError:
        return text if isinstance(text, str) else text.decode("utf-8", "replace")


@contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector for a burst of acyclic allocations (a page, its records).

    Synchronous code only (no ``await`` inside); a collector the caller had disabled stays disabled.
    """
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


class OktaTransport:
    """GETs on one Okta org, from one event loop, sharing one aiohttp session.

    :param settings: the connection.
    :param ssl_context: the TLS context of every request.
    :param conn_id: the connection id, for messages.
    :param timeout: seconds allowed for one HTTP request.
    :param max_retries: retries of a request after a 5xx, a dropped connection or a rate limit.
    :param backoff: first backoff in seconds; it doubles on each retry (capped at 30 s).
    :param concurrency: connections kept to the org (and requests in flight).
    :param log: where retries are logged.
    """

    def __init__(
        self,
        settings: OktaSettings,
        ssl_context: ssl.SSLContext,
        *,
        conn_id: str,
        timeout: float = 60.0,
        max_retries: int = 5,
        backoff: float = 0.5,
        concurrency: int = 8,
        log: Log | None = None,
    ) -> None:
        self.settings = settings
        self.ssl_context = ssl_context
        self.conn_id = conn_id
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff = backoff
        self.concurrency = concurrency
        self.log: Log = log or logging.getLogger(__name__)
        #: The ``X-Rate-Limit-*`` headers of the last answer that had them.
        self.rate_limit: RateLimit | None = None
        self._session: ClientSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    @cached_property
    def executor(self) -> RequestExecutor:
        """The SDK's request executor: signs requests (SSWS, private-key JWT, DPoP) and retries 429s.

        Built from ``okta.request_executor`` rather than ``okta.client.Client`` (whose import costs
        seconds), with the same validation.
        """
        from okta.cache.no_op_cache import NoOpCache
        from okta.config.config_validator import ConfigValidator
        from okta.request_executor import RequestExecutor

        guard_sdk_logger()
        config = sdk_config(self.settings, self.ssl_context, timeout=self.timeout)
        validate: Any = ConfigValidator  # the SDK is untyped
        build: Any = RequestExecutor
        cache: Any = NoOpCache
        try:
            validate(config)
            executor: RequestExecutor = build(config, cache())
            return executor
        except ValueError as err:
            raise OktaError(f"Connection {self.conn_id!r} rejected by the okta SDK: {err}") from err

    def _ready_executor(self) -> Any:
        """The executor (untyped), with one aiohttp session made in the running loop for all requests."""
        import aiohttp

        executor: Any = self.executor
        loop = asyncio.get_running_loop()
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(ssl=self.ssl_context, limit=max(self.concurrency, 1))
            )
            self._loop = loop
            executor.set_session(self._session)
        elif self._loop is not loop:
            raise RuntimeError(
                "An Okta hook's async methods must be awaited in one event loop; close it first"
            )
        return executor

    async def aclose(self) -> None:
        """Close the HTTP session (a later request opens a new one)."""
        if self._session is not None:
            session, self._session, self._loop = self._session, None, None
            await session.close()

    def url(self, path: str, params: Mapping[str, Any] | None = None) -> str:
        """An absolute URL on the org for ``path`` (or a same-origin absolute URL) and query ``params``."""
        relative = same_origin_path(path, self.settings.org_url)
        if relative is None:
            raise OktaError(f"Refusing to follow a link away from the Okta org: {urlsplit(path).netloc}")
        if params:
            relative += ("&" if "?" in relative else "?") + urlencode(params, doseq=True)
        return self.settings.org_url + relative

    async def apaginate(
        self, path: str, params: Mapping[str, Any] | None = None
    ) -> AsyncIterator[OktaResponse]:
        """Pages of a list call, following ``Link: rel="next"`` until there is none (or it repeats)."""
        url: str | None = self.url(path, params)
        seen: set[str] = set()
        while url and url not in seen:
            seen.add(url)
            page = await self.aget(url)
            yield page
            following = page.links.get("next")
            url = self.url(following) if following else None

    async def aget(self, url: str) -> OktaResponse:
        """GET a JSON resource, retrying 5xx, rate limits and dropped connections.

        :raises OktaNotFoundError: on 404.
        :raises OktaAuthError: on 401 (after one token renewal with private-key auth) and 403.
        :raises OktaApiError: on any other error status, or when retries run out.
        """
        from tenacity import AsyncRetrying, RetryError, retry_if_exception_type, stop_after_attempt

        retrying = AsyncRetrying(
            retry=retry_if_exception_type(TransientError),
            stop=stop_after_attempt(self.max_retries + 1),
            wait=self._wait,
            before_sleep=self._log_retry,
        )
        renewed = False  # one access-token renewal per request: a second 401 is final
        try:
            async for attempt in retrying:
                with attempt:
                    try:
                        return await self._send("GET", url, renew=not renewed)
                    except TransientError as err:
                        renewed = renewed or err.status == 401
                        raise
        except RetryError as err:
            cause = err.last_attempt.exception()
            raise OktaApiError(
                f"GET {path_of(url)} failed after {self.max_retries + 1} attempts: {cause}",
                status=getattr(cause, "status", None),
            ) from cause
        raise AssertionError("unreachable")  # pragma: no cover

    def _wait(self, state: RetryCallState) -> float:
        """Seconds before the next attempt: until the rate-limit window resets, else exponential backoff."""
        error = state.outcome.exception() if state.outcome else None
        jitter = random.uniform(0, self.backoff / 2)
        if isinstance(error, TransientError) and error.reset_at is not None:
            return min(max(error.reset_at - time.time(), 0.0), 120.0) + jitter
        return min(self.backoff * float(2 ** (state.attempt_number - 1)), 30.0) + jitter

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

    async def _send(self, method: str, url: str, *, renew: bool = True) -> OktaResponse:
        """One request through the SDK's executor, turned into a response or a raised error.

        :param renew: on a 401 with private-key auth, renew the access token and retry.
        """
        import aiohttp

        executor = self._ready_executor()
        try:
            request, error = await executor.create_request(method, url, headers={})
            if error is not None:
                raise classify_failure(error, url, "authentication")
            # Not fire_request: it decodes every 2xx body once more, only to decide about caching.
            _, response, text, error = await executor.fire_request_helper(request, 0, time.time())
        except AttributeError as err:  # how the SDK's lower layers surface a network failure
            raise TransientError(f"connection failed ({err})") from err
        except ValueError as err:  # the SDK could not sign (an unreadable private key)
            raise OktaError(f"Okta authentication failed: {err}") from err
        except (TimeoutError, aiohttp.ClientError) as err:
            raise classify_failure(err, url, "request") from err
        if response is None:
            raise classify_failure(error, url, "request")
        headers: dict[str, list[str]] = {}
        for key, value in response.headers.items():
            headers.setdefault(key.lower(), []).append(value)
        self.rate_limit = RateLimit.from_headers(headers) or self.rate_limit
        status = response.status
        body = decode_json(text)
        if status == 429:
            reset = first_float(headers.get("x-rate-limit-reset"))
            raise TransientError(f"HTTP 429 {error_summary(body)}", reset_at=reset, status=429)
        if status >= 500:
            raise TransientError(f"HTTP {status} {error_summary(body)}".rstrip(), status=status)
        oauth = getattr(executor, "_oauth", None)
        if status == 401 and oauth is not None and renew:  # access token revoked or expired early
            oauth.clear_access_token()
            raise TransientError(f"HTTP 401 {error_summary(body)} (access token renewed)", status=401)
        if status >= 400:
            raise status_error(method, url, status, body, private_key=oauth is not None)
        return OktaResponse(url=url, status=status, headers=headers, body=body)
