"""A self-contained Airflow installation pointed at the sandboxes: the demo's and the tests' engine.

It owns an ``AIRFLOW_HOME`` with an embedded SQLite metadata database, the environment that
points ``okta_default`` and ``salesforce_oauth_default`` at running sandboxes, and runs
Airflow's own CLI (``airflow db migrate``, ``airflow dags test``, ``airflow standalone``)
in child processes, exactly as a user would.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from okta_salesforce_testbed.sandbox import Sandboxes

REPO_ROOT = Path(__file__).resolve().parents[2]


@dataclass
class AirflowEnvironment:
    """An Airflow home under ``workdir`` whose connections point at ``sandboxes``.

    :param workdir: folder for the Airflow home, run files and logs.
    :param sandboxes: running sandboxes (their URLs, CA and credentials go into the env).
    :param dags_folder: the DAGs to load (this repository's ``dags/`` by default).
    :param extra_env: more environment variables for every Airflow process.
    """

    workdir: Path
    sandboxes: Sandboxes
    dags_folder: Path = REPO_ROOT / "dags"
    extra_env: dict[str, str] = field(default_factory=dict)

    @property
    def home(self) -> Path:
        return self.workdir / "airflow"

    @property
    def storage(self) -> Path:
        """Where runs write snapshots, plans, outcomes and reports."""
        return self.workdir / "files"

    @property
    def logs(self) -> Path:
        return self.workdir / "logs"

    def env(self) -> dict[str, str]:
        """The environment of every Airflow process started here."""
        env = dict(os.environ)
        env.update(
            AIRFLOW_HOME=str(self.home),
            AIRFLOW__CORE__DAGS_FOLDER=str(self.dags_folder),
            AIRFLOW__CORE__LOAD_EXAMPLES="False",
            AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{self.home / 'airflow.db'}",
            AIRFLOW__CORE__EXECUTOR="LocalExecutor",
            OKTA_SALESFORCE_STORAGE=self.storage.resolve().as_uri(),
            OKTA_SALESFORCE_CONFIG=env.get(
                "OKTA_SALESFORCE_CONFIG", str(REPO_ROOT / "include" / "okta_salesforce.yaml")
            ),
            PYTHONUNBUFFERED="1",
        )
        env.update(self.sandboxes.connection_env())
        env.update(self.extra_env)
        return env

    def airflow(self, *args: str, log_name: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run ``airflow <args>`` with this environment; its output goes to ``logs/<log_name>.log``."""
        self.logs.mkdir(parents=True, exist_ok=True)
        log_path = self.logs / f"{log_name}.log"
        with log_path.open("w", encoding="utf-8") as log:
            result = subprocess.run(  # noqa: S603 - our own interpreter and fixed arguments
                [sys.executable, "-m", "airflow", *args],
                env=self.env(),
                stdout=log,
                stderr=subprocess.STDOUT,
                text=True,
                check=False,
            )
        if check and result.returncode != 0:
            tail = "\n".join(log_path.read_text(encoding="utf-8").splitlines()[-40:])
            raise RuntimeError(
                f"`airflow {args[0]}` failed (exit {result.returncode}); log {log_path}:\n{tail}"
            )
        return result

    def setup(self) -> None:
        """Create the metadata database and the ``salesforce_api`` pool."""
        self.home.mkdir(parents=True, exist_ok=True)
        self.storage.mkdir(parents=True, exist_ok=True)
        self.airflow("db", "migrate", log_name="db-migrate")
        self.airflow(
            "pools",
            "set",
            "salesforce_api",
            "4",
            "Bounds concurrent Salesforce API work",
            log_name="pools-set",
        )

    def store_connections(self) -> list[str]:
        """Store the sandboxes' two connections in the metadata database (``airflow connections import``).

        The file handed to the CLI is private (mode 0600) and removed at once; the connections'
        secrets are then masked by Airflow in the UI and its API like any stored connection.
        :returns: the stored connection ids.
        """
        connections = {
            "okta_default": self.sandboxes.okta_connection(),
            "salesforce_oauth_default": self.sandboxes.salesforce_connection(),
        }
        path = self.home / "sandbox-connections.json"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(connections, fh)
            self.airflow("connections", "import", "--overwrite", str(path), log_name="connections-import")
        finally:
            path.unlink(missing_ok=True)
        return list(connections)

    def env_with_stored_connections(self) -> dict[str, str]:
        """:meth:`env` without the ``AIRFLOW_CONN_*`` variables (they would win over stored connections)."""
        return {k: v for k, v in self.env().items() if not k.startswith("AIRFLOW_CONN_")}

    def dags_test(self, dag_id: str, conf: dict[str, Any] | None = None, *, check: bool = True) -> int:
        """Run one DAG run in-process with ``airflow dags test``; return its exit code."""
        args = ["dags", "test", dag_id]
        if conf:
            args += ["--conf", json.dumps(conf)]
        return self.airflow(*args, log_name=f"dags-test-{dag_id}", check=check).returncode

    def latest_report(self, dag_id: str) -> Path | None:
        """The newest ``report.jsonl`` written by ``dag_id``."""
        reports = sorted(
            (self.storage / dag_id).glob("*/report.jsonl"), key=lambda path: path.stat().st_mtime
        )
        return reports[-1] if reports else None
