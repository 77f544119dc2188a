"""Incremental reads: System Log polling with a cursor kept between runs.

Okta's polling guidance: ask once with ``since`` (no ``until``), then keep following the ``next``
link, which a polling request always returns, until a page comes back empty; store that link and
resume from it next time; de-duplicate on the event ``uuid``. The events only say *who* to look
at: the reader then asks Okta for each affected user's current assignment, so the outcome does
not depend on event order, and a missed event is repaired by the next change or the daily full
snapshot.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from okta_salesforce.hooks.okta_errors import OktaApiError
from okta_salesforce.hooks.okta_records import LogEvent

if TYPE_CHECKING:
    from okta_salesforce.hooks.okta import OktaHook
    from okta_salesforce.sync.models import OktaAssignment

log = logging.getLogger(__name__)

APP_MEMBERSHIP_EVENTS = (
    "application.user_membership.add",
    "application.user_membership.remove",
    "application.user_membership.change_username",
)
GROUP_MEMBERSHIP_EVENTS = ("group.user_membership.add", "group.user_membership.remove")
#: Changes to the user rather than to the assignment: a new department or title, a suspension.
#: Their users are candidates, kept only when they hold the app (one read per changed user).
USER_CHANGE_EVENTS = (
    "user.account.update_profile",
    "user.lifecycle.suspend",
    "user.lifecycle.unsuspend",
    "user.lifecycle.reactivate",
)
DEFAULT_EVENT_TYPES = APP_MEMBERSHIP_EVENTS + GROUP_MEMBERSHIP_EVENTS + USER_CHANGE_EVENTS


@dataclass
class EventCursor:
    """Where the last poll stopped.

    :param next_path: the ``next`` link of the last page (path and query on the org).
    :param last_published: ``published`` of the newest event seen (the fallback when the link is refused).
    :param seen_uuids: uuids of the most recent events, to drop events delivered twice.
    """

    next_path: str | None = None
    last_published: str | None = None
    seen_uuids: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> EventCursor | None:
        if not isinstance(data, dict):
            return None
        return cls(
            next_path=data.get("next_path") or None,
            last_published=data.get("last_published") or None,
            seen_uuids=[u for u in data.get("seen_uuids") or () if isinstance(u, str)],
        )


class CursorStore(Protocol):
    """Keeps one :class:`EventCursor` per key between runs."""

    def load(self, key: str) -> EventCursor | None: ...

    def save(self, key: str, cursor: EventCursor) -> None: ...


class VariableCursorStore:
    """Cursors in Airflow Variables, as JSON (``Variable.get``/``set`` work from a running task)."""

    def load(self, key: str) -> EventCursor | None:
        from airflow.sdk import Variable

        return EventCursor.from_dict(Variable.get(key, default=None, deserialize_json=True))

    def save(self, key: str, cursor: EventCursor) -> None:
        from airflow.sdk import Variable

        description = "okta-salesforce: where System Log polling resumes"
        Variable.set(key, cursor.to_dict(), description=description, serialize_json=True)


class MemoryCursorStore:
    """Cursors in a dict (tests, one-off scripts)."""

    def __init__(self) -> None:
        self.cursors: dict[str, dict[str, Any]] = {}

    def load(self, key: str) -> EventCursor | None:
        return EventCursor.from_dict(self.cursors.get(key))

    def save(self, key: str, cursor: EventCursor) -> None:
        self.cursors[key] = cursor.to_dict()


@dataclass
class PollResult:
    """What one poll found.

    :param events: new relevant events, oldest first, each once.
    :param users: affected Okta user ids mapped to their login (from the events), in event order.
    :param candidates: users whose group membership changed, in groups that may be assigned to the
        app: they matter only if they hold the app now.
    :param cursor: where the next poll resumes (save it once the results are safely stored).
    :param pages: System Log pages read.
    """

    events: list[LogEvent]
    users: dict[str, str]
    cursor: EventCursor
    candidates: dict[str, str] = field(default_factory=dict)
    pages: int = 0


class SystemLogPoller:
    """Polls the System Log for changes to who holds one app.

    :param hook: the Okta hook.
    :param app_id: the app whose membership matters.
    :param event_types: System Log event types to read.
    :param initial_lookback: how far back the first poll (no cursor yet) starts.
    :param page_size: events per page (Okta allows up to 1000).
    :param max_pages: safety stop for one poll; the cursor resumes where it stopped.
    :param seen_limit: how many recent uuids the cursor remembers.
    :param group_ids: ids of the groups assigned to the app, when known (see :meth:`_affected_users`).
    """

    def __init__(
        self,
        hook: OktaHook,
        app_id: str,
        *,
        event_types: Sequence[str] = DEFAULT_EVENT_TYPES,
        initial_lookback: timedelta = timedelta(hours=24),
        page_size: int = 1000,
        max_pages: int = 200,
        seen_limit: int = 2000,
        group_ids: Collection[str] | None = None,
    ) -> None:
        self.hook = hook
        self.app_id = app_id
        self.event_types = tuple(event_types)
        self.initial_lookback = initial_lookback
        self.page_size = page_size
        self.max_pages = max_pages
        self.seen_limit = seen_limit
        self.group_ids = set(group_ids) if group_ids is not None else None

    def first_query(self, since: str) -> str:
        """The polling request that starts from ``since`` (an ISO 8601 timestamp)."""
        expression = " or ".join(f'eventType eq "{t}"' for t in self.event_types)
        return self.hook.url(
            "/api/v1/logs",
            {"since": since, "filter": expression, "limit": self.page_size, "sortOrder": "ASCENDING"},
        )

    def poll(self, cursor: EventCursor | None = None) -> PollResult:
        """:meth:`apoll`, for tasks (on the hook's own event loop)."""
        return self.hook.run(self.apoll(cursor))

    async def apoll(self, cursor: EventCursor | None = None) -> PollResult:
        """Read the events after ``cursor`` (or from ``initial_lookback`` ago when there is none)."""
        cursor = cursor or EventCursor()
        if cursor.next_path:
            try:
                return await self._poll_from(self.hook.url(cursor.next_path), cursor)
            except OktaApiError as err:
                if err.status not in (400, 404):
                    raise
                log.warning("The stored System Log link was refused (%s); resuming from its time", err)
        since = cursor.last_published or _iso(datetime.now(UTC) - self.initial_lookback)
        return await self._poll_from(self.first_query(since), cursor)

    async def _poll_from(self, url: str, cursor: EventCursor) -> PollResult:
        seen = dict.fromkeys(cursor.seen_uuids)
        events: list[LogEvent] = []
        next_path = cursor.next_path
        pages = 0
        async for page in self.hook.alog_pages(url, max_pages=self.max_pages):
            pages += 1
            for event in page.events:
                if event.uuid not in seen:
                    seen[event.uuid] = None
                    events.append(event)
            next_path = page.next_path or next_path
        relevant = [e for e in events if e.event_type in self.event_types]
        published = max((e.published for e in events if e.published), default=cursor.last_published)
        new_cursor = EventCursor(
            next_path=next_path,
            last_published=published,
            seen_uuids=list(seen)[-self.seen_limit :],
        )
        users, candidates = self._affected_users(relevant)
        return PollResult(events=relevant, users=users, candidates=candidates, cursor=new_cursor, pages=pages)

    def _affected_users(self, events: list[LogEvent]) -> tuple[dict[str, str], dict[str, str]]:
        """Users named by this app's membership events, and candidates (see :func:`affected_users`)."""
        return affected_users(events, self.app_id, group_ids=self.group_ids)


def affected_users(
    events: Sequence[LogEvent], app_id: str, *, group_ids: Collection[str] | None = None
) -> tuple[dict[str, str], dict[str, str]]:
    """Users named by ``app_id``'s membership events, and users named by other relevant events.

    Group events matter only for groups assigned to the app; with ``group_ids`` unknown, their
    users are candidates, kept by the reader only if they hold the app now (a removal through a
    group also publishes ``application.user_membership.remove``, which names them for sure).
    Profile and lifecycle events (:data:`USER_CHANGE_EVENTS`) name candidates too. Both maps go
    from Okta user id to login, in event order.
    """
    known_groups = set(group_ids) if group_ids is not None else None
    users: dict[str, str] = {}
    candidates: dict[str, str] = {}
    for event in events:
        if event.event_type in GROUP_MEMBERSHIP_EVENTS:
            groups = {g.id for g in event.targets_of("UserGroup")}
            if known_groups is not None and not groups & known_groups:
                continue
            found = users if known_groups is not None else candidates
        elif event.event_type in USER_CHANGE_EVENTS:
            found = candidates
        elif event.event_type in APP_MEMBERSHIP_EVENTS and any(
            a.id == app_id for a in event.targets_of("AppInstance")
        ):
            found = users
        else:
            continue
        for target in event.targets_of("User"):  # the AppUser target's id is not the user's
            if target.id:
                found.setdefault(target.id, target.alternate_id)
    return users, {k: v for k, v in candidates.items() if k not in users}


class IncrementalReader:
    """Poll, read the affected users' current state, then commit the cursor.

    :param hook: the Okta hook.
    :param app_id: the app.
    :param store: where the cursor lives between runs.
    :param key: the cursor's key in ``store`` (e.g. an Airflow Variable name).
    """

    def __init__(
        self, hook: OktaHook, app_id: str, *, store: CursorStore, key: str, **poller_options: Any
    ) -> None:
        self.hook = hook
        self.app_id = app_id
        self.store = store
        self.key = key
        self.poller = SystemLogPoller(hook, app_id, **poller_options)

    def poll(self) -> PollResult:
        """Read new events since the stored cursor (nothing is saved yet)."""
        return self.poller.poll(self.store.load(self.key))

    def read(self, result: PollResult) -> list[OktaAssignment]:
        """The current assignment of every user the events touched (``assigned=False`` when removed)."""
        records = self.hook.get_assignments(self.app_id, result.users)
        extra = self.hook.get_assignments(self.app_id, result.candidates)
        return records + [r for r in extra if r.assigned]

    def commit(self, result: PollResult) -> None:
        """Save the cursor: the next poll starts after these events."""
        self.store.save(self.key, result.cursor)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
