"""A multi-process Airflow deployment of the events Dag against the sandboxes, for tests and benchmarks.

Starts a fresh PostgreSQL metadata database and Airflow's ``api-server``, ``scheduler``
(LocalExecutor), ``dag-processor`` and ``triggerer`` as separate processes, with only the
``okta_salesforce_events`` Dag. With ``push=True`` it also puts the allow-list TLS reverse proxy
in front of the API server and can register the Okta Event Hook in the Okta sandbox
(:meth:`EventDeployment.enable_push`), as an identity admin would. Every process it starts is
its own process-group leader and is stopped by its id, even on failure.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, TypeVar

from okta_salesforce_testbed.airflow_env import REPO_ROOT, AirflowEnvironment

if TYPE_CHECKING:
    from okta_salesforce_testbed.sandbox import Sandboxes

EVENTS_DAG = REPO_ROOT / "dags" / "okta_salesforce_events.py"
DAG_ID = "okta_salesforce_events"
PG_DSN = os.environ.get("E2E_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer")
#: The receiver's path on the API server (the only path the reverse proxy lets through).
HOOK_PATH = "/okta-salesforce/event-hooks/okta"
#: What the sync needs from Okta Event Hooks (see okta_salesforce.event_hook.delivery).
HOOK_EVENTS = [
    "application.user_membership.add",
    "application.user_membership.remove",
    "application.user_membership.change_username",
    "user.account.update_profile",
    "user.lifecycle.suspend",
    "user.lifecycle.unsuspend",
    "user.lifecycle.reactivate",
]
T = TypeVar("T")


class DeploymentError(RuntimeError):
    """A component did not start, or a wait timed out."""


def wait_for(what: str, check: Callable[[], T | None], *, timeout: float, interval: float = 0.25) -> T:
    """Poll ``check`` until it returns something truthy; raise :class:`DeploymentError` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(interval)
    raise DeploymentError(f"timed out after {timeout:.0f} s waiting for {what}")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class _Process:
    name: str
    popen: subprocess.Popen[bytes]
    log: IO[bytes]

    @property
    def pid(self) -> int:
        return self.popen.pid


