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
import logging
import random
import ssl
import time
from collections.abc import AsyncGenerator, Mapping
from functools import cached_property
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlsplit

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
from okta_salesforce.hooks.okta_records import same_origin_path
from okta_salesforce.hooks.okta_response import OktaResponse as OktaResponse
from okta_salesforce.hooks.okta_response import RateLimit as RateLimit
from okta_salesforce.hooks.okta_response import decode_json as decode_json
from okta_salesforce.hooks.okta_response import paused_gc as paused_gc

if TYPE_CHECKING:
    from aiohttp import ClientSession
    from okta.request_executor import RequestExecutor
    from tenacity import RetryCallState

    from okta_salesforce.sync.progress import Log


def _retrieve(task: asyncio.Task[Any]) -> None:
    """Mark the outcome of a request nobody waits for any more as seen (no "never retrieved" warning)."""
    if not task.cancelled():
        task.exception()


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
    ) -> AsyncGenerator[OktaResponse, None]:
        """Pages of a list call, following ``Link: rel="next"`` until there is none (or it repeats).

        The next page is requested as soon as a page has arrived, before this one is handed on
        (the cursor is in the ``Link`` header): its round trip overlaps the caller's work on this
        page. A caller that stops early leaves that one request behind, cancelled.
        """
        url: str | None = self.url(path, params)
        seen: set[str] = set()
        ahead: asyncio.Task[OktaResponse] | None = None
        try:
            while url and url not in seen:
                seen.add(url)
                if ahead is None:
                    page = await self.aget(url)
                else:
                    page, ahead = await ahead, None
                following = page.links.get("next")
                try:
                    url = self.url(following) if following else None
                except OktaError:  # a link off the org: this page first, then the refusal
                    yield page
                    raise
                if url and url not in seen:
                    ahead = asyncio.ensure_future(self.aget(url))
                    await asyncio.sleep(0)  # let it put the request on the wire before the page is used
                yield page
        finally:
            if ahead is not None:
                ahead.cancel()
                ahead.add_done_callback(_retrieve)

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
        if status < 400:
            return OktaResponse(url=url, status=status, headers=headers, text=text or "")
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
        raise status_error(method, url, status, body, private_key=oauth is not None)
