"""Async reads of who holds an Okta app: the full snapshot page by page, and single users' state.

Everything here awaits :class:`~okta_salesforce.hooks.okta_transport.OktaTransport`; the hook's
synchronous methods drive the same coroutines on its own event loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Collection, Mapping
from contextlib import aclosing
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from okta_salesforce.hooks.okta_errors import OktaApiError, OktaNotFoundError
from okta_salesforce.hooks.okta_records import assignment_from_app_user, assignment_row, unassigned_from_user
from okta_salesforce.hooks.okta_response import paused_gc

if TYPE_CHECKING:
    from okta_salesforce.hooks.okta_response import OktaResponse
    from okta_salesforce.hooks.okta_transport import OktaTransport
    from okta_salesforce.sync.models import OktaAssignment
    from okta_salesforce.sync.progress import Log


class AssignmentReader:
    """Reads app assignments and users through one transport.

    :param api: the transport.
    :param page_size: ``limit`` of the app users list (Okta allows up to 500).
    :param concurrency: requests in flight when reading many single users.
    :param log: where counts are logged.
    """

    def __init__(self, api: OktaTransport, *, page_size: int = 500, concurrency: int = 8, log: Log) -> None:
        self.api = api
        self.page_size = page_size
        self.concurrency = concurrency
        self.log = log

    def app_users_path(self, app_id: str) -> str:
        return f"/api/v1/apps/{quote(app_id, safe='')}/users"

    def app_user_responses(self, app_id: str) -> AsyncGenerator[OktaResponse, None]:
        """Every page of app users of ``app_id`` (direct and group-scoped), bodies not decoded yet.

        Each next page is already requested when a page is handed on (see ``apaginate``); the sync
        path decodes in the task's thread meanwhile (:meth:`SnapshotRows.page`).
        """
        params = {"limit": self.page_size, "expand": "user"}
        return self.api.apaginate(self.app_users_path(app_id), params)

    async def app_user_pages(self, app_id: str) -> AsyncGenerator[list[Any], None]:
        """Every app user of ``app_id``, as raw JSON, one list per page."""
        async with aclosing(self.app_user_responses(app_id)) as pages:  # early exit: no request left behind
            async for page in pages:
                yield page_items(page, self.app_users_path(app_id))

    def snapshot_rows(self, app_id: str, attributes: Collection[str] | None = None) -> SnapshotRows:
        """What turns :meth:`app_user_responses` into the snapshot's lines (see :class:`SnapshotRows`)."""
        return SnapshotRows(app_id, self.app_users_path(app_id), attributes, self.log)

    async def assignment_row_pages(
        self, app_id: str, attributes: Collection[str] | None = None
    ) -> AsyncGenerator[list[dict[str, Any]], None]:
        """The full snapshot, one list of snapshot lines per page (see :class:`SnapshotRows`)."""
        rows = self.snapshot_rows(app_id, attributes)
        async with aclosing(self.app_user_responses(app_id)) as pages:
            async for page in pages:
                yield rows.page(page)
        rows.done()

    async def assignment_pages(
        self, app_id: str, attributes: Collection[str] | None = None
    ) -> AsyncGenerator[list[OktaAssignment], None]:
        """:meth:`assignment_row_pages` as records."""
        from okta_salesforce.sync.models import OktaAssignment

        async with aclosing(self.assignment_row_pages(app_id, attributes)) as pages:
            async for rows in pages:
                with paused_gc():
                    records = [OktaAssignment.from_dict(row) for row in rows]
                yield records

    async def assignment(self, app_id: str, user_id: str, login: str = "") -> OktaAssignment:
        """The current state of one user for ``app_id``: assigned, or ``assigned=False``."""
        app, user = quote(app_id, safe=""), quote(user_id, safe="")
        try:
            url = self.api.url(f"/api/v1/apps/{app}/users/{user}", {"expand": "user"})
            app_user = (await self.api.aget(url)).body
        except OktaNotFoundError:
            app_user = None
        if isinstance(app_user, dict):
            if not isinstance(app_user.get("_embedded"), dict):  # no expand support: read the user
                app_user = {**app_user, "_embedded": {"user": await self.user(user_id, safe="") or {}}}
            record = assignment_from_app_user(app_user)
            if record is not None:
                return record
        found = await self.user(user_id, safe="")
        return unassigned_from_user(found, user_id=user_id, login=login, user_status="DELETED")

    async def assignments(self, app_id: str, logins: Mapping[str, str]) -> list[OktaAssignment]:
        """The current state of each user (user id → login to report if deleted), concurrently, in order."""
        limit = asyncio.Semaphore(max(self.concurrency, 1))

        async def one(user_id: str) -> OktaAssignment:
            async with limit:
                return await self.assignment(app_id, user_id, logins[user_id])

        return list(await asyncio.gather(*(one(u) for u in logins)))

    async def assignments_for_logins(self, app_id: str, logins: list[str]) -> list[OktaAssignment | None]:
        """The state of the users with these logins, concurrently, in order; ``None`` for an unknown login."""
        limit = asyncio.Semaphore(max(self.concurrency, 1))

        async def one(login: str) -> OktaAssignment | None:
            async with limit:
                user = await self.user(login, safe="@")
                if user is None:
                    return None
                return await self.assignment(app_id, str(user.get("id", "")), login)

        return list(await asyncio.gather(*(one(login) for login in logins)))

    async def user(self, login_or_id: str, *, safe: str = "@") -> dict[str, Any] | None:
        """The Okta user with this id or login, or ``None`` (404)."""
        try:
            url = self.api.url(f"/api/v1/users/{quote(login_or_id, safe=safe)}")
            body = (await self.api.aget(url)).body
        except OktaNotFoundError:
            return None
        return body if isinstance(body, dict) else None

    async def users(self, logins: list[str]) -> list[dict[str, Any] | None]:
        """:meth:`user` for many logins, concurrently, in order."""
        limit = asyncio.Semaphore(max(self.concurrency, 1))

        async def one(login: str) -> dict[str, Any] | None:
            async with limit:
                return await self.user(login)

        return list(await asyncio.gather(*(one(login) for login in logins)))


