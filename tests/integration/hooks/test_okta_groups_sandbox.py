"""Okta groups as mapping input, read in bulk from the Okta sandbox (full runs) or per user."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from okta_salesforce.hooks.okta import OktaHook
from okta_salesforce.hooks.okta_groups import GroupReader
from okta_salesforce_testbed.sandbox.okta import OktaApp
from okta_salesforce_testbed.sandbox.seed import Seed
from okta_salesforce_testbed.sandbox.server import SandboxServer
from okta_salesforce_testbed.sandbox.tls import SandboxCA

pytestmark = pytest.mark.integration


@pytest.fixture
def okta(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Seed, OktaApp, SandboxServer]]:
    seed = Seed(users=300)
    ca = SandboxCA(tmp_path)
    app = OktaApp.from_seed(seed, directory=tmp_path)
    server = SandboxServer(app, ca)
    app.base_url = server.url
    server.start()
    conn = {
        "conn_type": "okta",
        "host": server.url,
        "password": seed.credentials.okta_api_token,
        "extra": {"ca_bundle": str(ca.ca_path)},
    }
    monkeypatch.setenv("AIRFLOW_CONN_OKTA_DEFAULT", json.dumps(conn))
    yield seed, app, server
    server.stop()


def test_full_runs_read_groups_by_listing_members_not_per_user(okta) -> None:
    seed, _app, server = okta
    with OktaHook() as hook:
        reader = GroupReader(hook, ["Sales", "Support"])
        server.reset_counters()
        records = list(reader.attach(hook.iter_assignments(seed.okta_app_id), bulk=True))
    assigned = {p.okta_id: p for p in seed.people if p.assigned}
    assert len(records) == len(assigned) > 200
    for record in records:
        department = assigned[record.okta_user_id].department
        expected = {"Sales": ("Sales",), "Support": ("Support",)}.get(department, ())
        assert record.groups == expected, (record.login, department)
    # 2 lookups + one page of members for each group, whatever the number of users.
    assert reader.requests == 4
    assert server.counters["groups.list"] == 2
    assert server.counters["groups.users.list"] == 2
    assert server.counters["users.groups.list"] == 0


def test_small_runs_read_each_users_groups(okta) -> None:
    seed, app, server = okta
    person = next(p for p in seed.people if p.assigned and p.department == "Sales")
    app.set_group_membership("Support", person.login, True)
    app.set_group_membership("Engineering", person.login, True)
    with OktaHook() as hook:
        reader = GroupReader(hook, ["Sales", "Support"])
        server.reset_counters()
        [record] = reader.attach(
            hook.iter_assignments_for_logins(seed.okta_app_id, [person.login]), bulk=False
        )
    assert record.groups == ("Sales", "Support")  # Engineering is not read
    assert server.counters["users.groups.list"] == 1
    assert server.counters["groups.list"] == 2  # each configured group is looked up once
    app.set_group_membership("Sales", person.login, False)
    with OktaHook() as hook:
        assert GroupReader(hook, ["Sales", "Support"]).groups_of(person.okta_id) == ("Support",)


def test_the_sandbox_refuses_search_it_does_not_support(okta) -> None:
    _seed, _app, _server = okta
    from okta_salesforce.hooks.okta import OktaApiError

    with OktaHook() as hook, pytest.raises(OktaApiError, match="E0000031"):
        hook.get("/api/v1/groups", {"search": 'profile.description sw "x"'})
    with OktaHook() as hook:
        body = hook.get("/api/v1/groups", {"q": "Sa"}).body
    assert [g["profile"]["name"] for g in body] == ["Sales", "Salesforce Users"]


@pytest.mark.parametrize("bulk", [True, False])
def test_a_configured_group_okta_does_not_know_fails_the_read(okta, bulk: bool) -> None:
    """A renamed group must not silently take its entitlements away from everyone."""
    from okta_salesforce.hooks.okta import OktaError

    seed, _app, _server = okta
    with OktaHook() as hook, pytest.raises(OktaError, match="Okta has no group named 'Sales Team'"):
        list(
            GroupReader(hook, ["Sales", "Sales Team"]).attach(
                hook.iter_assignments(seed.okta_app_id), bulk=bulk
            )
        )
