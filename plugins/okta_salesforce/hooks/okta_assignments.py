"""Async reads of who holds an Okta app: the full snapshot page by page, and single users' state.

Everything here awaits :class:`~okta_salesforce.hooks.okta_transport.OktaTransport`; the hook's
synchronous methods drive the same coroutines on its own event loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Collection, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from okta_salesforce.hooks.okta_errors import OktaApiError, OktaNotFoundError
from okta_salesforce.hooks.okta_records import assignment_from_app_user, unassigned_from_user
from okta_salesforce.hooks.okta_transport import paused_gc

if TYPE_CHECKING:
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

    async def app_user_pages(self, app_id: str) -> AsyncIterator[list[Any]]:
        """Every app user of ``app_id`` (direct and group-scoped), as raw JSON, one list per page."""
        path = f"/api/v1/apps/{quote(app_id, safe='')}/users"
        async for page in self.api.apaginate(path, {"limit": self.page_size, "expand": "user"}):
            if not isinstance(page.body, list):
                raise OktaApiError(f"GET {path}: expected a JSON array, got {type(page.body).__name__}")
            yield page.body

    async def assignment_pages(
        self, app_id: str, attributes: Collection[str] | None = None
    ) -> AsyncIterator[list[OktaAssignment]]:
        """The full snapshot, one list of normalized records per page.

        Unknown statuses and extra fields are kept or ignored, never fatal; an object without an
        id is skipped with a warning; a user seen twice (a page re-read) is yielded once.

        :param attributes: keep only these profile attributes (``None``: the whole profile).
        """
        names = None if attributes is None else tuple(dict.fromkeys([*attributes, "login"]))
        seen: set[str] = set()
        skipped = 0
        async for items in self.app_user_pages(app_id):
            records = []
            with paused_gc():  # a page of new, acyclic records (see decode_json)
                for item in items:
                    record = assignment_from_app_user(item, names) if isinstance(item, dict) else None
                    if record is None:
                        skipped += 1
                    elif record.okta_user_id not in seen:
                        seen.add(record.okta_user_id)
                        records.append(record)
            yield records
        if skipped:
            self.log.warning("Skipped %d app user objects without an id", skipped)
        self.log.info("Read %d assignments of app %s", len(seen), app_id)

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