def page_items(page: OktaResponse, path: str, *, take: bool = False) -> list[Any]:
    """The JSON array of a list call's page (decoded here on first use; ``take``: see ``take_body``)."""
    body = page.take_body() if take else page.body
    if not isinstance(body, list):
        raise OktaApiError(f"GET {path}: expected a JSON array, got {type(body).__name__}")
    return body


class SnapshotRows:
    """Turns pages of app users into the full snapshot's lines (plain dicts, see :func:`assignment_row`).

    Unknown statuses and extra fields are kept or ignored, never fatal; an object without an id
    is skipped (counted, and logged by :meth:`done`); a user seen twice (a page re-read) is kept once.

    :param attributes: keep only these profile attributes (``None``: the whole profile).
    """

    def __init__(self, app_id: str, path: str, attributes: Collection[str] | None, log: Log) -> None:
        self.app_id, self.path, self.log = app_id, path, log
        self.names = None if attributes is None else tuple(dict.fromkeys([*attributes, "login"]))
        self.seen: set[str] = set()
        self.skipped = 0

    def page(self, page: OktaResponse) -> list[dict[str, Any]]:
        """The new users of one page, as snapshot lines (decoding the page if it is not yet)."""
        rows = []
        seen, names = self.seen, self.names
        with paused_gc():  # a page of new, acyclic containers (see decode_json)
            for item in page_items(page, self.path, take=True):  # dies here, before the GC resumes
                row = assignment_row(item, names) if isinstance(item, dict) else None
                if row is None:
                    self.skipped += 1
                elif row["okta_user_id"] not in seen:
                    seen.add(row["okta_user_id"])
                    rows.append(row)
        return rows

    def done(self) -> None:
        """Log what was read (and skipped)."""
        if self.skipped:
            self.log.warning("Skipped %d app user objects without an id", self.skipped)
        self.log.info("Read %d assignments of app %s", len(self.seen), self.app_id)
