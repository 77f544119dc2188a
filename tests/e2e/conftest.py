"""The e2e tier: one native Celery deployment per test session, shared by every e2e test.

Startup costs about a minute (migration, then the api-server), so the deployment is a session
fixture; every e2e test is marked ``e2e`` and ``xdist_group("e2e")`` (``--dist loadgroup`` keeps them
on one xdist worker, so the deployment starts once). The secrets canary runs last (see
``pytest_collection_modifyitems``) so that it inspects everything the other tests produced.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterator
from typing import Any

import pytest
from e2e_harness import ApiClient, Deployment

SANDBOX_USERS = 200
# Runs last in the e2e group: it checks what every other e2e test left behind.
LAST = "test_secrets_canary.py"


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Run the secrets canary after every other e2e test (it checks what they left behind)."""
    items.sort(key=lambda item: item.path.name == LAST and "e2e" in item.path.parts)


_RUNNING: list[tuple[Deployment, float]] = []


def _shut_down() -> None:
    """Stop the deployment (idempotent) and record its timings and memory in summary.json."""
    while _RUNNING:
        dep, started = _RUNNING.pop()
        summary = {
            "run_id": dep.run_id,
            "timings_s": {k: round(v, 1) for k, v in dep.timings.items()},
            "memory_pss_mb": dep.memory_mb() if dep.processes else {},
            "deployment_lifetime_s": round(time.monotonic() - started, 1),
        }
        dep.stop()
        if dep.run_dir and dep.run_dir.exists():
            (dep.run_dir / "summary.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")


def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> None:
    """Stop the deployment right after the last e2e test, not at the end of the whole session.

    Under ``--dist loadgroup`` the e2e worker also runs other tests; the ~1.5 GB deployment should
    not idle through them.
    """
    if not _RUNNING:
        return
    e2e_items = [i for i in item.session.items if i.get_closest_marker("e2e")]
    if e2e_items and item is e2e_items[-1]:
        _shut_down()


@pytest.fixture(scope="session")
def planted_canary() -> str:
    """A value Airflow does not know is secret; only the e2e_secret_canary DAG prints it."""
    return "planted-canary-" + secrets.token_hex(12)


@pytest.fixture(scope="session")
def e2e_sandboxes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The Okta and Salesforce sandboxes, in this process, as the deployment's tenants."""
    from okta_salesforce_testbed.sandbox import Sandboxes

    with Sandboxes(users=SANDBOX_USERS, directory=tmp_path_factory.mktemp("e2e-sandbox")) as sb:
        yield sb


@pytest.fixture(scope="session")
def deployment(e2e_sandboxes: Any, planted_canary: str) -> Iterator[Deployment]:
    """api-server, scheduler, dag-processor, triggerer and a Celery worker on PostgreSQL + Redis."""
    dep = Deployment(
        connection_env=e2e_sandboxes.connection_env(),
        extra_env={"E2E_PLANTED_CANARY": planted_canary},
    )
    _RUNNING.append((dep, time.monotonic()))
    try:
        dep.start()
        client = dep.client()
        client.ensure_pool("salesforce_api", 4)
        # Tasks read the connections from AIRFLOW_CONN_* (env wins over the DB); the same
        # connections are also stored through the REST API so the connections endpoint (and the
        # UI) hold real secrets that the canary checks are masked.
        client.put_connection("okta_default", e2e_sandboxes.okta_connection())
        client.put_connection("salesforce_oauth_default", e2e_sandboxes.salesforce_connection())
        yield dep
    finally:
        _shut_down()


@pytest.fixture(scope="session")
def api(deployment: Deployment) -> ApiClient:
    """A REST API client logged in as the admin; it keeps every response for the canary."""
    return deployment.client()
