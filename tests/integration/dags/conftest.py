"""Fixtures for DAG runs with ``airflow dags test``: one migrated metadata DB per worker, copied per test."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from okta_salesforce_testbed.airflow_env import AirflowEnvironment
from okta_salesforce_testbed.sandbox import Sandboxes


@pytest.fixture(scope="session")
def migrated_airflow(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An Airflow home with a migrated SQLite DB and the ``salesforce_api`` pool (built once)."""
    workdir = tmp_path_factory.mktemp("airflow-template")
    with Sandboxes(users=5, directory=workdir / "sandbox") as sandboxes:
        AirflowEnvironment(workdir=workdir, sandboxes=sandboxes).setup()
    return workdir / "airflow"


@pytest.fixture
def airflow_env(tmp_path: Path, migrated_airflow: Path, sandboxes: Sandboxes) -> AirflowEnvironment:
    """A private copy of the migrated Airflow home, pointed at this test's sandboxes."""
    shutil.copytree(migrated_airflow, tmp_path / "airflow")
    return AirflowEnvironment(workdir=tmp_path, sandboxes=sandboxes)
