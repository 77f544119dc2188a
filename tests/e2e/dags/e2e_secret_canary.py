"""e2e only (never in dags/): proves the secrets canary's scanner catches a leak in a real task log.

``print_connection_secret`` prints the Okta API token read from ``okta_default``: Airflow's secrets
masker must turn it into ``***`` (the global canary check then finds 0 occurrences). ``leak_planted``
prints ``E2E_PLANTED_CANARY``, a value Airflow does not know is secret: the scanner must find it.
"""

from __future__ import annotations

import os

import pendulum
from airflow.sdk import BaseHook, dag, task


@dag(
    dag_id="e2e_secret_canary",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["e2e"],
)
def e2e_secret_canary() -> None:
    @task
    def print_connection_secret() -> None:
        conn = BaseHook.get_connection("okta_default")
        print(f"okta_default token as the task sees it: {conn.password}")

    @task
    def leak_planted() -> None:
        print(f"deliberately leaked canary: {os.environ['E2E_PLANTED_CANARY']}")

    print_connection_secret()
    leak_planted()


e2e_secret_canary()
