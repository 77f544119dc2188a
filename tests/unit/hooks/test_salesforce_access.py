"""One access token per run: shared through the token store between hook instances and task processes.

``clear_token_cache()`` stands for a new task process (its in-process cache is empty); the token
store is what the processes share.
"""

from __future__ import annotations

import json
import logging
import stat
import time
from collections.abc import Iterator
from typing import Any

import pytest
from test_salesforce import REFRESH_TOKEN, FakeSalesforce, connection, make_hook

from okta_salesforce.hooks import salesforce as salesforce_module
from okta_salesforce.hooks.salesforce_token_store import (
    FileTokenStore,
    MemoryTokenStore,
    StoredAccessToken,
    StoredToken,
    fingerprint,
)

CONN_ID = "salesforce_oauth_default"


@pytest.fixture(autouse=True)
def _fresh(monkeypatch: pytest.MonkeyPatch, tmp_path) -> Iterator[None]:
    monkeypatch.setenv("OKTA_SALESFORCE_LOCK_DIR", str(tmp_path / "locks"))
    monkeypatch.setenv(f"AIRFLOW_CONN_{CONN_ID.upper()}", json.dumps(connection()))
    salesforce_module.clear_token_cache()
    yield
    salesforce_module.clear_token_cache()


def new_task(fake: FakeSalesforce, store: Any, **kwargs: Any):
    """A hook as a fresh task process creates it: empty in-process cache, the shared store."""
    salesforce_module.clear_token_cache()
    return make_hook(fake, store, **kwargs)


def test_tasks_of_a_run_share_one_access_token(tmp_path):
    fake = FakeSalesforce()
    store = FileTokenStore(tmp_path / "tokens")
    for _task in range(5):  # plan, three writers, deprovision: each its own process
        new_task(fake, store).get_conn().limits()
    assert fake.calls["token"] == 1
    assert fake.calls["limits"] == 5


def test_hook_instances_in_one_process_share_the_token():
    fake = FakeSalesforce()
    store = MemoryTokenStore()
    make_hook(fake, store).get_conn().limits()
    make_hook(fake, store).get_conn().limits()
    assert fake.calls["token"] == 1


def test_shared_token_is_stored_secretly(tmp_path, caplog):
    fake = FakeSalesforce()
    store = FileTokenStore(tmp_path / "tokens")
    with caplog.at_level(logging.DEBUG):
        new_task(fake, store).get_conn().limits()
        new_task(fake, store).get_conn().limits()
    shared = store.get_access(CONN_ID)
    assert shared is not None
    assert shared.access_token == fake.issued[0]
    assert shared.access_token not in repr(shared)
    assert shared.access_token not in caplog.text
    for path in (tmp_path / "tokens").iterdir():
        assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, path.name


def test_token_older_than_max_age_is_replaced():
    fake = FakeSalesforce()
    store = MemoryTokenStore()
    new_task(fake, store).get_conn().limits()
    shared = store.get_access(CONN_ID)
    assert shared is not None
    # An hour later (past the 15 minutes Salesforce guarantees at the least):
    store.set_access(CONN_ID, _aged(shared, 3600))
    new_task(fake, store).get_conn().limits()
    assert fake.calls["token"] == 2
    assert store.get_access(CONN_ID).access_token == fake.issued[1]


def test_max_age_is_a_hook_setting():
    fake = FakeSalesforce()
    store = MemoryTokenStore()
    new_task(fake, store).get_conn().limits()
    hook = new_task(fake, store)
    hook.access_token_max_age = 0
    hook.get_conn().limits()
    assert fake.calls["token"] == 2


def test_expired_shared_token_is_refreshed_once_and_retried(tmp_path):
    """401 INVALID_SESSION_ID on the shared token: one refresh, one retry, the new token shared."""
    fake = FakeSalesforce()
    store = FileTokenStore(tmp_path / "tokens")
    new_task(fake, store).get_conn().limits()
    fake.expire_access_tokens()  # the org's session timeout passed, or an admin revoked it
    new_task(fake, store).get_conn().limits()
    assert fake.calls["token"] == 2
    assert fake.calls["401"] == 1
    assert fake.calls["limits"] == 2
    assert store.get_access(CONN_ID).access_token == fake.issued[1]
    new_task(fake, store).get_conn().limits()  # the next task uses the renewed token
    assert fake.calls["token"] == 2


