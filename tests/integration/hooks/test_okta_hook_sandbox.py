"""OktaHook against the Okta sandbox over verified HTTPS: paging, faults, auth, secrets, polling."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from okta_salesforce.hooks.okta import OktaApiError, OktaError, OktaHook
from okta_salesforce.hooks.okta_events import EventCursor, IncrementalReader, MemoryCursorStore
from okta_salesforce_testbed.sandbox.okta import OktaApp
from okta_salesforce_testbed.sandbox.seed import Seed
from okta_salesforce_testbed.sandbox.server import SandboxServer
from okta_salesforce_testbed.sandbox.tls import SandboxCA

pytestmark = pytest.mark.integration


@dataclass
class OktaSandbox:
    """The Okta sandbox alone (the Salesforce one is not needed here)."""

    seed: Seed
    app: OktaApp
    server: SandboxServer
    ca: SandboxCA

    def connection(self, auth_mode: str = "api_token", **extra: object) -> str:
        creds = self.seed.credentials
        conn: dict = {
            "conn_type": "okta",
            "host": self.server.url,
            "extra": {"auth_mode": auth_mode, "ca_bundle": str(self.ca.ca_path), **extra},
        }
        if auth_mode == "private_key":
            conn["extra"] |= {
                "client_id": creds.okta_client_id,
                "key_id": creds.okta_key_id,
                "private_key": self.app.service_private_key_pem,
            }
        else:
            conn["password"] = creds.okta_api_token
        return json.dumps(conn)

    @property
    def assigned(self) -> dict[str, str]:
        """Seeded assignments: user id -> expected scope."""
        return {p.okta_id: "GROUP" if p.via_group else "USER" for p in self.seed.people if p.assigned}


def _start(directory: Path, users: int) -> OktaSandbox:
    seed = Seed(users=users)
    ca = SandboxCA(directory)
    app = OktaApp.from_seed(seed, directory=directory)
    server = SandboxServer(app, ca)
    app.base_url = server.url
    server.start()
    return OktaSandbox(seed, app, server, ca)


@pytest.fixture(scope="module")
def big_okta(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OktaSandbox]:
    """1,300 people (about 1,100 assigned): three pages of 500. Faults and counters reset per test."""
    sandbox = _start(tmp_path_factory.mktemp("okta-big"), 1300)
    yield sandbox
    sandbox.server.stop()


@pytest.fixture
def okta(big_okta: OktaSandbox, monkeypatch: pytest.MonkeyPatch) -> Iterator[OktaSandbox]:
    monkeypatch.setenv("AIRFLOW_CONN_OKTA_DEFAULT", big_okta.connection())
    big_okta.server.clear_faults()
    big_okta.server.reset_counters()
    yield big_okta
    big_okta.server.clear_faults()


@pytest.fixture
def small_okta(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[OktaSandbox]:
    """A 60-person org for tests that change assignments."""
    sandbox = _start(tmp_path, 60)
    monkeypatch.setenv("AIRFLOW_CONN_OKTA_DEFAULT", sandbox.connection())
    yield sandbox
    sandbox.server.stop()


def _snapshot(hook: OktaHook, sandbox: OktaSandbox) -> dict[str, str]:
    records = list(hook.iter_assignments(sandbox.seed.okta_app_id))
    ids = [r.okta_user_id for r in records]
    assert len(ids) == len(set(ids)), "duplicate records"
    return {r.okta_user_id: r.scope for r in records}


def fast_hook(**kwargs: object) -> OktaHook:
    return OktaHook(backoff=0.05, **kwargs)  # type: ignore[arg-type]


# Full snapshot -------------------------------------------------------------------------------------
def test_full_snapshot_reads_every_page_with_direct_and_group_assignments(okta: OktaSandbox) -> None:
    with fast_hook() as hook:
        records = list(hook.iter_assignments(okta.seed.okta_app_id))
    assert {r.okta_user_id: r.scope for r in records} == okta.assigned
    assert len(records) > 1000
    assert okta.server.counters["apps.users.list"] == 3
    assert {r.scope for r in records} == {"USER", "GROUP"}
    person = next(p for p in okta.seed.people if p.assigned)
    record = next(r for r in records if r.okta_user_id == person.okta_id)
    assert record.login == person.login
    assert record.app_username == person.login
    assert record.user_status == "ACTIVE"
    assert record.profile["department"] == person.department
    assert record.profile["firstName"] == person.first_name


def test_rate_limit_then_success(okta: OktaSandbox) -> None:
    okta.server.inject("apps.users.list", "rate_limit", times=1, after=1)
    started = time.monotonic()
    with fast_hook() as hook:
        assert _snapshot(hook, okta) == okta.assigned
    assert okta.server.counters["apps.users.list"] == 4
    assert time.monotonic() - started >= 0.5, "the retry must wait for X-Rate-Limit-Reset"


@pytest.mark.parametrize("kind", ["server_error", "drop"])
def test_transient_failure_in_the_middle_of_pagination(okta: OktaSandbox, kind: str) -> None:
    okta.server.inject("apps.users.list", kind, times=2, after=1)
    with fast_hook() as hook:
        assert _snapshot(hook, okta) == okta.assigned
    assert okta.server.counters["apps.users.list"] == 5


def test_persistent_server_error_fails_with_a_clear_error(okta: OktaSandbox) -> None:
    okta.server.inject("apps.users.list", "server_error", times=100, after=1)
    with (
        fast_hook(max_retries=2) as hook,
        pytest.raises(OktaApiError, match=r"failed after 3 attempts.*E0000009"),
    ):
        list(hook.iter_assignments(okta.seed.okta_app_id))


def test_persistent_dropped_connection_fails_with_a_clear_error(okta: OktaSandbox) -> None:
    okta.server.inject("apps.users.list", "drop", times=100)
    with fast_hook(max_retries=1) as hook, pytest.raises(OktaApiError, match="connection failed"):
        list(hook.iter_assignments(okta.seed.okta_app_id))


def test_unknown_status_keeps_the_record(small_okta: OktaSandbox) -> None:
    person = next(p for p in small_okta.seed.people if p.assigned)
    small_okta.app.add_unknown_status(person.okta_id, "PENDING_FUTURE")
    with fast_hook() as hook:
        records = {r.okta_user_id: r for r in hook.iter_assignments(small_okta.seed.okta_app_id)}
    assert set(records) == set(small_okta.assigned)
    assert records[person.okta_id].assignment_status == "PENDING_FUTURE"


def test_unknown_app_is_a_not_found_error(okta: OktaSandbox) -> None:
    with fast_hook() as hook, pytest.raises(OktaApiError, match=r"404.*E0000007"):
        list(hook.iter_assignments("0oanosuchapp"))


# Authentication and TLS ----------------------------------------------------------------------------
def test_private_key_jwt_against_the_token_endpoint(
    okta: OktaSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_OKTA_DEFAULT", okta.connection("private_key"))
    with fast_hook() as hook:
        assert _snapshot(hook, okta) == okta.assigned
        assert hook.test_connection() == (True, f"Connected to {okta.server.url} (private_key).")
    assert okta.server.counters["oauth.token"] == 1


def test_revoked_access_token_is_renewed(okta: OktaSandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_OKTA_DEFAULT", okta.connection("private_key"))
    with fast_hook() as hook:
        hook.get("/api/v1/logs", {"limit": 1})
        okta.app.expire_access_tokens()
        hook.get("/api/v1/logs", {"limit": 1})
    assert okta.server.counters["oauth.token"] == 2
    assert okta.server.counters["logs.list"] == 3


def test_wrong_private_key_fails_without_retrying(okta: OktaSandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    other = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    conn = json.loads(okta.connection("private_key"))
    conn["extra"]["private_key"] = other.decode()
    monkeypatch.setenv("AIRFLOW_CONN_OKTA_DEFAULT", json.dumps(conn))
    with fast_hook() as hook:
        ok, message = hook.test_connection()
    assert not ok
    assert "authentication failed" in message
    assert okta.server.counters["oauth.token"] == 1


def test_ca_bundle_is_required_and_honoured(okta: OktaSandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    conn = json.loads(okta.connection())
    del conn["extra"]["ca_bundle"]
    monkeypatch.setenv("AIRFLOW_CONN_OKTA_DEFAULT", json.dumps(conn))
    with fast_hook() as hook, pytest.raises(OktaError, match=r"TLS verification failed.*ca_bundle"):
        hook.get("/api/v1/logs", {"limit": 1})
    assert okta.server.total_requests() == 0


def test_sdk_client_keeps_the_ca_bundle_through_its_deep_copies(okta: OktaSandbox) -> None:
    """okta.client.Client deep-copies its config; the CA bundle must still be trusted after it."""
    import asyncio

    with fast_hook() as hook:
        client = hook.get_conn()
        executor = client.get_request_executor()

        async def call() -> int:
            request, _ = await executor.create_request("GET", f"{okta.server.url}/api/v1/logs?limit=1")
            _, response, _, error = await executor.fire_request(request)
            assert error is None, error
            return response.status

        assert asyncio.run(call()) == 200


def test_secrets_never_reach_logs_or_errors(
    small_okta: OktaSandbox,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    token = small_okta.seed.credentials.okta_api_token
    key_line = small_okta.app.service_private_key_pem.splitlines()[1]
    sdk_logger = logging.getLogger("okta-sdk-python")
    caplog.set_level(logging.DEBUG)
    with fast_hook() as hook:
        list(hook.iter_assignments(small_okta.seed.okta_app_id))
        caplog.set_level(logging.DEBUG, logger="okta-sdk-python")  # someone turns the SDK up
        sdk_logger.disabled = False
        list(hook.iter_assignments(small_okta.seed.okta_app_id))
    assert "Request: {" in caplog.text, "the SDK logged its request dicts"
    small_okta.server.inject("logs.list", "server_error", times=6)
    with fast_hook(max_retries=1) as hook, pytest.raises(OktaApiError) as failure:
        hook.get("/api/v1/logs")
    assert token not in str(failure.value)
    assert token not in repr(failure.value.__cause__)
    small_okta.server.clear_faults()
    wrong = json.loads(small_okta.connection())
    wrong["password"] = token[:-4] + "XXXX"
    monkeypatch.setenv("AIRFLOW_CONN_OKTA_DEFAULT", json.dumps(wrong))
    with fast_hook() as hook:
        ok, message = hook.test_connection()
    assert not ok
    assert "E0000011" in message
    assert wrong["password"] not in message
    monkeypatch.setenv("AIRFLOW_CONN_OKTA_DEFAULT", small_okta.connection("private_key"))
    with fast_hook() as hook:
        assert hook.test_connection()[0]
    out, err = capfd.readouterr()
    for text in (caplog.text, out, err):
        assert token not in text
        assert wrong["password"] not in text
        assert key_line not in text
        assert "eyJ" not in text  # no client assertion or access token


# Single users and provisioning on demand ---------------------------------------------------------
def test_current_state_of_single_users(small_okta: OktaSandbox) -> None:
    people = small_okta.seed.people
    assigned = next(p for p in people if p.assigned and p.via_group)
    unassigned = next(p for p in people if not p.assigned)
    app_id = small_okta.seed.okta_app_id
    with fast_hook() as hook:
        records = hook.get_assignments(
            app_id, {assigned.okta_id: "", unassigned.okta_id: "", "00unosuchuser": "gone@acme.example.com"}
        )
        by_login = list(
            hook.iter_assignments_for_logins(app_id, [unassigned.login, "nobody@acme.example.com"])
        )
    first, second, gone = records
    assert (first.okta_user_id, first.assigned, first.scope, first.login) == (
        assigned.okta_id,
        True,
        "GROUP",
        assigned.login,
    )
    assert (second.assigned, second.login, second.user_status) == (False, unassigned.login, "ACTIVE")
    assert second.profile["department"] == unassigned.department
    assert (gone.assigned, gone.login, gone.user_status) == (False, "gone@acme.example.com", "DELETED")
    assert [r.okta_user_id for r in by_login] == [unassigned.okta_id, ""]
    # A login Okta no longer knows (404) is planned as unassigned, so its Salesforce user is deprovisioned.
    deleted = by_login[1]
    assert (deleted.login, deleted.assigned, deleted.user_status) == (
        "nobody@acme.example.com",
        False,
        "DELETED",
    )


def test_find_users_reads_many_logins_at_once(small_okta: OktaSandbox) -> None:
    known = [p for p in small_okta.seed.people][:3]
    with fast_hook() as hook:
        found = hook.find_users([*(p.login for p in known), "nobody@acme.example.com", known[0].login])
    assert list(found) == [*(p.login for p in known), "nobody@acme.example.com"]
    assert [found[p.login]["id"] for p in known] == [p.okta_id for p in known]
    assert found["nobody@acme.example.com"] is None


# Incremental ----------------------------------------------------------------------------------------
def test_incremental_polling_across_runs_sees_each_change_once(small_okta: OktaSandbox) -> None:
    app_id, sandbox = small_okta.seed.okta_app_id, small_okta.app
    unassigned = [p for p in small_okta.seed.people if not p.assigned]
    direct = [p for p in small_okta.seed.people if p.assigned and not p.via_group]
    store = MemoryCursorStore()

    def run() -> tuple[list[str], dict[str, bool]]:
        with fast_hook() as hook:
            reader = IncrementalReader(hook, app_id, store=store, key="cursor")
            result = reader.poll()
            records = reader.read(result)
            reader.commit(result)
        ids = [r.okta_user_id for r in records]
        assert len(ids) == len(set(ids))
        return [e.uuid for e in result.events], {r.okta_user_id: r.assigned for r in records}

    assert run() == ([], {})
    sandbox.assign(unassigned[0].okta_id)
    sandbox.unassign(direct[0].okta_id)
    events_1, state_1 = run()
    assert state_1 == {unassigned[0].okta_id: True, direct[0].okta_id: False}

    sandbox.assign(unassigned[1].okta_id, via_group=True)
    sandbox.update_profile(direct[1].okta_id, login="renamed@acme.example.com")
    sandbox.unassign(unassigned[0].okta_id)  # the user added in run 1 leaves again
    sandbox.assign(direct[0].okta_id)  # and the one removed comes back
    sandbox.update_profile(direct[2].okta_id, department="Finance")  # an app holder's profile changed
    sandbox.update_profile(unassigned[2].okta_id, department="Finance")  # someone without the app
    events_2, state_2 = run()
    assert state_2 == {
        unassigned[1].okta_id: True,
        direct[1].okta_id: True,
        unassigned[0].okta_id: False,
        direct[0].okta_id: True,
        direct[2].okta_id: True,
    }
    assert not set(events_1) & set(events_2)
    assert run() == ([], {})
    assert store.load("cursor").seen_uuids[-len(events_2) :] == events_2


def test_incremental_resumes_from_time_when_the_stored_link_is_refused(small_okta: OktaSandbox) -> None:
    app_id, sandbox = small_okta.seed.okta_app_id, small_okta.app
    person = next(p for p in small_okta.seed.people if not p.assigned)
    store = MemoryCursorStore()
    with fast_hook() as hook:
        reader = IncrementalReader(hook, app_id, store=store, key="c")
        sandbox.assign(person.okta_id)
        first = reader.poll()
        reader.commit(first)
        assert list(first.users) == [person.okta_id]
        cursor = store.load("c")
        store.save(
            "c", EventCursor("/api/v1/logs?after=not-a-cursor", cursor.last_published, cursor.seen_uuids)
        )
        again = reader.poll()
    assert again.events == []
    assert again.users == {}


# Async methods, one decode per page, clear 401 --------------------------------------------------------
def test_async_snapshot_matches_the_sync_one_trimmed_and_rate_aware(okta: OktaSandbox) -> None:
    import asyncio

    async def read() -> list:
        async with fast_hook() as hook:
            records = [
                r async for r in hook.aiter_assignments(okta.seed.okta_app_id, attributes={"department"})
            ]
            return [records, hook.rate_limit]

    records, rate_limit = asyncio.run(read())
    assert {r.okta_user_id: r.scope for r in records} == okta.assigned
    assert {frozenset(r.profile) for r in records} == {frozenset({"department", "login"})}
    person = next(p for p in okta.seed.people if p.assigned)
    assert next(r for r in records if r.okta_user_id == person.okta_id).profile == {
        "department": person.department,
        "login": person.login,
    }
    assert rate_limit is not None
    assert 0 <= rate_limit.remaining <= rate_limit.limit


def test_each_page_is_decoded_once_and_the_sdk_decodes_none(
    okta: OktaSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    from types import SimpleNamespace

    import orjson
    from okta import request_executor

    from okta_salesforce.hooks import okta_response

    decodes: list[int] = []

    def counting_loads(text: str | bytes) -> object:
        decodes.append(len(text))
        return orjson.loads(text)

    sdk_decodes: list[object] = []

    def sdk_decode(text: object, **kwargs: object) -> object:
        sdk_decodes.append(text)  # the SDK swallows any exception around its own decode
        return json.loads(text)  # type: ignore[arg-type]

    monkeypatch.setattr(
        okta_response, "orjson", SimpleNamespace(loads=counting_loads, JSONDecodeError=ValueError)
    )
    monkeypatch.setattr(request_executor, "json", SimpleNamespace(loads=sdk_decode, dumps=json.dumps))
    with fast_hook() as hook:
        assert _snapshot(hook, okta) == okta.assigned
    assert len(decodes) == okta.server.counters["apps.users.list"] == 3
    assert sdk_decodes == []


def test_a_refused_api_token_is_a_clear_error_without_retries(
    okta: OktaSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    from okta_salesforce.hooks.okta import OktaAuthError

    wrong = "00wrong-token-0123456789abcdefghijklmnopq"
    monkeypatch.setenv(
        "AIRFLOW_CONN_OKTA_DEFAULT", json.dumps(json.loads(okta.connection()) | {"password": wrong})
    )
    with pytest.raises(OktaAuthError) as info, fast_hook() as hook:
        list(hook.iter_assignments(okta.seed.okta_app_id))
    assert info.value.status == 401
    assert "check the API token in the Okta connection" in str(info.value)
    assert wrong not in str(info.value)
    assert okta.server.counters["apps.users.list"] == 1
