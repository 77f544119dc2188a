"""Event trigger: Okta System Log assignment events of one app, for Airflow's ``AssetWatcher``.

The trigger runs in the triggerer for as long as the Dag that watches its Asset is active. It
polls the System Log the way Okta advises (one polling request with ``since``, then the ``next``
link forever, de-duplication on ``uuid``), reusing the provider's reader
(:class:`~okta_salesforce.hooks.okta_events.SystemLogPoller`), and fires a
:class:`~airflow.triggers.base.TriggerEvent` naming the users whose assignment changed. Each
event becomes an Asset event whose ``extra["payload"]`` is that payload; the watching Dag reads
the users back with :func:`users_from_asset_events`.

Durability: the cursor lives in the watched Asset's state store (Airflow 3.3, AIP-103), which
the triggerer injects as ``self.asset_state_store``. It is committed only ``commit_delay``
seconds after the last event was yielded, so that a triggerer restart never skips an event the
triggerer had not yet written to the metadata database; after a crash the last few events may
be fired again, which costs a run that finds nothing to do (provisioning is a diff).
Airflow 3.1 and 3.2 have no Asset state store: the cursor is then kept in memory, and after a
triggerer restart the watch starts ``initial_lookback`` seconds back (repeated events cost an empty
run; a longer outage is caught by the reconcile DAG); push awareness is off.

Nothing heavy is imported at module level: Dag files import this module at parse time, and
the okta SDK (seconds to import) is loaded by the hook only when the triggerer polls.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import deque
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from airflow.triggers.base import BaseEventTrigger, TriggerEvent

from okta_salesforce.triggers.okta_log_reader import LogReader
from okta_salesforce.triggers.okta_payloads import (
    PAYLOAD_VERSION,
    build_payloads,
    users_from_asset_events,
    users_from_payloads,
)

if TYPE_CHECKING:
    from okta_salesforce.hooks.okta import RateLimit
    from okta_salesforce.hooks.okta_events import EventCursor, PollResult
    from okta_salesforce.triggers.okta_push import PushAwareness

__all__ = [
    "DEFAULT_CURSOR_KEY",
    "PAYLOAD_VERSION",
    "OktaAssignmentEventTrigger",
    "build_payloads",
    "users_from_asset_events",
    "users_from_payloads",
]

log = logging.getLogger(__name__)

#: Key of the cursor in the watched Asset's state store.
DEFAULT_CURSOR_KEY = "okta_system_log_cursor"
#: Longest wait between polls after repeated failures or a drained rate-limit bucket.
MAX_BACKOFF = 300.0

_sleep = asyncio.sleep  # module attribute, so tests can observe the waits


class _CursorState:
    """The cursor in the watched Asset's state store (in memory only when there is no store)."""

    def __init__(self, store: Any, key: str) -> None:
        self.store = store
        self.key = key

    async def load(self) -> EventCursor | None:
        from okta_salesforce.hooks.okta_events import EventCursor

        if self.store is None:
            return None
        return EventCursor.from_dict(await self.store.aget(self.key))

    async def save(self, cursor: EventCursor) -> None:
        if self.store is not None:
            await self.store.aset(self.key, cursor.to_dict())


