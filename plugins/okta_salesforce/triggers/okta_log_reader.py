"""Reading the System Log from the triggerer: the provider's poller on a worker thread, and rate limits.

:class:`~okta_salesforce.hooks.okta.OktaHook` drives the okta SDK on its own event loop, which
cannot run inside the triggerer's loop: :class:`LogReader` runs the synchronous
:class:`~okta_salesforce.hooks.okta_events.SystemLogPoller` on one dedicated thread, and
remembers the ``X-Rate-Limit-*`` headers of the last response (:class:`RateLimit`) so that the
trigger leaves part of the bucket to other clients.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from okta_salesforce.hooks.okta import OktaHook, OktaResponse
    from okta_salesforce.hooks.okta_events import EventCursor, PollResult, SystemLogPoller


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
    def from_response(cls, response: OktaResponse) -> RateLimit | None:
        """The rate-limit headers of ``response``, or ``None`` when it has none (or they are malformed)."""
        try:
            return cls(
                limit=int(response.header("x-rate-limit-limit") or ""),
                remaining=int(response.header("x-rate-limit-remaining") or ""),
                reset=float(response.header("x-rate-limit-reset") or ""),
            )
        except ValueError:
            return None

    def pause(self, reserve: float, now: float) -> float:
        """Seconds to wait so that at least ``reserve`` (a share of ``limit``) stays for other clients."""
        if self.limit <= 0 or self.remaining > self.limit * reserve:
            return 0.0
        return max(self.reset - now, 0.0)


def rate_aware_hook(okta_conn_id: str) -> OktaHook:
    """An :class:`OktaHook` that remembers the rate-limit headers of its last response."""
    from okta_salesforce.hooks.okta import OktaHook

    class _RateAwareOktaHook(OktaHook):
        last_rate_limit: RateLimit | None = None

        def get(self, path: str, params: Mapping[str, Any] | None = None) -> OktaResponse:
            response = super().get(path, params)
            self.last_rate_limit = RateLimit.from_response(response) or self.last_rate_limit
            return response

    return _RateAwareOktaHook(okta_conn_id=okta_conn_id)


class LogReader:
    """Thin async adapter over the provider's synchronous System Log poller.

    :class:`OktaHook` drives the okta SDK on its own event loop, which cannot run inside the
    triggerer's loop; every call therefore runs on one dedicated worker thread (always the same
    thread, so the hook's loop and HTTP session stay on it) and the triggerer's loop is never
    blocked.
    """

    def __init__(self, *, okta_conn_id: str, app_id: str | None, event_types: Sequence[str]) -> None:
        self.okta_conn_id = okta_conn_id
        self.app_id = app_id
        self.event_types = tuple(event_types)
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="okta-system-log")
        self._hook: OktaHook | None = None
        self._poller: SystemLogPoller | None = None

    async def _call(self, func: Any, *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._thread, func, *args)

    def _open(self, initial_lookback: float) -> str:
        from okta_salesforce.hooks.okta_events import SystemLogPoller

        app_id = self.app_id
        if not app_id:
            from okta_salesforce.config_location import resolve_config_path
            from okta_salesforce.sync.config import load_config

            app_id = load_config(resolve_config_path()).okta_app_id
        self._hook = rate_aware_hook(self.okta_conn_id)
        self._poller = SystemLogPoller(
            self._hook,
            app_id,
            event_types=self.event_types,
            initial_lookback=timedelta(seconds=initial_lookback),
        )
        return app_id

    async def open(self, initial_lookback: float) -> str:
        """Create the hook and poller (reads the config when no app id was given); return the app id."""
        return await self._call(self._open, initial_lookback)

    async def poll(self, cursor: EventCursor | None) -> PollResult:
        """One poll: every new event after ``cursor``, following ``next`` links until an empty page."""
        if self._poller is None:
            raise RuntimeError("open() the reader first")
        return await self._call(self._poller.poll, cursor)

    @property
    def rate_limit(self) -> RateLimit | None:
        return getattr(self._hook, "last_rate_limit", None)

    async def close(self) -> None:
        """Close the hook's HTTP session and loop on their thread, then the thread."""
        try:
            if self._hook is not None:
                await self._call(self._hook.close)
        finally:
            self._hook = self._poller = None
            self._thread.shutdown(wait=False)
