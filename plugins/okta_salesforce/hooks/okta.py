"""Okta hook: the ``okta`` connection, async reads for triggers, and the same reads for tasks.

The okta SDK (3.x, async, aiohttp) signs every request (SSWS API token, or an OAuth 2.0 service
app's private-key JWT with DPoP when required) and waits out rate limits
(:mod:`~okta_salesforce.hooks.okta_transport`). Everything above the wire is ours: pages are
decoded once and parsed into tolerant records (:mod:`~okta_salesforce.hooks.okta_records`),
pagination follows every ``Link: rel="next"`` header, 5xx answers and dropped connections are
retried with backoff, and errors are raised, not returned.

One implementation, two faces: the ``a``-prefixed coroutines (``aiter_assignments``,
``alog_pages``, ``aget_assignments`` ...) are awaited by triggers on the triggerer's loop; the
synchronous methods of tasks run the same coroutines on the hook's own event loop. The
``X-Rate-Limit-*`` headers of the last answer are :attr:`OktaHook.rate_limit`. The SDK is imported
only when a request is made: parsing a DAG file never pays for it.
"""

from __future__ import annotations

import asyncio
import copy
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import aclosing
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseHook

from okta_salesforce.hooks.okta_assignments import AssignmentReader
from okta_salesforce.hooks.okta_connection import (
    DEFAULT_SCOPES,
    USER_AGENT,
    CopySafeSSLContext,
    OktaSettings,
    read_settings,
    sdk_config,
    ssl_context_for,
)
from okta_salesforce.hooks.okta_errors import OktaApiError, OktaAuthError, OktaError, OktaNotFoundError
from okta_salesforce.hooks.okta_log import LogPage, log_pages
from okta_salesforce.hooks.okta_logging import SDK_LOGGER, guard_sdk_logger
from okta_salesforce.hooks.okta_loop import SyncBridge, singletons
from okta_salesforce.hooks.okta_records import unassigned_from_user
from okta_salesforce.hooks.okta_response import OktaResponse, RateLimit
from okta_salesforce.hooks.okta_transport import OktaTransport

if TYPE_CHECKING:
    import ssl

    from okta.client import Client
    from okta.request_executor import RequestExecutor

    from okta_salesforce.sync.models import OktaAssignment

__all__ = [
    "DEFAULT_SCOPES",
    "USER_AGENT",
    "CopySafeSSLContext",
    "LogPage",
    "OktaApiError",
    "OktaAuthError",
    "OktaError",
    "OktaHook",
    "OktaNotFoundError",
    "OktaResponse",
    "OktaSettings",
    "RateLimit",
    "ssl_context_for",
]


