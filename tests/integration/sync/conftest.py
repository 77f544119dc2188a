"""Fixtures for the sync sandbox tests (helpers in sync_sandbox_helpers)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from simple_salesforce import Salesforce
from sync_sandbox_helpers import REPO, sandbox_client

from okta_salesforce.sync.config import SyncConfig, load_config
from okta_salesforce_testbed.sandbox import Sandboxes


@pytest.fixture(scope="session")
def sync_config() -> SyncConfig:
    return load_config(REPO / "include" / "okta_salesforce.yaml")


@pytest.fixture
def sf_sandbox(tmp_path: Path) -> Iterator[tuple[Sandboxes, Salesforce]]:
    """A started sandbox pair with a 200-person company and a client on its Salesforce."""
    with Sandboxes(users=200, directory=tmp_path / "sandbox") as sb:
        with sb.salesforce_app.lock:  # room for the hundreds of new hires some tests create
            for license_record in sb.salesforce_app.org.table("UserLicense").values():
                license_record["TotalLicenses"] += 1_000
        yield sb, sandbox_client(sb)
