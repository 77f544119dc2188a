"""Fixtures for the sync core: the shipped config and an in-memory Salesforce (see sync_helpers)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sync_helpers import CONFIG_PATH, OrgClient

from okta_salesforce.sync.config import SyncConfig, load_config
from okta_salesforce_testbed.sandbox.salesforce_org import Org
from okta_salesforce_testbed.sandbox.salesforce_seed import seed_org
from okta_salesforce_testbed.sandbox.seed import Scenario, Seed


@pytest.fixture(scope="session")
def config() -> SyncConfig:
    return load_config(CONFIG_PATH)


@pytest.fixture
def org_client() -> Callable[..., tuple[OrgClient, Seed]]:
    """Factory: an in-memory org seeded with ``users`` people, and its seed."""

    def make(users: int = 40, seed: int = 7, scenario: Scenario | None = None) -> tuple[OrgClient, Seed]:
        company = Seed(users=users, seed=seed, scenario=scenario or Scenario())
        org = Org()
        seed_org(org, company)
        return OrgClient(org), company

    return make
