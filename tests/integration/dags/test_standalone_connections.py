"""``demo --standalone`` stores the sandbox connections in the metadata database, not in the environment."""

from __future__ import annotations

import json
import subprocess
import sys

from okta_salesforce_testbed.airflow_env import AirflowEnvironment
from okta_salesforce_testbed.sandbox import Sandboxes


def test_sandbox_connections_are_stored_in_the_metadata_database(
    airflow_env: AirflowEnvironment, sandboxes: Sandboxes
) -> None:
    assert airflow_env.store_connections() == ["okta_default", "salesforce_oauth_default"]
    env = airflow_env.env_with_stored_connections()
    assert not any(key.startswith("AIRFLOW_CONN_") for key in env)
    assert not (airflow_env.home / "sandbox-connections.json").exists()
    listed = subprocess.run(
        [sys.executable, "-m", "airflow", "connections", "list", "-o", "json"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    ).stdout
    rows = {row["conn_id"]: row for row in json.loads(listed[listed.index("[") :])}
    assert rows["salesforce_oauth_default"]["conn_type"] == "salesforce_oauth"
    assert rows["okta_default"]["conn_type"] == "okta"
    # The list shows no secret (Airflow masks them); the import log neither.
    creds = sandboxes.seed.credentials
    for secret in (creds.salesforce_client_secret, creds.okta_api_token, creds.salesforce_refresh_token):
        assert secret not in listed
        assert secret not in (airflow_env.logs / "connections-import.log").read_text()
