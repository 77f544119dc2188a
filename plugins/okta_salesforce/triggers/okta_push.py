"""What the System Log trigger knows about push (Okta Event Hooks received by the API server).

When the receiver has answered Okta (a verification or a delivery), push is *healthy*: the
trigger then polls at its slower ``push_poll_interval`` and only as a safety net. On every poll
that finds events it skips those the receiver already turned into an Asset event (their uuids
are in the Asset's state store), so an event seen by both paths starts one run. An event that
push has not delivered ``grace`` seconds after it was published counts as *missed*: it is fired
by the trigger, and the trigger goes back to its normal interval until the receiver records a
delivery again. The uuids the trigger fires are recorded too, so a late delivery of the same
event starts nothing.

The state store can fail like any call through the triggerer's supervisor: every read here
degrades to "push unknown" (fire everything, poll at the normal interval), never to an error.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from okta_salesforce.event_hook.ledger import DELIVERED_KEY, FIRED_KEY, HEALTH_KEY, PushHealth, UuidLedger

if TYPE_CHECKING:
    from okta_salesforce.hooks.okta_events import PollResult
    from okta_salesforce.hooks.okta_records import LogEvent

log = logging.getLogger(__name__)


class PushAwareness:
    """The trigger's view of push, read from and written to the watched Asset's state store.

    :param store: the Asset state store accessor the triggerer injects (``aget``/``aset``).
    :param grace: seconds push gets to deliver an event before the poller counts it as missed
        (a healthy poller also waits for young undelivered events up to this long).
    :param clock: epoch seconds (tests replace it).
    :param sleep: the coroutine used to wait (tests replace it).
    """

    def __init__(
        self,
        store: Any,
        *,
        grace: float,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Any] = asyncio.sleep,
    ) -> None:
        self.store = store
        self.grace = grace
        self.clock = clock
        self.sleep = sleep
        self.missed_at: float | None = None

    async def _read(self, key: str) -> Any:
        try:
            return await self.store.aget(key)
        except Exception as err:  # noqa: BLE001 - a state-store hiccup must not end the watch
            log.warning("Could not read %s from the Asset state store (%s): assuming no push", key, err)
            return None

    async def healthy(self) -> bool:
        """Whether push works: the receiver answered Okta, and delivered since the last miss."""
        health = PushHealth.from_dict(await self._read(HEALTH_KEY))
        if health is None or health.last_seen is None:
            return False
        return self.missed_at is None or (health.last_delivery or 0.0) > self.missed_at

    async def without_pushed(self, result: PollResult, *, healthy: bool) -> PollResult:
        """``result`` minus the events push already delivered; notes the events push missed."""
        from okta_salesforce.hooks.okta_events import PollResult

        if not result.events:
            return result
        pending = await self._not_delivered(result.events)
        if pending and healthy:
            youngest = min(self._age(e) for e in pending)
            if youngest < self.grace:  # push is usually a second behind: give it its chance
                await self.sleep(self.grace - youngest)
                pending = await self._not_delivered(pending)
        missed = [e for e in pending if self._age(e) >= self.grace]
        if missed:
            if healthy:
                log.warning(
                    "%d Okta events were not delivered by the Event Hook; polling at the normal "
                    "interval until push delivers again",
                    len(missed),
                )
            self.missed_at = self.clock()
        skipped = len(result.events) - len(pending)
        if skipped:
            log.info("%d Okta events already delivered by the Event Hook: not fired again", skipped)
        named = {t.id for e in pending for t in e.targets_of("User")}
        return PollResult(
            events=pending,
            users={k: v for k, v in result.users.items() if k in named},
            candidates={k: v for k, v in result.candidates.items() if k in named},
            cursor=result.cursor,
            pages=result.pages,
        )

    async def mark_fired(self, uuids: Iterable[str]) -> None:
        """Record uuids the trigger is about to fire, so that a late delivery of them starts nothing."""
        wanted = list(uuids)
        if not wanted:
            return
        ledger = UuidLedger.from_dict(await self._read(FIRED_KEY))
        ledger.add(wanted, self.clock())
        try:
            await self.store.aset(FIRED_KEY, ledger.to_dict())
        except Exception as err:  # noqa: BLE001 - worst case: a late delivery starts one more run
            log.warning("Could not record the fired events in the Asset state store (%s)", err)

    async def _not_delivered(self, events: list[LogEvent]) -> list[LogEvent]:
        delivered = UuidLedger.from_dict(await self._read(DELIVERED_KEY))
        return [e for e in events if e.uuid not in delivered]

    def _age(self, event: LogEvent) -> float:
        """Seconds since the event was published (old when the timestamp cannot be read)."""
        try:
            published = datetime.fromisoformat(event.published.replace("Z", "+00:00")).timestamp()
        except ValueError:
            return float("inf")
        return max(self.clock() - published, 0.0)
