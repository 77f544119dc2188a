"""``okta-salesforce init`` into an empty Airflow project, then ``airflow dags list`` shows the DAGs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration


def _run(*args: str, env: dict[str, str]) -> str:
    result = subprocess.run(
        [sys.executable, "-m", *args], env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    return result.stdout


def test_init_then_airflow_lists_the_dags(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    env = dict(os.environ)
    env.pop("OKTA_SALESFORCE_CONFIG", None)
    env.update(
        AIRFLOW_HOME=str(tmp_path / "home"),
        AIRFLOW__CORE__DAGS_FOLDER=str(project / "dags"),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{tmp_path / 'airflow.db'}",
        AIRFLOW__OKTA_SALESFORCE__CONFIG_PATH=str(project / "include" / "okta_salesforce.yaml"),
    )
    _run("airflow", "db", "migrate", env=env)
    printed = _run("okta_salesforce.cli", "init", str(project), env=env)
    assert "airflow pools set salesforce_api" in printed  # the fresh database has no such pool
    assert "could not be asked" not in printed
    listed = json.loads(
        _run("airflow", "dags", "list", "--local", "-o", "json", env=env).strip().splitlines()[-1]
    )
    assert {row["dag_id"] for row in listed} == {
        "okta_salesforce_reconcile",
        "okta_salesforce_sync",
        "okta_salesforce_events",
        "okta_salesforce_deprovision_approval",
    }
    assert all(row["fileloc"].startswith(str(project / "dags")) for row in listed)
