"""The Okta side of the deprovisioning re-check: the System Log since the plan's snapshot, or everyone.

A plan deprovisions a managed Salesforce user because no assigned, in-scope Okta user matched it
when ``poll_okta`` read Okta. Only a change in Okta can make that wrong, and Okta records every
such change in its System Log: a membership of the app added (directly or through a group), a
user created, activated, unsuspended or unlocked, a profile or login changed (matching and scope
read them), an app username changed. :func:`recheck_assignments` therefore asks the log, in one
polling request, for the events since the snapshot began (less :data:`LOG_MARGIN`), and reads
again only the users those events name (about two requests each). A user whose Salesforce record
changed since the snapshot (``LastModifiedDate``: another Okta user may match it now) is looked up
in Okta as before.

This leans on the plan having seen every assignment: any Okta user who matched a Salesforce user
then claimed it. A plan of some users only (incremental, on demand) is re-checked in full.

It falls back to the full re-check (:func:`current_assignments`: the app's assignments listed, or
three reads per user, whichever costs fewer requests) whenever the log cannot be trusted: the
plan is not of everyone, the snapshot's start is unknown (a plan made before this was recorded)
or older than the log's retention, the request fails or is refused, there are more events than
:data:`MAX_LOG_PAGES` pages, the app itself changed (``application.lifecycle.*``, a group
assigned to it), or an event names no user. Okta's *polling* requests (``since`` without
``until``) filter on the time an event was stored, not its ``published`` time, so an event stored
late is not skipped; an event not yet stored when the log is read is missed, as a change right
after the old listing was.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from okta_salesforce.hooks.okta import OktaHook
    from okta_salesforce.hooks.okta_records import LogEvent
    from okta_salesforce.sync.config import SyncConfig
    from okta_salesforce.sync.models import Action, OktaAssignment, SalesforceUser

log = logging.getLogger(__name__)

#: How far before the snapshot's start the log is read: clock skew between the worker and Okta,
#: and changes whose event was stamped before the snapshot but took effect during it.
LOG_MARGIN = timedelta(minutes=10)
#: Okta keeps System Log events for 90 days.
LOG_RETENTION = timedelta(days=90)
LOG_PAGE_SIZE = 1000
#: More pages of relevant events than this, and the full re-check is cheaper and surer.
MAX_LOG_PAGES = 5
#: The Salesforce field that says when a user was last changed.
MODIFIED = "LastModifiedDate"

_USER_FAMILIES = ("application.user_membership.", "user.lifecycle.", "user.account.")
_APP_FAMILIES = ("application.lifecycle.", "group.application_assignment.")
_GROUP_FAMILY = "group.user_membership."
#: Event types that only take the app or scope away, with the Okta user status they leave
#: (``None``: the user or its membership is gone): they cannot make a deprovisioning wrong
#: unless that status is in scope.
_TAKING_AWAY: dict[str, str | None] = {
    "application.user_membership.remove": None,
    "application.user_membership.deprovision": None,
    "user.lifecycle.deactivate": "DEPROVISIONED",
    "user.lifecycle.suspend": "SUSPENDED",
    "user.lifecycle.delete.initiated": None,
    "user.lifecycle.delete.completed": None,
    "user.account.lock": "LOCKED_OUT",
    "group.application_assignment.remove": None,
}


class LogDoubt(Exception):
    """Why the System Log cannot stand in for reading everyone again."""


@dataclass(frozen=True)
class OktaRecheck:
    """The current Okta state of everyone who could match the users to deprovision.

    :param assignments: the users read again (assigned or not).
    :param source: ``log`` when only the users the System Log named were read, else
        ``full: <why>``.
    """

    assignments: list[OktaAssignment]
    source: str


def recheck_assignments(
    okta: OktaHook,
    app_id: str,
    config: SyncConfig,
    actions: Sequence[Action],
    users: Mapping[str, SalesforceUser],
    *,
    snapshot_started: str | None,
    complete: bool = False,
    assigned_estimate: int | None = None,
    now: datetime | None = None,
) -> OktaRecheck:
    """Read again, in Okta, whoever could make one of ``actions`` wrong (see the module).

    :param users: the Salesforce users re-read now, by id, with their ``LastModifiedDate``.
    :param snapshot_started: when ``poll_okta`` began reading (ISO 8601); None for old plans.
    :param complete: the plan saw every assignment (a full snapshot). A plan of some users only
        never saw the other Okta users that may match its Salesforce users, so it is re-checked
        in full.
    :param assigned_estimate: how many users hold the app (the full re-check's cost).
    """
    now = now or datetime.now(UTC)
    try:
        if not complete:
            raise LogDoubt("the plan saw only some Okta users (incremental or on demand)")
        since = log_since(snapshot_started, now)
        named = read_log_changes(okta, app_id, config, since)
    except LogDoubt as doubt:
        return _full(okta, app_id, actions, users, assigned_estimate, str(doubt))
    except Exception as err:  # noqa: BLE001 - any failure of the log read: re-read everyone
        return _full(okta, app_id, actions, users, assigned_estimate, f"the System Log read failed ({err})")
    changed = [a for a in actions if _changed_since(users.get(a.salesforce_id or ""), since)]
    by_id, logins = lookups(changed, users)
    cost = 2 * len({**named, **by_id}) + len(logins)
    if cost > full_cost(okta, actions, users, assigned_estimate):
        why = f"{len(named)} users changed in Okta since the snapshot: reading everyone costs less"
        return _full(okta, app_id, actions, users, assigned_estimate, why)
    for login, found in (okta.find_users(logins) if logins else {}).items():
        if found and found.get("id"):
            by_id.setdefault(str(found["id"]), login)
    wanted = {**named, **{k: v for k, v in by_id.items() if k not in named}}
    log.info(
        "Re-check from the System Log since %s: %d Okta users changed, %d Salesforce users changed.",
        since,
        len(named),
        len(changed),
    )
    return OktaRecheck(okta.get_assignments(app_id, wanted) if wanted else [], "log")


def log_since(snapshot_started: str | None, now: datetime) -> str:
    """The ``since`` of the log request: the snapshot's start less :data:`LOG_MARGIN`.

    :raises LogDoubt: when the start is unknown, unreadable, in the future or past the retention.
    """
    if not snapshot_started:
        raise LogDoubt("the plan does not say when its Okta snapshot began")
    try:
        started = datetime.fromisoformat(snapshot_started.replace("Z", "+00:00"))
    except ValueError:
        raise LogDoubt(f"the snapshot's start {snapshot_started!r} is not a time") from None
    if started.tzinfo is None:
        raise LogDoubt(f"the snapshot's start {snapshot_started!r} has no time zone")
    since = started - LOG_MARGIN
    if since > now:
        raise LogDoubt("the snapshot's start is in the future")
    if now - since > LOG_RETENTION - timedelta(days=1):
        raise LogDoubt("the snapshot began longer ago than the System Log keeps events")
    return since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{since.microsecond // 1000:03d}Z"


def recheck_filter(config: SyncConfig) -> str:
    """The log ``filter``: every event family that can give a user the app or bring them in scope."""
    families = [*_USER_FAMILIES, *_APP_FAMILIES]
    if _scope_reads_groups(config):
        families.append(_GROUP_FAMILY)
    return " or ".join(f'eventType sw "{family}"' for family in families)


def read_log_changes(okta: OktaHook, app_id: str, config: SyncConfig, since: str) -> dict[str, str]:
    """Okta user id → login of everyone the log names since ``since`` (one polling request).

    :raises LogDoubt: more than :data:`MAX_LOG_PAGES` pages, or an event that leaves doubt.
    """
    url = okta.url(
        "/api/v1/logs",
        {"since": since, "filter": recheck_filter(config), "limit": LOG_PAGE_SIZE, "sortOrder": "ASCENDING"},
    )

    async def read() -> tuple[list[LogEvent], bool]:
        events: list[LogEvent] = []
        caught_up = False
        async for page in okta.alog_pages(url, max_pages=MAX_LOG_PAGES):
            events.extend(page.events)
            caught_up = page.items < LOG_PAGE_SIZE
        return events, caught_up

    events, caught_up = okta.run(read())
    if not caught_up:
        raise LogDoubt(f"more than {MAX_LOG_PAGES * LOG_PAGE_SIZE} System Log events since the snapshot")
    return changed_users(events, app_id, config)


def changed_users(events: Sequence[LogEvent], app_id: str, config: SyncConfig) -> dict[str, str]:
    """Okta user id → login of the users whose events could make a deprovisioning wrong.

    :raises LogDoubt: a change to the app itself, or a relevant event without a user.
    """
    statuses = set(config.scope.user_statuses)
    groups = _scope_reads_groups(config)
    named: dict[str, str] = {}
    seen: set[str] = set()
    for event in events:
        if event.uuid in seen:
            continue
        seen.add(event.uuid)
        kind = event.event_type
        apps = {t.id for t in event.targets_of("AppInstance")}
        if kind.startswith(_APP_FAMILIES):
            if app_id in apps and kind not in _TAKING_AWAY:
                raise LogDoubt(f"{kind} changed the app itself since the snapshot")
            continue
        if kind.startswith("application.user_membership.") and app_id not in apps:
            continue  # another app's membership
        if kind.startswith(_GROUP_FAMILY) and not groups:
            continue
        if kind in _TAKING_AWAY and _TAKING_AWAY[kind] not in statuses:
            continue
        people = [t for t in event.targets_of("User") if t.id]
        if not people:
            raise LogDoubt(f"a {kind} event ({event.uuid}) names no user")
        for person in people:
            named.setdefault(person.id, person.alternate_id)
    return named


# The full re-check ---------------------------------------------------------------------------
def lookups(
    actions: Sequence[Action], users: Mapping[str, SalesforceUser]
) -> tuple[dict[str, str], list[str]]:
    """What reading ``actions`` one by one looks up: Okta ids (→ login) and logins to find.

    The logins are each action's and the Salesforce user's FederationIdentifier: a user re-created
    or re-assigned in Okta since the plan is found this way.
    """
    by_id = {a.okta_user_id: a.login for a in actions if a.okta_user_id}
    logins: dict[str, None] = {}
    for action in actions:
        logins.setdefault(action.login)
        user = users.get(action.salesforce_id or "")
        federation_id = user.fields.get("FederationIdentifier") if user else None
        if federation_id:
            logins.setdefault(str(federation_id))
    return by_id, list(logins)


def full_cost(
    okta: OktaHook, actions: Sequence[Action], users: Mapping[str, SalesforceUser], assigned: int | None
) -> int:
    """Requests of :func:`current_assignments` (the cheaper of listing the app and per-user reads)."""
    per_user = len(lookups(actions, users)[1]) + 2 * len(actions)
    if assigned is None:
        return per_user
    return min(-(-assigned // okta.page_size) + 1, per_user)


def current_assignments(
    okta: OktaHook,
    app_id: str,
    actions: Sequence[Action],
    users: Mapping[str, SalesforceUser],
    *,
    assigned_estimate: int | None = None,
) -> list[OktaAssignment]:
    """The current Okta state of everyone who could match the users to deprovision, read in full.

    Reads each action's Okta user by id (when the plan had one) and looks up, by login, the
    action's login and the Salesforce user's FederationIdentifier. Both reads are concurrent.

    Those are about three requests per user. When re-reading the app's assignments page by page
    costs fewer (``assigned_estimate``, e.g. the plan's managed active users, over 500 per page),
    the app's current assignments are listed instead and those with one of these ids or logins
    kept: the same users, found assigned or not, in a fraction of the requests (a full reconcile
    deprovisioning 10 % of 10,000 users: 21 pages instead of about 800 user reads).
    """
    by_id, logins = lookups(actions, users)
    pages = -(-(assigned_estimate or 0) // okta.page_size) + 1
    if assigned_estimate is not None and pages < len(logins) + 2 * len(actions):
        wanted = {login.lower() for login in logins}
        return [
            a for a in okta.iter_assignments(app_id) if a.okta_user_id in by_id or a.login.lower() in wanted
        ]
    for login, found in okta.find_users(logins).items():
        if found and found.get("id") and found["id"] not in by_id:
            by_id[str(found["id"])] = login
    return okta.get_assignments(app_id, by_id)


def _full(
    okta: OktaHook,
    app_id: str,
    actions: Sequence[Action],
    users: Mapping[str, SalesforceUser],
    assigned: int | None,
    why: str,
) -> OktaRecheck:
    log.warning("Re-checking every user to deprovision in Okta: %s.", why)
    return OktaRecheck(
        current_assignments(okta, app_id, actions, users, assigned_estimate=assigned), f"full: {why}"
    )


def _changed_since(user: SalesforceUser | None, since: str) -> bool:
    """Whether the Salesforce user changed after ``since`` (unknown: yes; a missing user: no)."""
    if user is None:
        return False
    value = user.fields.get(MODIFIED)
    try:
        modified = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        return modified.tzinfo is None or modified >= datetime.fromisoformat(since.replace("Z", "+00:00"))
    except ValueError:
        return True


def _scope_reads_groups(config: SyncConfig) -> bool:
    return any(f.attribute == "groups" for f in config.scope.filters)
