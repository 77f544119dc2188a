"""The Okta side of the deprovisioning re-check, driven by the System Log since the plan's snapshot.

Only the users the log names since the snapshot began are read again; whenever the log cannot be
trusted (no snapshot time, an error, too many events, a change to the app itself) the re-check
falls back to reading everyone as before, and stays safe.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Coroutine, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from okta_salesforce.hooks.okta_errors import OktaApiError
from okta_salesforce.hooks.okta_log import LogPage
from okta_salesforce.hooks.okta_records import event_from_json
from okta_salesforce.operators.recheck_okta import (
    LOG_MARGIN,
    LOG_PAGE_SIZE,
    recheck_assignments,
    recheck_filter,
)
from okta_salesforce.sync.config import load_config
from okta_salesforce.sync.models import Action, OktaAssignment, SalesforceUser
from okta_salesforce.sync.recheck import REASSIGNED, recheck_deprovisions

from .conftest import CONFIG
from .okta_fakes import APP, assignment, company, leavers
from .okta_fakes import FakeOkta as FakeAssignments

NOW = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
STARTED = (NOW - timedelta(minutes=30)).isoformat()


def event(event_type: str, user_id: str, login: str, *, app: str | None = APP, n: int = 0) -> dict[str, Any]:
    targets: list[dict[str, Any]] = [{"id": user_id, "type": "User", "alternateId": login}]
    if app is not None:
        targets += [
            {"id": "0uaappuser", "type": "AppUser", "alternateId": login},
            {"id": app, "type": "AppInstance", "alternateId": "Salesforce.com"},
        ]
    return {
        "uuid": f"{event_type}-{user_id}-{n}",
        "published": (NOW - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "eventType": event_type,
        "outcome": {"result": "SUCCESS"},
        "target": targets,
    }


class FakeOkta(FakeAssignments):
    """The app's assignments and a System Log, with a count of requests of each kind."""

    def __init__(self, assigned: list[OktaAssignment], events: list[dict[str, Any]] | None = None) -> None:
        super().__init__(assigned)
        self.events = events or []
        self.log_error: Exception | None = None
        self.log_requests: list[dict[str, list[str]]] = []

    # System Log: a polling request's pages, as OktaHook.alog_pages gives them.
    def url(self, path: str, params: Mapping[str, Any] | None = None) -> str:
        from urllib.parse import urlencode

        return f"https://org.example{path}" + (f"?{urlencode(params)}" if params else "")

    def run(self, coro: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run(coro)

    async def alog_pages(self, url: str, *, max_pages: int = 200) -> AsyncIterator[LogPage]:
        query = parse_qs(urlsplit(url).query)
        limit = int(query["limit"][0])
        start = 0
        for _ in range(max_pages):
            self.log_requests.append(query)
            if self.log_error is not None:
                raise self.log_error
            items = self.events[start : start + limit]
            start += len(items)
            events = [e for e in (event_from_json(i) for i in items) if e is not None]
            yield LogPage(url, events, len(items), f"/api/v1/logs?after={start}")
            if not items:
                return


@pytest.fixture
def config() -> Any:
    return load_config(CONFIG)


def recheck(okta: FakeOkta, config: Any, actions: list[Action], users: dict[str, SalesforceUser], **kw: Any):
    options: dict[str, Any] = {
        "snapshot_started": STARTED,
        "complete": True,
        "assigned_estimate": 10_000,
        "now": NOW,
        **kw,
    }
    return recheck_assignments(okta, APP, config, actions, users, **options)


def test_no_events_means_one_log_request_and_no_user_reads(config: Any) -> None:
    actions, users = leavers(300)
    okta = FakeOkta(company(10_000))
    found = recheck(okta, config, actions, users)
    assert found.assignments == []
    assert (okta.listed, okta.user_reads, len(okta.log_requests)) == (0, 0, 1)
    assert found.source == "log"
    # One polling request (no until), from the snapshot's start minus the margin.
    query = okta.log_requests[0]
    assert "until" not in query
    assert query["sortOrder"] == ["ASCENDING"]
    assert query["limit"] == [str(LOG_PAGE_SIZE)]
    since = datetime.fromisoformat(query["since"][0].replace("Z", "+00:00"))
    assert since == datetime.fromisoformat(STARTED) - LOG_MARGIN


def test_a_reassignment_in_the_log_is_read_again_and_not_deprovisioned(config: Any) -> None:
    actions, users = leavers(300)
    back = assignment("00uleaver3", "leaver3@acme.test")
    okta = FakeOkta(
        company(10_000, [back]),
        [event("application.user_membership.add", "00uleaver3", "leaver3@acme.test")],
    )
    found = recheck(okta, config, actions, users)
    assert okta.listed == 0
    assert okta.user_reads == 2  # only the user the log names
    assert [a.okta_user_id for a in found.assignments] == ["00uleaver3"]
    checked = recheck_deprovisions(actions, users, found.assignments, config)
    kept = {a.login: why for a, why in checked.dropped}
    assert list(kept) == ["leaver3@acme.test"]
    assert kept["leaver3@acme.test"].startswith(REASSIGNED)


def test_a_new_okta_user_under_the_login_is_found_from_its_events(config: Any) -> None:
    actions, users = leavers(5)
    recreated = assignment("00urecreated", "LEAVER2@acme.test")
    okta = FakeOkta(
        company(100, [recreated]),
        [
            event("user.lifecycle.create", "00urecreated", "LEAVER2@acme.test", app=None),
            event("user.lifecycle.activate", "00urecreated", "LEAVER2@acme.test", app=None),
            event("application.user_membership.add", "00urecreated", "LEAVER2@acme.test"),
        ],
    )
    found = recheck(okta, config, actions, users)
    checked = recheck_deprovisions(actions, users, found.assignments, config)
    assert [a.login for a, _ in checked.dropped] == ["leaver2@acme.test"]


def test_events_that_only_take_access_away_or_concern_other_apps_read_nobody(config: Any) -> None:
    actions, users = leavers(10)
    okta = FakeOkta(
        company(100),
        [
            event("application.user_membership.remove", "00uleaver1", "leaver1@acme.test"),
            event("application.user_membership.add", "00uleaver2", "leaver2@acme.test", app="0oaother"),
            event("user.lifecycle.deactivate", "00uleaver4", "leaver4@acme.test", app=None),
            event("user.lifecycle.suspend", "00uleaver5", "leaver5@acme.test", app=None),
        ],
    )
    found = recheck(okta, config, actions, users)
    assert (found.source, okta.user_reads, okta.listed) == ("log", 0, 0)
    assert len(okta.log_requests) == 2  # the events' page, then the empty page that says "caught up"


def test_status_and_profile_changes_name_their_users(config: Any) -> None:
    actions, users = leavers(10)
    changes = [
        event("user.lifecycle.unsuspend", "00uleaver1", "leaver1@acme.test", app=None),
        event("user.account.unlock", "00uleaver2", "leaver2@acme.test", app=None),
        event("user.account.update_profile", "00uleaver3", "leaver3@acme.test", app=None),
        event("application.user_membership.change_username", "00uleaver4", "leaver4@acme.test"),
    ]
    okta = FakeOkta(company(100), changes)
    recheck(okta, config, actions, users)
    assert okta.user_reads == 2 * 4


def test_a_failed_log_read_falls_back_to_the_full_recheck_and_stays_safe(config: Any) -> None:
    actions, users = leavers(300)
    okta = FakeOkta(company(10_000, [assignment("00uleaver3", "leaver3@acme.test")]))
    okta.log_error = OktaApiError("GET /api/v1/logs: HTTP 500")
    found = recheck(okta, config, actions, users)
    assert found.source.startswith("full")
    assert okta.listed == 1  # 300 leavers of 10,000: listing the app is the cheaper full re-check
    checked = recheck_deprovisions(actions, users, found.assignments, config)
    assert [a.login for a, _ in checked.dropped] == ["leaver3@acme.test"]


@pytest.mark.parametrize("started", [None, "", "not a time", (NOW - timedelta(days=91)).isoformat()])
def test_without_a_usable_snapshot_time_the_recheck_reads_everyone(config: Any, started: str | None) -> None:
    actions, users = leavers(3)
    okta = FakeOkta(company(100, [assignment("00uleaver1", "leaver1@acme.test")]))
    found = recheck(okta, config, actions, users, snapshot_started=started)
    assert found.source.startswith("full")
    assert okta.log_requests == []
    assert okta.user_reads == 3 + 2 * 3  # the per-user re-check of before
    assert [a.okta_user_id for a in found.assignments if a.assigned] == ["00uleaver1"]


def test_more_events_than_the_log_budget_fall_back(config: Any) -> None:
    actions, users = leavers(300)
    noise = [
        event("user.account.update_profile", f"00uother{i}", f"other{i}@acme.test", app=None, n=i)
        for i in range(LOG_PAGE_SIZE * 10)
    ]
    okta = FakeOkta(company(10_000), noise)
    found = recheck(okta, config, actions, users)
    assert found.source.startswith("full")
    assert okta.listed == 1
    assert okta.user_reads == 0


def test_more_changed_users_than_a_listing_costs_fall_back_to_the_listing(config: Any) -> None:
    actions, users = leavers(300)
    changed = [
        event("user.account.update_profile", f"00uuser{i}", f"user{i}@acme.test", app=None, n=i)
        for i in range(200)
    ]
    okta = FakeOkta(company(10_000), changed)
    found = recheck(okta, config, actions, users, assigned_estimate=10_000)
    assert found.source.startswith("full")
    assert (okta.listed, okta.user_reads) == (1, 0)


def test_a_change_to_the_app_itself_falls_back(config: Any) -> None:
    actions, users = leavers(3)
    app_change = event("application.lifecycle.update", "00uadmin", "admin@acme.test")
    okta = FakeOkta(company(100), [app_change])
    found = recheck(okta, config, actions, users)
    assert found.source.startswith("full")


def test_a_salesforce_user_changed_since_the_snapshot_is_looked_up_in_okta_as_before(config: Any) -> None:
    actions, users = leavers(3)
    changed = users[actions[1].salesforce_id or ""]
    now_federated = "someone.else@acme.test"  # an admin pointed the user at another Okta user
    users[changed.id] = SalesforceUser(
        id=changed.id,
        username=changed.username,
        is_active=True,
        fields={**changed.fields, "FederationIdentifier": now_federated, "LastModifiedDate": NOW.isoformat()},
    )
    okta = FakeOkta(company(100, [assignment("00usomeone", now_federated)]))
    found = recheck(okta, config, actions, users)
    assert found.source == "log"
    assert [a.okta_user_id for a in found.assignments if a.assigned] == ["00usomeone"]
    checked = recheck_deprovisions(actions, users, found.assignments, config)
    assert [a.login for a, _ in checked.dropped] == ["leaver1@acme.test"]


def test_the_filter_reads_group_membership_only_when_the_scope_does(config: Any) -> None:
    from dataclasses import replace

    from okta_salesforce.sync.config_scope import AttributeFilter

    assert "group.user_membership." not in recheck_filter(config)
    scoped = replace(
        config, scope=replace(config.scope, filters=(AttributeFilter("groups", values=("Sales",)),))
    )
    assert 'eventType sw "group.user_membership."' in recheck_filter(scoped)


def test_an_incremental_plan_is_rechecked_in_full(config: Any) -> None:
    """A plan of some users only (events, on demand) never saw the other Okta users that may match its
    Salesforce users (e.g. by FederationIdentifier): only a plan of everyone can lean on the log."""
    actions, users = leavers(3)
    unchanged = assignment("00uother", "leaver1@acme.test")  # matches leaver1 by login, no event
    okta = FakeOkta(company(100, [unchanged]))
    found = recheck(okta, config, actions, users, complete=False)
    assert found.source.startswith("full")
    assert okta.log_requests == []
    checked = recheck_deprovisions(actions, users, found.assignments, config)
    assert [a.login for a, _ in checked.dropped] == ["leaver1@acme.test"]
