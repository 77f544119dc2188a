"""Reading the System Log from the triggerer: the provider's poller, awaited on the triggerer's loop.

:class:`LogReader` awaits :meth:`~okta_salesforce.hooks.okta_events.SystemLogPoller.apoll`, which
awaits the hook's :meth:`~okta_salesforce.hooks.okta.OktaHook.alog_pages`: no thread, no second
event loop. The hook keeps the ``X-Rate-Limit-*`` headers of its last answer
(:attr:`~okta_salesforce.hooks.okta.OktaHook.rate_limit`) so that the trigger leaves part of the
bucket to other clients.

Only opening the reader leaves the loop, once: reading the connection is a synchronous call to
Airflow's supervisor (Airflow's own ``get_async_connection`` runs it on a worker thread too before
3.3.2), and importing the okta SDK and loading CA files would block the loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from okta_salesforce.hooks.okta import OktaHook, RateLimit
    from okta_salesforce.hooks.okta_events import EventCursor, PollResult, SystemLogPoller


class LogReader:
    """The System Log poller of one app, with its hook, for the trigger.

    :param okta_conn_id: the ``okta`` connection.
    :param app_id: the app; ``None`` reads ``okta.app_id`` from the config file when opened.
    :param event_types: the System Log event types to read.
    """

    def __init__(self, *, okta_conn_id: str, app_id: str | None, event_types: Sequence[str]) -> None:
        self.okta_conn_id = okta_conn_id
        self.app_id = app_id
        self.event_types = tuple(event_types)
        self.hook: OktaHook | None = None
        self._poller: SystemLogPoller | None = None

    def _prepared_hook(self) -> tuple[OktaHook, str]:
        """The hook with its connection read and its request executor built; the app id."""
        from okta_salesforce.hooks.okta import OktaHook

        app_id = self.app_id
        if not app_id:
            from okta_salesforce.config_location import resolve_config_path
            from okta_salesforce.sync.config import load_config

            app_id = load_config(resolve_config_path()).okta_app_id
        hook = OktaHook(okta_conn_id=self.okta_conn_id)
        _ = hook.transport.executor  # reads the connection, builds TLS trust and the SDK executor
        return hook, app_id

    async def open(self, initial_lookback: float) -> str:
        """Create the hook and poller (reads the config when no app id was given); return the app id."""
        from okta_salesforce.hooks.okta_events import SystemLogPoller

        hook, app_id = await asyncio.to_thread(self._prepared_hook)
        self.hook = hook
        self._poller = SystemLogPoller(
            hook,
            app_id,
            event_types=self.event_types,
            initial_lookback=timedelta(seconds=initial_lookback),
        )
        return app_id

    async def poll(self, cursor: EventCursor | None) -> PollResult:
        """One poll: every new event after ``cursor``, following ``next`` links until an empty page."""
        if self._poller is None:
            raise RuntimeError("open() the reader first")
        return await self._poller.apoll(cursor)

    @property
    def rate_limit(self) -> RateLimit | None:
        """The rate limit of the last System Log answer."""
        return self.hook.rate_limit if self.hook is not None else None

    async def close(self) -> None:
        """Close the hook's HTTP session."""
        hook, self.hook, self._poller = self.hook, None, None
        if hook is not None:
            await hook.aclose()