class OktaAssignmentEventTrigger(BaseEventTrigger):
    """Fire when users are assigned to, unassigned from, or renamed in an Okta app.

    Use it in an ``AssetWatcher``; each ``TriggerEvent`` payload is::

        {"version": 1, "app_id": "0oa...", "users": [{"id": "00u...", "login": "..."}],
         "event_uuids": [...], "event_types": {"application.user_membership.add": 1},
         "first_published": "...", "last_published": "..."}

    A burst is split into several events of at most ``max_users_per_event`` users each.

    :param okta_conn_id: the ``okta`` connection (its secrets are read in the triggerer, never
        stored in the trigger's kwargs).
    :param app_id: the Okta app id; ``None`` reads ``okta.app_id`` from the config file in the
        triggerer.
    :param poll_interval: seconds between polls (one System Log request per poll when nothing
        happened, two when something did).
    :param include_group_events: also fire on ``group.user_membership.add|remove`` for users of
        any group (the app-membership events already cover group-based assignments; this only
        adds earlier, noisier signals).
    :param initial_lookback: how far back, in seconds, the very first poll starts when the Asset
        has no stored cursor yet.
    :param commit_delay: seconds an event must have been yielded before the cursor may move past
        it (``None``: twice the poll interval, at least 15 s): the time the triggerer needs to
        write the event to the metadata database.
    :param rate_limit_reserve: share of the System Log rate-limit bucket left to other clients:
        below it, the trigger waits for the window to reset.
    :param max_users_per_event: users per ``TriggerEvent`` (keeps Asset event payloads small).
    :param cursor_key: key of the cursor in the Asset's state store.
    :param push_poll_interval: seconds between polls while Okta Event Hook deliveries reach the
        API server's receiver (see :mod:`~okta_salesforce.triggers.okta_push`); ``None``: push
        is not expected and the trigger always polls every ``poll_interval``.
    :param push_grace: seconds push gets to deliver an event before the trigger fires it itself
        and falls back to ``poll_interval``.
    """

    def __init__(
        self,
        *,
        okta_conn_id: str = "okta_default",
        app_id: str | None = None,
        poll_interval: float = 10.0,
        include_group_events: bool = False,
        initial_lookback: float = 900.0,
        commit_delay: float | None = None,
        rate_limit_reserve: float = 0.2,
        max_users_per_event: int = 500,
        cursor_key: str = DEFAULT_CURSOR_KEY,
        push_poll_interval: float | None = None,
        push_grace: float = 10.0,
    ) -> None:
        super().__init__()
        if poll_interval <= 0:
            raise ValueError("poll_interval must be positive")
        if push_poll_interval is not None and push_poll_interval <= 0:
            raise ValueError("push_poll_interval must be positive")
        if max_users_per_event < 1:
            raise ValueError("max_users_per_event must be at least 1")
        self.okta_conn_id = okta_conn_id
        self.app_id = app_id
        self.poll_interval = float(poll_interval)
        self.include_group_events = include_group_events
        self.initial_lookback = float(initial_lookback)
        self.commit_delay = None if commit_delay is None else float(commit_delay)
        self.rate_limit_reserve = float(rate_limit_reserve)
        self.max_users_per_event = int(max_users_per_event)
        self.cursor_key = cursor_key
        self.push_poll_interval = None if push_poll_interval is None else float(push_poll_interval)
        self.push_grace = float(push_grace)

    def serialize(self) -> tuple[str, dict[str, Any]]:
        """Class path and kwargs; configuration only (the cursor is in the Asset's state store)."""
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "okta_conn_id": self.okta_conn_id,
                "app_id": self.app_id,
                "poll_interval": self.poll_interval,
                "include_group_events": self.include_group_events,
                "initial_lookback": self.initial_lookback,
                "commit_delay": self.commit_delay,
                "rate_limit_reserve": self.rate_limit_reserve,
                "max_users_per_event": self.max_users_per_event,
                "cursor_key": self.cursor_key,
                "push_poll_interval": self.push_poll_interval,
                "push_grace": self.push_grace,
            },
        )

    @property
    def event_types(self) -> tuple[str, ...]:
        """The System Log event types read (a server-side ``filter``)."""
        from okta_salesforce.hooks.okta_events import APP_MEMBERSHIP_EVENTS, GROUP_MEMBERSHIP_EVENTS

        return APP_MEMBERSHIP_EVENTS + (GROUP_MEMBERSHIP_EVENTS if self.include_group_events else ())

    @property
    def effective_commit_delay(self) -> float:
        return self.commit_delay if self.commit_delay is not None else max(2 * self.poll_interval, 15.0)

    def _reader(self) -> LogReader:
        return LogReader(okta_conn_id=self.okta_conn_id, app_id=self.app_id, event_types=self.event_types)

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Poll forever; yield one event per batch of affected users. Transient failures back off."""
        state = _CursorState(self._state_store, self.cursor_key)
        if self._state_store is None:
            log.warning(
                "No asset state store (Airflow before 3.3, or not run by an AssetWatcher): the cursor "
                "stays in memory; after a triggerer restart the watch starts initial_lookback seconds back"
            )
        reader = self._reader()
        push = self._push_awareness()
        try:
            app_id = await reader.open(self.initial_lookback)
            cursor = committed = await state.load()
            log.info(
                "Watching Okta app %s: %s every %g s, %s",
                app_id,
                ", ".join(self.event_types),
                self.poll_interval,
                "resuming from the stored cursor" if cursor else "no stored cursor yet",
            )
            # Cursors in front of batches yielded but maybe not yet in the metadata database.
            unconfirmed: deque[tuple[float, EventCursor | None]] = deque()
            failures = 0
            while True:
                healthy = await push.healthy() if push else False
                try:
                    result = await reader.poll(cursor)
                except Exception as err:  # a broken poll must not end the watch: back off and retry
                    failures += 1
                    delay = _backoff(self.poll_interval, failures)
                    log.warning(
                        "Okta System Log poll failed (%s); retry %d in %.0f s",
                        err,
                        failures,
                        delay,
                        exc_info=True,
                    )
                    await _sleep(delay)
                    continue
                failures = 0
                if push:
                    result = await push.without_pushed(result, healthy=healthy)
                    # An event push just missed counts at once: the next wait is the normal one.
                    healthy = healthy and await push.healthy()
                users = _affected(result)
                if users:
                    if push:
                        await push.mark_fired(e.uuid for e in result.events)
                    unconfirmed.append((time.monotonic(), cursor))
                    for payload in build_payloads(result, users, app_id, self.max_users_per_event):
                        log.info(
                            "%d Okta assignment events for %d users",
                            len(payload["event_uuids"]),
                            len(payload["users"]),
                        )
                        yield TriggerEvent(payload)
                cursor = result.cursor
                safe = _safe_cursor(unconfirmed, cursor, time.monotonic() - self.effective_commit_delay)
                if safe is not None and safe != committed:
                    await state.save(safe)
                    committed = safe
                await _sleep(self._next_delay(reader.rate_limit, pushed=healthy))
        finally:
            await reader.close()

    def _push_awareness(self) -> PushAwareness | None:
        """The view of push (``None`` without a push interval or outside an AssetWatcher)."""
        if self.push_poll_interval is None or self._state_store is None:
            return None
        from okta_salesforce.triggers.okta_push import PushAwareness

        return PushAwareness(self._state_store, grace=self.push_grace, sleep=_sleep)

    @property
    def _state_store(self) -> Any:
        """The Asset's state store: injected by Airflow 3.3's triggerer; 3.1 and 3.2 have none."""
        return getattr(self, "asset_state_store", None)

    def _next_delay(self, rate_limit: RateLimit | None, *, pushed: bool = False) -> float:
        """The poll interval (the push one while push is healthy), longer when the bucket is low."""
        interval = self.push_poll_interval if pushed and self.push_poll_interval else self.poll_interval
        pause = rate_limit.pause(self.rate_limit_reserve, time.time()) if rate_limit else 0.0
        if pause > 0:
            log.warning(
                "Okta System Log rate limit low (%d of %d left); waiting %.0f s for the window to reset",
                rate_limit.remaining if rate_limit else 0,
                rate_limit.limit if rate_limit else 0,
                pause,
            )
            return min(max(interval, pause + random.uniform(0.0, 1.0)), MAX_BACKOFF)
        return interval


def _affected(result: PollResult) -> dict[str, str]:
    """User id to login over the app's membership events and, if read, the group membership events."""
    return {**result.users, **{k: v for k, v in result.candidates.items() if k not in result.users}}


def _safe_cursor(
    unconfirmed: deque[tuple[float, EventCursor | None]], current: EventCursor, confirmed_before: float
) -> EventCursor | None:
    """The furthest cursor that skips no event possibly still in flight to the metadata database.

    Batches yielded before ``confirmed_before`` (a monotonic time) count as stored; the cursor
    may then move up to the oldest batch that does not, or to ``current`` when all do.
    """
    while unconfirmed and unconfirmed[0][0] <= confirmed_before:
        unconfirmed.popleft()
    return unconfirmed[0][1] if unconfirmed else current


def _backoff(interval: float, failures: int) -> float:
    """Exponential backoff from the poll interval, capped, with jitter."""
    return min(interval * float(2 ** min(failures, 10)), MAX_BACKOFF) * random.uniform(0.8, 1.2)
