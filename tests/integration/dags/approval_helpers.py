"""Helpers for the approval DAG tests: the metadata DB as the scheduler sees it, and background runs."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from okta_salesforce_testbed.airflow_env import AirflowEnvironment

HERE = Path(__file__).parent
APPROVAL = "okta_salesforce_deprovision_approval"


def runs(env: AirflowEnvironment, dag_id: str) -> list[dict[str, Any]]:
    """The DAG's runs in the metadata DB (run_id, state, conf), oldest first."""
    with sqlite3.connect(env.home / "airflow.db") as db:
        rows = db.execute(
            "SELECT run_id, state, conf FROM dag_run WHERE dag_id = ? ORDER BY id", (dag_id,)
        ).fetchall()
    return [{"run_id": r[0], "state": r[1], "conf": _conf(r[2])} for r in rows]


def _conf(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if isinstance(value, bytes):
        value = value.decode()
    return json.loads(value) if isinstance(value, str) else value


def hitl(env: AirflowEnvironment, dag_id: str, task_id: str, option: str, *flags: str) -> int:
    """Run hitl_respond.py with the test's Airflow environment; return its exit code."""
    command = [sys.executable, str(HERE / "hitl_respond.py"), dag_id, task_id, option, *flags]
    return subprocess.run(command, env=env.env(), check=False).returncode


@contextmanager
def background_dags_test(
    env: AirflowEnvironment, dag_id: str, conf: dict[str, Any]
) -> Iterator[subprocess.Popen]:
    """``airflow dags test`` running in the background (killed if the block fails)."""
    env.logs.mkdir(parents=True, exist_ok=True)
    with (env.logs / f"dags-test-{dag_id}-background.log").open("a") as log:
        run = subprocess.Popen(
            [sys.executable, "-m", "airflow", "dags", "test", dag_id, "--conf", json.dumps(conf)],
            env=env.env(),
            stdout=log,
            stderr=log,
        )
        try:
            yield run
        finally:
            if run.poll() is None:
                run.kill()
                run.wait()