@dataclass
class EventDeployment:
    """The event-driven Dag on a multi-process Airflow against running sandboxes.

    :param workdir: Airflow home, Dags folder, run files and component logs go here.
    :param sandboxes: running sandboxes.
    :param poll_interval: the trigger's System Log poll interval, in seconds.
    :param dsn: a PostgreSQL server DSN; a database is created for this deployment and dropped after.
    :param push_poll_interval: the trigger's poll interval while push is healthy.
    """

    workdir: Path
    sandboxes: Sandboxes
    poll_interval: float = 2.0
    dsn: str = PG_DSN
    processes: dict[str, _Process] = field(default_factory=dict)
    database: str = field(default_factory=lambda: f"okta_events_{secrets.token_hex(4)}")
    port: int = field(default_factory=_free_port)
    push_poll_interval: float = 60.0
    hook_secret: str = field(default_factory=lambda: secrets.token_urlsafe(32), repr=False)
    proxy: Any = None
    hook_id: str | None = None

    @property
    def env(self) -> AirflowEnvironment:
        dags = self.workdir / "dags"
        return AirflowEnvironment(
            workdir=self.workdir,
            sandboxes=self.sandboxes,
            dags_folder=dags,
            extra_env={
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": self._url(self.database),
                "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
                "AIRFLOW__CORE__PARALLELISM": "8",
                "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
                "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{self.port}/execution/",
                "AIRFLOW__API__PORT": str(self.port),
                "AIRFLOW__API_AUTH__JWT_SECRET": self._jwt_secret,
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
                "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
                "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(self.workdir / "task-logs"),
                "OKTA_SALESFORCE_EVENT_POLL_INTERVAL": str(self.poll_interval),
                "OKTA_SALESFORCE_EVENT_PUSH_POLL_INTERVAL": str(self.push_poll_interval),
                # The Event Hook receiver's shared secret (what the admin types into Okta).
                "AIRFLOW_CONN_OKTA_EVENT_HOOK": json.dumps(
                    {
                        "conn_type": "generic",
                        "password": self.hook_secret,
                        "extra": {"header": "Authorization"},
                    }
                ),
            },
        )

    @property
    def _jwt_secret(self) -> str:
        path = self.workdir / ".jwt_secret"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(32), encoding="utf-8")
        return path.read_text(encoding="utf-8")

    def _url(self, database: str) -> str:
        base = self.dsn.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg2://", 1)
        return f"{base}/{database}"

    def _admin_sql(self, statement: str) -> None:
        import psycopg2

        connection = psycopg2.connect(self.dsn)
        try:
            connection.autocommit = True
            with connection.cursor() as cursor:
                cursor.execute(statement)
        finally:
            connection.close()

    def query(self, statement: str, *params: Any) -> list[tuple[Any, ...]]:
        """Rows of a read-only query on this deployment's metadata database."""
        import psycopg2

        connection = psycopg2.connect(self.dsn.rsplit("/", 1)[0] + f"/{self.database}")
        try:
            with connection.cursor() as cursor:
                cursor.execute(statement, params)
                return list(cursor.fetchall())
        finally:
            connection.close()

    def pending_runs(self) -> int:
        """Runs of the events Dag queued or running, plus Asset events waiting to start one."""
        [(runs,)] = self.query(
            "SELECT count(*) FROM dag_run WHERE dag_id = %s AND state IN ('queued', 'running')", DAG_ID
        )
        [(queued,)] = self.query("SELECT count(*) FROM asset_dag_run_queue WHERE target_dag_id = %s", DAG_ID)
        return runs + queued

    # Lifecycle ----------------------------------------------------------------------------------
    def start(self) -> EventDeployment:
        """Create the database, migrate, start every component and wait until the trigger polls."""
        dags = self.workdir / "dags"
        dags.mkdir(parents=True, exist_ok=True)
        shutil.copy(EVENTS_DAG, dags / EVENTS_DAG.name)
        self._admin_sql(f'CREATE DATABASE "{self.database}"')
        self.env.setup()
        for name in COMPONENTS:
            self.start_component(name)
        self.wait_until_polling(timeout=180)
        return self

    def start_component(self, name: str) -> None:
        """Start ``airflow <name>`` in its own process group, logging to ``logs/<name>.log``."""
        if name in self.processes and self.processes[name].popen.poll() is None:
            raise DeploymentError(f"{name} is already running")
        args = ["api-server", "--port", str(self.port)] if name == "api-server" else [name]
        self.env.logs.mkdir(parents=True, exist_ok=True)
        log = (self.env.logs / f"{name}.log").open("ab")
        popen = subprocess.Popen(
            [sys.executable, "-m", "airflow", *args],
            env=self.env.env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.processes[name] = _Process(name, popen, log)

    def stop_component(self, name: str, *, timeout: float = 30) -> None:
        """SIGTERM the component's process group (it is the group leader), SIGKILL it after ``timeout``."""
        process = self.processes.pop(name, None)
        if process is None:
            return
        try:
            if process.popen.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.popen.wait(timeout)
                except subprocess.TimeoutExpired:
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(process.pid, signal.SIGKILL)
                    process.popen.wait(10)
            # Children left behind in the group (task processes) go too.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
        finally:
            process.log.close()

    def restart_triggerer(self, *, down_for: Callable[[], None] | None = None) -> None:
        """Stop the triggerer, run ``down_for`` while it is down, start it again."""
        self.stop_component("triggerer")
        if down_for:
            down_for()
        self.start_component("triggerer")

    # Push (Okta Event Hooks) -----------------------------------------------------------------------
    def enable_push(self) -> str:
        """Expose the receiver through the HTTPS proxy and register the hook in the Okta sandbox.

        What an identity admin does: create the event hook (``POST /api/v1/eventHooks``) with the
        shared secret, then verify it (Okta calls the receiver); returns the hook id.
        """
        from okta_salesforce_testbed.sandbox.reverse_proxy import ReverseProxy
        from okta_salesforce_testbed.sandbox.server import SandboxServer

        if self.proxy is None:
            proxy = ReverseProxy(f"http://127.0.0.1:{self.port}", [HOOK_PATH])
            self.proxy = SandboxServer(proxy, self.sandboxes.ca).start()
        if self.hook_id is None:
            body = {
                "name": "Airflow okta-salesforce",
                "events": {"type": "EVENT_TYPE", "items": HOOK_EVENTS},
                "channel": {
                    "type": "HTTP",
                    "version": "1.0.0",
                    "config": {
                        "uri": self.proxy.url + HOOK_PATH,
                        "authScheme": {"type": "HEADER", "key": "Authorization", "value": self.hook_secret},
                    },
                },
            }
            self.hook_id = self._okta("POST", "/api/v1/eventHooks", body)["id"]
        else:
            self._okta("POST", f"/api/v1/eventHooks/{self.hook_id}/lifecycle/activate")
        hook = self._okta("POST", f"/api/v1/eventHooks/{self.hook_id}/lifecycle/verify")
        if hook["verificationStatus"] != "VERIFIED":
            raise DeploymentError(f"the event hook was not verified: {hook}")
        return self.hook_id

    def disable_push(self) -> None:
        """Deactivate the hook in Okta: from now on only the System Log poller sees events."""
        if self.hook_id is not None:
            self._okta("POST", f"/api/v1/eventHooks/{self.hook_id}/lifecycle/deactivate")

    def _okta(self, method: str, path: str, body: Any = None) -> dict[str, Any]:
        import requests

        token = self.sandboxes.seed.credentials.okta_api_token
        response = requests.request(
            method,
            self.sandboxes.okta.url + path,
            json=body,
            headers={"Authorization": f"SSWS {token}", "Accept": "application/json"},
            verify=str(self.sandboxes.ca_path),
            timeout=30,
        )
        if response.status_code >= 300:
            raise DeploymentError(f"{method} {path}: {response.status_code} {response.text[:500]}")
        return response.json()

    def asset_events(self) -> list[dict[str, Any]]:
        """The ``extra`` of every Asset event of the watched Asset, oldest first."""
        rows = self.query(
            "SELECT e.extra FROM asset_event e JOIN asset a ON a.id = e.asset_id "
            "WHERE a.name = %s ORDER BY e.id",
            "okta_salesforce_assignment_events",
        )
        return [extra if isinstance(extra, dict) else json.loads(extra) for (extra,) in rows]

    def stop(self) -> None:
        """Stop every component (reverse start order), then drop the database. Safe after a failed start."""
        if self.proxy is not None:
            with contextlib.suppress(Exception):
                self.proxy.stop()
            self.proxy = None
        try:
            for name in reversed(list(self.processes)):
                self.stop_component(name)
        finally:
            with contextlib.suppress(Exception):
                self._admin_sql(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')

    def __enter__(self) -> EventDeployment:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # Observations ---------------------------------------------------------------------------------
    def check_alive(self) -> None:
        for process in self.processes.values():
            if process.popen.poll() is not None:
                log = self.env.logs / f"{process.name}.log"
                raise DeploymentError(f"{process.name} exited with {process.popen.returncode}; see {log}")

    def log_calls(self) -> int:
        """System Log requests the Okta sandbox has answered so far."""
        return self.sandboxes.okta.counters["logs.list"]

    def wait_until_polling(self, timeout: float) -> None:
        """Until the triggerer runs the watcher and it has polled the System Log twice."""
        start = self.log_calls()

        def polling() -> bool:
            self.check_alive()
            return self.log_calls() >= start + 2

        wait_for("the Okta event trigger to poll the System Log", polling, timeout=timeout)

    def salesforce_user(self, username: str) -> dict[str, Any] | None:
        return self.sandboxes.salesforce_app.user(username)

    def wait_active(self, username: str, *, timeout: float = 120) -> float:
        """Seconds until the Salesforce user ``username`` exists and is active."""
        started = time.monotonic()

        def active() -> bool:
            self.check_alive()
            user = self.salesforce_user(username)
            return bool(user and user.get("IsActive"))

        wait_for(f"Salesforce user {username} to be active", active, timeout=timeout)
        return time.monotonic() - started

    def reports(self) -> list[dict[str, Any]]:
        """Every line of every report the events Dag wrote, oldest run first."""
        files = sorted(
            (self.env.storage / DAG_ID).glob("*/report.jsonl"), key=lambda path: path.stat().st_mtime
        )
        lines: list[dict[str, Any]] = []
        for path in files:
            for raw in path.read_text(encoding="utf-8").splitlines():
                if raw.strip():
                    lines.append({**json.loads(raw), "_run": path.parent.name})
        return lines
