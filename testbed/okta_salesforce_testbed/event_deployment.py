"""The events Dag on a multi-process Airflow against the sandboxes: the e2e events tests' and the benchmark's.

Starts a fresh PostgreSQL metadata database and Airflow's ``api-server``, ``scheduler``
(LocalExecutor), ``dag-processor`` and ``triggerer`` as separate processes (through the shared
:class:`~okta_salesforce_testbed.deployment.AirflowProcesses`), with only the
``okta_salesforce_events`` Dag. :meth:`EventDeployment.enable_push` puts the allow-list TLS reverse
proxy in front of the API server and registers the Okta Event Hook in the Okta sandbox, as an
identity admin would. Every process it starts is stopped by its process group, even on failure.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from okta_salesforce_testbed.airflow_env import REPO_ROOT, AirflowEnvironment
from okta_salesforce_testbed.deployment import (
    AirflowProcesses,
    DeploymentError,
    free_port,
    run_stamp,
    wait_for,
)

if TYPE_CHECKING:
    from okta_salesforce_testbed.sandbox import Sandboxes

__all__ = ["DAG_ID", "DeploymentError", "EventDeployment", "wait_for"]

EVENTS_DAG = REPO_ROOT / "dags" / "okta_salesforce_events.py"
DAG_ID = "okta_salesforce_events"
#: name -> ``airflow`` sub-command (the api-server's port is added at start).
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


@dataclass(kw_only=True)
class EventDeployment(AirflowProcesses):
    """The event-driven Dag on a multi-process Airflow against running sandboxes.

    :param run_dir: Airflow home, Dags folder, run files and component logs go here.
    :param sandboxes: running sandboxes.
    :param poll_interval: the trigger's System Log poll interval, in seconds.
    :param push_poll_interval: the trigger's poll interval while push is healthy.
    :param extra_env: more environment for every component (e.g. Airflow settings to compare).
    """

    sandboxes: Sandboxes
    poll_interval: float = 2.0
    push_poll_interval: float = 60.0
    extra_env: dict[str, str] = field(default_factory=dict)
    database_prefix: str = "airflow_events_"
    port: int = field(default_factory=free_port)
    hook_secret: str = field(default_factory=lambda: secrets.token_urlsafe(32), repr=False)
    proxy: Any = None
    hook_id: str | None = None

    def __post_init__(self) -> None:
        self.database = f"{self.database_prefix}{run_stamp().replace('-', '_')}_{secrets.token_hex(3)}"

    @property
    def workdir(self) -> Path:
        return self.run_dir

    @property
    def airflow_env(self) -> AirflowEnvironment:
        """The Airflow home and run files, pointed at the sandboxes (see :class:`AirflowEnvironment`)."""
        return AirflowEnvironment(
            workdir=self.run_dir,
            sandboxes=self.sandboxes,
            dags_folder=self.run_dir / "dags",
            extra_env={
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": self.database_url(self.database),
                "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
                "AIRFLOW__CORE__PARALLELISM": "8",
                "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
                "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{self.port}/execution/",
                "AIRFLOW__API__PORT": str(self.port),
                "AIRFLOW__API_AUTH__JWT_SECRET": self._jwt_secret,
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
                "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
                "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(self.run_dir / "task-logs"),
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
                **self.extra_env,
            },
        )

    def env(self) -> dict[str, str]:
        return self.airflow_env.env()

    @property
    def _jwt_secret(self) -> str:
        path = self.run_dir / ".jwt_secret"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(32), encoding="utf-8")
        return path.read_text(encoding="utf-8")

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
        dags = self.run_dir / "dags"
        dags.mkdir(parents=True, exist_ok=True)
        shutil.copy(EVENTS_DAG, dags / EVENTS_DAG.name)
        self.create_databases(self.database)
        self.airflow_env.setup()
        for name in COMPONENTS:
            self.start_named(name)
        self.wait_until_polling(timeout=180)
        return self

    def start_named(self, name: str) -> None:
        """Start one of :data:`COMPONENTS`."""
        args = ["api-server", "--port", str(self.port)] if name == "api-server" else [name]
        self.start_component(name, args)

    def restart_triggerer(self, *, down_for: Callable[[], None] | None = None) -> None:
        """Stop the triggerer, run ``down_for`` while it is down, start it again."""
        self.stop_component("triggerer")
        if down_for:
            down_for()
        self.start_named("triggerer")

    def stop(self) -> None:
        """Stop the proxy and every component, then drop the database. Safe after a failed start."""
        if self.proxy is not None:
            with contextlib.suppress(Exception):
                self.proxy.stop()
            self.proxy = None
        super().stop()

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

    # Observations ---------------------------------------------------------------------------------
    def assign_new_person(self, login: str, *, department: str = "Sales") -> None:
        """Create an Okta user and assign them to the Salesforce app (what an identity admin does)."""
        okta = self.sandboxes.okta_app
        last_name = login.split("@")[0].title()
        okta.add_user(first_name="Event", last_name=last_name, login=login, department=department)
        okta.assign(login)

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
            (self.airflow_env.storage / DAG_ID).glob("*/report.jsonl"), key=lambda path: path.stat().st_mtime
        )
        lines: list[dict[str, Any]] = []
        for path in files:
            for raw in path.read_text(encoding="utf-8").splitlines():
                if raw.strip():
                    lines.append({**json.loads(raw), "_run": path.parent.name})
        return lines