class OktaHook(SyncBridge, BaseHook):
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

    # Connection ------------------------------------------------------------------
    @cached_property
    def settings(self) -> OktaSettings:
        """The connection's fields and extras, validated; secrets are registered with the masker."""
        return read_settings(self.get_connection(self.okta_conn_id), self.okta_conn_id)

    @cached_property
    def ssl_context(self) -> ssl.SSLContext:
        """The TLS context of every request (verification on, the connection's ``ca_bundle`` trusted)."""
        return ssl_context_for(self.settings.ca_bundle)

    def sdk_config(self) -> dict[str, Any]:
        """The okta SDK client configuration for this connection (contains secrets: never log it)."""
        return sdk_config(self.settings, self.ssl_context, timeout=self.timeout)

    @cached_property
    def transport(self) -> OktaTransport:
        """Signed, retried, rate-aware GETs on the org (one aiohttp session, one event loop)."""
        return OktaTransport(
            self.settings,
            self.ssl_context,
            conn_id=self.okta_conn_id,
            timeout=self.timeout,
            max_retries=self.max_retries,
            backoff=self.backoff,
            concurrency=self.concurrency,
            log=self.log,
        )

    @cached_property
    def reader(self) -> AssignmentReader:
        """The assignment and user reads over :attr:`transport`."""
        return AssignmentReader(
            self.transport, page_size=self.page_size, concurrency=self.concurrency, log=self.log
        )

    @property
    def executor(self) -> RequestExecutor:
        """The SDK's request executor (auth, 429 retries) under :attr:`transport`."""
        return self.transport.executor

    @property
    def rate_limit(self) -> RateLimit | None:
        """The ``X-Rate-Limit-*`` headers of the last answer that had them (``None`` before any)."""
        return self.transport.rate_limit if "transport" in self.__dict__ else None

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

    # Async lifecycle ---------------------------------------------------------------
    async def aprepare(self) -> None:
        """Read the connection and build the TLS context and request executor off the event loop.

        The connection read is a synchronous call to Airflow's supervisor, which must not run on the
        triggerer's loop (Airflow's ``get_async_connection`` does the same before 3.3.2); loading CA
        files and importing the SDK would block the loop too.
        """
        if "transport" not in self.__dict__:
            await asyncio.to_thread(lambda: self.transport.executor)

    async def aclose(self) -> None:
        """Close the HTTP session (on the loop that opened it)."""
        if "transport" in self.__dict__:
            await self.transport.aclose()

    async def __aenter__(self) -> OktaHook:
        await self.aprepare()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # Sync bridge (okta_loop.SyncBridge: run, close, with) ---------------------------
    def _before_run(self) -> None:
        self.transport  # noqa: B018 - Airflow's connection lookup, in the task's own thread

    def _after_close(self) -> None:
        for name in ("transport", "reader"):
            self.__dict__.pop(name, None)

    # Requests --------------------------------------------------------------------
    def url(self, path: str, params: Mapping[str, Any] | None = None) -> str:
        """An absolute URL on the org for ``path`` (or a same-origin absolute URL) and query ``params``."""
        return self.transport.url(path, params)

    async def aget(self, path: str, params: Mapping[str, Any] | None = None) -> OktaResponse:
        """GET a JSON resource, retrying 5xx, rate limits and dropped connections.

        :raises OktaNotFoundError: on 404.
        :raises OktaAuthError: on 401 and 403 (credentials refused, scope missing).
        :raises OktaApiError: on any other error status, or when retries run out.
        """
        return await self.transport.aget(self.url(path, params))

    def get(self, path: str, params: Mapping[str, Any] | None = None) -> OktaResponse:
        """:meth:`aget`, for tasks."""
        return self.run(self.aget(path, params))

    def apaginate(
        self, path: str, params: Mapping[str, Any] | None = None
    ) -> AsyncGenerator[OktaResponse, None]:
        """Pages of a list call, following ``Link: rel="next"`` until there is none (or it repeats)."""
        return self.transport.apaginate(path, params)

    def paginate(self, path: str, params: Mapping[str, Any] | None = None) -> Iterator[OktaResponse]:
        """:meth:`apaginate`, for tasks."""
        return self._iterate(singletons(self.apaginate(path, params)))

    # Assignments -----------------------------------------------------------------
    def aiter_app_user_pages(self, app_id: str) -> AsyncIterator[list[Any]]:
        """Every app user of ``app_id`` (direct and group-scoped) as raw JSON, one list per page."""
        return self.reader.app_user_pages(app_id)

    def iter_app_users(self, app_id: str) -> Iterator[dict[str, Any]]:
        """Every app user of ``app_id`` as raw JSON, streamed."""
        return self._iterate(self.aiter_app_user_pages(app_id))

    def aiter_assignment_pages(
        self, app_id: str, *, attributes: Collection[str] | None = None
    ) -> AsyncGenerator[list[OktaAssignment], None]:
        """The full snapshot of ``app_id``, one list of records per page of 500.

        :param attributes: the profile attributes to keep (the ones the sync config reads);
            ``None`` keeps whole profiles. ``login`` is always kept.
        """
        return self.reader.assignment_pages(app_id, attributes)

    async def aiter_assignments(
        self, app_id: str, *, attributes: Collection[str] | None = None
    ) -> AsyncIterator[OktaAssignment]:
        """The full snapshot, one record at a time (see :meth:`aiter_assignment_pages`)."""
        async with aclosing(self.aiter_assignment_pages(app_id, attributes=attributes)) as pages:
            async for page in pages:
                for record in page:
                    yield record

    def iter_assignments(
        self, app_id: str, *, attributes: Collection[str] | None = None
    ) -> Iterator[OktaAssignment]:
        """The full snapshot, streamed (see :meth:`aiter_assignment_pages`)."""
        return self._iterate(self.aiter_assignment_pages(app_id, attributes=attributes))

    def iter_assignment_rows(
        self, app_id: str, *, attributes: Collection[str] | None = None
    ) -> Iterator[dict[str, Any]]:
        """The full snapshot, streamed as snapshot lines (plain dicts in ``OktaAssignment.to_dict`` form).

        What ``poll_okta`` writes, without a record object per user in between.
        """
        rows = self.reader.snapshot_rows(app_id, attributes)
        # Pages are decoded here, in the task's thread, while the loop thread fetches the next one.
        for page in self._iterate(singletons(self.reader.app_user_responses(app_id))):
            yield from rows.page(page)
        rows.done()

    async def aget_assignment(self, app_id: str, user_id: str, *, login: str = "") -> OktaAssignment:
        """The current state of one user for ``app_id``: assigned, or ``assigned=False``.

        :param login: the login to report if the user itself no longer exists.
        """
        return await self.reader.assignment(app_id, user_id, login)

    def get_assignment(self, app_id: str, user_id: str, *, login: str = "") -> OktaAssignment:
        """:meth:`aget_assignment`, for tasks."""
        return self.run(self.aget_assignment(app_id, user_id, login=login))

    async def aget_assignments(
        self, app_id: str, users: Mapping[str, str] | Iterable[str]
    ) -> list[OktaAssignment]:
        """The current state of each user (by Okta id), read concurrently, in the order given.

        :param users: user ids, or a mapping of user id to the login to report for deleted users.
        """
        logins = dict(users) if isinstance(users, Mapping) else dict.fromkeys(users, "")
        return await self.reader.assignments(app_id, logins) if logins else []

    def get_assignments(self, app_id: str, users: Mapping[str, str] | Iterable[str]) -> list[OktaAssignment]:
        """:meth:`aget_assignments`, for tasks."""
        return self.run(self.aget_assignments(app_id, users))

    async def aget_assignments_for_logins(self, app_id: str, logins: Sequence[str]) -> list[OktaAssignment]:
        """Provisioning on demand: the current state of the users with these Okta logins.

        Each login costs a user lookup and an app-user read; logins are looked up concurrently,
        at most ``concurrency`` requests in flight, and returned in the order given (each once).
        A login Okta answers 404 for (a deleted user, or one that never existed) comes back as
        not assigned (``user_status`` ``DELETED``), so a managed Salesforce user that still
        matches it is deprovisioned.
        """
        unique = list(dict.fromkeys(logins))
        found = await self.reader.assignments_for_logins(app_id, unique) if unique else []
        records = []
        for login, assignment in zip(unique, found, strict=True):
            if assignment is None:
                self.log.warning("No Okta user with login %s (deleted?): planned as unassigned", login)
                assignment = unassigned_from_user(None, user_id="", login=login, user_status="DELETED")
            records.append(assignment)
        return records

    def iter_assignments_for_logins(self, app_id: str, logins: Sequence[str]) -> Iterator[OktaAssignment]:
        """:meth:`aget_assignments_for_logins`, for tasks."""
        return iter(self.run(self.aget_assignments_for_logins(app_id, logins)))

    # Users -----------------------------------------------------------------------
    async def afind_user(self, login_or_id: str) -> dict[str, Any] | None:
        """The Okta user with this id or login, or ``None``."""
        return await self.reader.user(login_or_id)

    def find_user(self, login_or_id: str) -> dict[str, Any] | None:
        """:meth:`afind_user`, for tasks."""
        return self.run(self.afind_user(login_or_id))

    async def afind_users(self, logins: Iterable[str]) -> dict[str, dict[str, Any] | None]:
        """:meth:`afind_user` for many logins, read concurrently: login → user (``None`` on 404)."""
        wanted = list(dict.fromkeys(logins))
        return dict(zip(wanted, await self.reader.users(wanted), strict=True)) if wanted else {}

    def find_users(self, logins: Iterable[str]) -> dict[str, dict[str, Any] | None]:
        """:meth:`afind_users`, for tasks."""
        return self.run(self.afind_users(logins))

    # System Log ------------------------------------------------------------------
    def alog_pages(self, url: str, *, max_pages: int = 200) -> AsyncIterator[LogPage]:
        """System Log pages from ``url`` (a polling request or a stored ``next`` link) on.

        Follows ``next`` until an empty page (caught up), a page without a link, or ``max_pages``.
        """
        return log_pages(self.transport, self.url(url), max_pages=max_pages)

    def test_connection(self) -> tuple[bool, str]:
        """Authenticate and read one System Log event (scope ``okta.logs.read``)."""
        try:
            self.get("/api/v1/logs", {"limit": 1})
        except Exception as err:  # noqa: BLE001 - the UI shows any failure; messages never hold secrets
            return False, str(err)
        finally:
            self.close()
        return True, f"Connected to {self.settings.org_url} ({self.settings.auth_mode})."