def test_token_renewed_by_another_task_is_taken_from_the_store():
    """A task whose token was rejected takes the one another task renewed, without a token request."""
    fake = FakeSalesforce()
    store = MemoryTokenStore()
    first = new_task(fake, store)
    first.get_conn().limits()
    fake.expire_access_tokens()
    new_task(fake, store).get_conn().limits()  # renews and shares
    assert fake.calls["token"] == 2
    salesforce_module.clear_token_cache()  # `first` still holds the rejected token in its client
    first.get_conn().limits()
    assert fake.calls["token"] == 2
    assert fake.calls["401"] == 2


def test_rotation_keeps_working_with_a_shared_access_token(tmp_path):
    fake = FakeSalesforce(rotate=True)
    store = FileTokenStore(tmp_path / "tokens")
    for _run in range(3):
        new_task(fake, store).get_conn().limits()
        fake.expire_access_tokens()  # each run finds the previous run's token expired
    assert fake.calls["token"] == 3
    stored = store.get(CONN_ID)
    assert stored is not None
    assert stored.refresh_token in fake.refresh_tokens  # the newest one, saved every time
    assert stored.origin == fingerprint(REFRESH_TOKEN)
    assert len(fake.refresh_tokens) == 1


def test_reauthorized_connection_ignores_the_shared_token(monkeypatch):
    fake = FakeSalesforce()
    store = MemoryTokenStore()
    new_task(fake, store).get_conn().limits()
    fake.refresh_tokens.add("canary-new-refresh-token")
    monkeypatch.setenv(
        f"AIRFLOW_CONN_{CONN_ID.upper()}", json.dumps(connection(refresh_token="canary-new-refresh-token"))
    )
    new_task(fake, store).get_conn().limits()
    assert fake.calls["token"] == 2


def test_store_without_access_token_support_still_works():
    class RefreshOnlyStore:
        def __init__(self) -> None:
            self.tokens: dict[str, StoredToken] = {}

        def get(self, conn_id: str) -> StoredToken | None:
            return self.tokens.get(conn_id)

        def set(self, conn_id: str, token: StoredToken) -> None:
            self.tokens[conn_id] = token

    fake = FakeSalesforce()
    store = RefreshOnlyStore()
    new_task(fake, store).get_conn().limits()
    new_task(fake, store).get_conn().limits()
    assert fake.calls["token"] == 2  # each process its own token, as before


def test_a_failing_store_costs_a_token_not_the_task(caplog):
    class BrokenAccessStore(MemoryTokenStore):
        def get_access(self, conn_id: str) -> StoredAccessToken | None:
            raise OSError("store down")

        def set_access(self, conn_id: str, token: StoredAccessToken) -> None:
            raise OSError(f"cannot write {token.access_token}")

    fake = FakeSalesforce()
    store = BrokenAccessStore()
    new_task(fake, store).get_conn().limits()
    new_task(fake, store).get_conn().limits()
    assert fake.calls["token"] == 2
    assert fake.calls["limits"] == 2
    assert not any(token in caplog.text for token in fake.issued)


def test_variable_store_keeps_the_access_token_under_a_masked_name():
    from okta_salesforce.hooks.salesforce_token_store import VariableTokenStore

    key = VariableTokenStore().key(CONN_ID, "access_token")
    # Airflow hides Variable values whose name contains "access_token" (or "token") in the UI.
    assert key == "okta_salesforce__salesforce_oauth_default__access_token"


def _aged(token: StoredAccessToken, seconds: float) -> StoredAccessToken:
    from dataclasses import replace

    return replace(token, obtained_at=time.time() - seconds)
