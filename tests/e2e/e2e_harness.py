"""A native run of the docker-compose topology: Airflow on PostgreSQL + Redis with the CeleryExecutor.

``Deployment`` creates a fresh PostgreSQL database (and a second one as the report warehouse, the
connection ``okta_salesforce_warehouse``) and picks an empty Redis database, migrates the
metadata DB, then starts ``airflow api-server``, ``scheduler``, ``dag-processor``, ``triggerer`` and
``celery worker`` as separate processes (each in its own process group, each logging to its own file
under ``artifacts/e2e/<run>/``). ``stop()`` ends every process it started by process group, drops the
database and empties the Redis database; it is safe to call after a failed start.

``ApiClient`` talks to the api-server's REST API (``/api/v2``) with a JWT from ``/auth/token``, as
the UI does. ``scan_for_secrets`` is the secrets canary's scanner.

Runs start only when a test triggers them or a task publishes an Asset event: the scheduler
schedules (Asset-triggered runs need it), but a cluster policy (:data:`LOCAL_SETTINGS`) drops the
time-based schedules, and DAGs fed by Asset watchers (the Okta events DAG) start paused.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import requests

from okta_salesforce_testbed.deployment import (
    PG_DSN,
    AirflowProcesses,
    DeploymentError,
    free_port,
    is_stale,
    run_stamp,
)
from okta_salesforce_testbed.deployment import wait_for as _wait_for

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "artifacts" / "e2e"
E2E_DAGS = Path(__file__).resolve().parent / "dags"
REDIS_URL = os.environ.get("E2E_REDIS_URL", "redis://127.0.0.1:6379")
ADMIN_USER = "admin"
COMPONENTS: dict[str, list[str]] = {
    # name -> airflow sub-command; started in this order.
    "api-server": ["api-server", "--workers", "1"],
    "scheduler": ["scheduler"],
    "dag-processor": ["dag-processor"],
    "triggerer": ["triggerer"],
    "worker": ["celery", "worker", "--concurrency", "4"],
}
T = TypeVar("T")

#: ``$AIRFLOW_HOME/config/airflow_local_settings.py`` of the deployment: its ``dag_policy`` runs in
#: the dag-processor before a DAG is serialised.
LOCAL_SETTINGS = '''"""e2e deployment policy: no time-based runs, no runs from Asset watchers."""


def dag_policy(dag):
    from airflow.sdk.definitions.timetables.assets import AssetTriggeredTimetable
    from airflow.sdk.definitions.timetables.simple import NullTimetable

    timetable = dag.timetable
    if not isinstance(timetable, (AssetTriggeredTimetable, NullTimetable)):
        dag.timetable = NullTimetable()  # a cron run would race the tests' own runs
    elif isinstance(timetable, AssetTriggeredTimetable) and _watched(timetable.asset_condition):
        dag.is_paused_upon_creation = True  # Okta events would start runs no test asked for


def _watched(condition):
    if hasattr(condition, "objects"):  # any-of / all-of
        return any(_watched(part) for part in condition.objects)
    return bool(getattr(condition, "watchers", None))
'''


__all__ = ["PG_DSN", "ApiClient", "Deployment", "DeploymentError", "free_port", "wait_for"]


def wait_for(what: str, check: Callable[[], T | None], *, timeout: float, interval: float = 0.5) -> T:
    """:func:`okta_salesforce_testbed.deployment.wait_for`; a refused or failed request means "not yet"."""
    errors = (requests.RequestException, OSError)
    return _wait_for(what, check, timeout=timeout, interval=interval, errors=errors)


@dataclass(kw_only=True)
class Deployment(AirflowProcesses):
    """The native Celery topology for one test session, on the shared process harness.

    :param connection_env: ``AIRFLOW_CONN_*`` variables (the sandboxes' connections).
    :param extra_env: more environment for every component (e.g. a planted canary).
    :param run_dir: where logs and artifacts go (``artifacts/e2e/<run>`` by default).
    """

    connection_env: Mapping[str, str]
    extra_env: Mapping[str, str] = field(default_factory=dict)
    run_dir: Path = None  # type: ignore[assignment]  # artifacts/e2e/<run id> unless given
    database_prefix: str = "airflow_e2e_"
    run_id: str = field(default_factory=lambda: f"{run_stamp()}-{uuid.uuid4().hex[:6]}")
    db_name: str = ""
    redis_db: int | None = None
    api_port: int = 0
    admin_password: str = field(default_factory=lambda: secrets.token_urlsafe(16), repr=False)
    started_at: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.run_dir = Path(self.run_dir or ARTIFACTS / self.run_id)
        self.home = self.run_dir / "airflow-home"
        self.log_folder = self.run_dir / "task-logs"
        self.storage = self.run_dir / "storage"
        self.db_name = f"airflow_e2e_{self.run_id.replace('-', '_')}"
        self.warehouse_db = f"{self.db_name}_warehouse"

    # -- environment -------------------------------------------------------------------------
    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def warehouse_dsn(self) -> str:
        """The report warehouse (``okta_salesforce_report_to_warehouse`` loads into it)."""
        return f"postgresql://postgres@127.0.0.1:5432/{self.warehouse_db}"

    def env(self) -> dict[str, str]:
        """The environment every component gets: the same settings docker-compose.yaml sets."""
        db = f"postgresql+psycopg2://postgres@127.0.0.1:5432/{self.db_name}"
        bundles = [
            {"name": "dags-folder", "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle",
             "kwargs": {"path": str(REPO / "dags")}},
            {"name": "e2e-dags", "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle",
             "kwargs": {"path": str(E2E_DAGS)}},
        ]  # fmt: skip
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "PYTEST_", "_AIRFLOW"))}
        env.update(
            AIRFLOW_HOME=str(self.home),
            AIRFLOW__CORE__EXECUTOR="CeleryExecutor",
            AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=db,
            AIRFLOW__CELERY__BROKER_URL=f"{REDIS_URL}/{self.redis_db}",
            AIRFLOW__CELERY__RESULT_BACKEND=f"db+postgresql://postgres@127.0.0.1:5432/{self.db_name}",
            AIRFLOW__CELERY__WORKER_CONCURRENCY="4",
            AIRFLOW__CORE__LOAD_EXAMPLES="False",
            AIRFLOW__CORE__AUTH_MANAGER=(
                "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
            ),
            AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS=f"{ADMIN_USER}:admin",
            AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE=str(self.home / "passwords.json"),
            AIRFLOW__CORE__FERNET_KEY=self._fernet_key,
            AIRFLOW__API__HOST="127.0.0.1",
            AIRFLOW__API__PORT=str(self.api_port),
            AIRFLOW__API__BASE_URL=self.api_url,
            AIRFLOW__API__SECRET_KEY=self._secret,
            AIRFLOW__API_AUTH__JWT_SECRET=self._secret,
            AIRFLOW__CORE__EXECUTION_API_SERVER_URL=f"{self.api_url}/execution/",
            AIRFLOW__LOGGING__BASE_LOG_FOLDER=str(self.log_folder),
            AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST=json.dumps(bundles),
            AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL="5",
            # DAGs start unpaused; LOCAL_SETTINGS drops time-based schedules, so the scheduler
            # creates only the runs Asset events call for (the report warehouse's).
            AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION="False",
            AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE="True",
            AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK="True",
            AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_PORT=str(self._scheduler_health_port),
            AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT=str(self._worker_log_port),
            AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT=str(self._trigger_log_port),
            OKTA_SALESFORCE_CONFIG=str(REPO / "include" / "okta_salesforce.yaml"),
            # Run files and reports (snapshots, plans, outcomes): inside the run dir, for the canary.
            OKTA_SALESFORCE_STORAGE=self.storage.as_uri(),
            PYTHONUNBUFFERED="1",
            AIRFLOW_CONN_OKTA_SALESFORCE_WAREHOUSE=self.warehouse_dsn,
        )
        env.update(self.connection_env)
        env.update(self.extra_env)
        return env

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self, *, timeout: float = 240) -> Deployment:
        """Create the databases, migrate, start every component and wait until the API answers."""
        self.started_at = time.monotonic()
        assert self.run_dir is not None
        for directory in (self.home, self.log_folder, self.component_logs, self.storage):
            directory.mkdir(parents=True, exist_ok=True)
        self.api_port = free_port()
        self._scheduler_health_port = free_port()
        self._worker_log_port = free_port()
        self._trigger_log_port = free_port()
        self._secret = secrets.token_urlsafe(32)
        from cryptography.fernet import Fernet

        self._fernet_key = Fernet.generate_key().decode()
        passwords = self.home / "passwords.json"
        passwords.write_text(json.dumps({ADMIN_USER: self.admin_password}), encoding="utf-8")
        passwords.chmod(0o600)
        (self.home / "config").mkdir(exist_ok=True)
        (self.home / "config" / "airflow_local_settings.py").write_text(LOCAL_SETTINGS, encoding="utf-8")
        self.create_databases(self.db_name, self.warehouse_db)
        self.redis_db = self._claim_redis_db()
        self.run_cli("db-migrate", ["db", "migrate"], timeout=180)
        self.timings["migrated"] = time.monotonic() - self.started_at
        for name, args in COMPONENTS.items():
            self.start_component(name, args)
        client = ApiClient(self.api_url, ADMIN_USER, self.admin_password)
        wait_for("the api-server", lambda: self.check_alive() and client.ready(), timeout=timeout)
        self.timings["api_ready"] = time.monotonic() - self.started_at
        return self

    def client(self) -> ApiClient:
        """A logged-in REST API client."""
        return ApiClient(self.api_url, ADMIN_USER, self.admin_password).login()

    def stop(self, *, grace: float = 30) -> None:
        """Stop every started process by process group (TERM, then KILL), then drop the databases."""
        try:
            self.stop_components(grace=grace)
            self._release_redis_db()
        finally:
            self.drop_databases()

    # -- Redis -------------------------------------------------------------------------------
    def _claim_redis_db(self) -> int:
        """An empty Redis database (1-15), marked as ours so parallel runs do not share it."""
        import redis

        for index in range(15, 0, -1):
            client = redis.Redis.from_url(f"{REDIS_URL}/{index}")
            owner = client.get("okta-salesforce-e2e:owner")
            if owner and is_stale(owner.decode()):
                client.flushdb()  # left by a run killed before its clean-up
            if client.set("okta-salesforce-e2e:owner", self.run_id, nx=True) and client.dbsize() == 1:
                return index
            if client.get("okta-salesforce-e2e:owner") == self.run_id.encode():
                client.delete("okta-salesforce-e2e:owner")
        raise DeploymentError("no empty Redis database (1-15) to use as the Celery broker")

    def _release_redis_db(self) -> None:
        if self.redis_db is None:
            return
        import redis

        client = redis.Redis.from_url(f"{REDIS_URL}/{self.redis_db}")
        if client.get("okta-salesforce-e2e:owner") == self.run_id.encode():
            client.flushdb()
        self.redis_db = None


class ApiClient:
    """The REST API as the UI uses it: a JWT from ``/auth/token``, then ``/api/v2``."""

    def __init__(self, base_url: str, username: str, password: str) -> None:
        self.base_url = base_url
        self._credentials = {"username": username, "password": password}
        self.session = requests.Session()
        self.session.trust_env = False  # loopback: no proxies, no CA overrides
        self.responses: list[tuple[str, str]] = []  # (url, body) of every API response, for the canary

    def ready(self) -> bool:
        response = self.session.get(f"{self.base_url}/api/v2/monitor/health", timeout=5)
        return response.status_code == 200

    def login(self) -> ApiClient:
        response = self.session.post(f"{self.base_url}/auth/token", json=self._credentials, timeout=30)
        response.raise_for_status()
        self.session.headers["Authorization"] = f"Bearer {response.json()['access_token']}"
        return self

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        response = self.session.request(method, f"{self.base_url}/api/v2{path}", timeout=30, **kwargs)
        self.responses.append((response.url, response.text))
        return response

    def get(self, path: str, **params: Any) -> Any:
        response = self.request("GET", path, params=params or None)
        response.raise_for_status()
        return response.json()

    def ensure_pool(self, name: str, slots: int) -> None:
        """Create or resize a pool (what ``airflow pools set`` and the Pools page do)."""
        body = {"name": name, "slots": slots, "description": "Salesforce API calls"}
        response = self.request("POST", "/pools", json=body)
        if response.status_code == 409:
            response = self.request("PATCH", f"/pools/{name}", json=body)
        response.raise_for_status()

    def put_connection(self, conn_id: str, conn: Mapping[str, Any]) -> None:
        """Store a connection in the metadata DB, as the UI's Admin > Connections form does."""
        body = {
            "connection_id": conn_id,
            "conn_type": conn["conn_type"],
            "host": conn.get("host"),
            "login": conn.get("login"),
            "password": conn.get("password"),
            "extra": json.dumps(conn.get("extra") or {}),
        }
        response = self.request("POST", "/connections", json=body)
        if response.status_code == 409:
            response = self.request("PATCH", f"/connections/{conn_id}", json=body)
        response.raise_for_status()

    def wait_for_dag(self, dag_id: str, *, timeout: float = 120) -> dict[str, Any]:
        """Wait until the dag-processor has parsed and serialised ``dag_id``."""

        def check() -> dict[str, Any] | None:
            response = self.request("GET", f"/dags/{dag_id}/details")
            return response.json() if response.status_code == 200 else None

        return wait_for(f"DAG {dag_id} to be parsed", check, timeout=timeout, interval=1)

    def trigger(self, dag_id: str, params: Mapping[str, Any]) -> dict[str, Any]:
        """Trigger a run with the body the UI's trigger form sends: every param's value in ``conf``."""
        details = self.get(f"/dags/{dag_id}/details")
        conf = {name: spec.get("value") for name, spec in (details.get("params") or {}).items()}
        conf.update(params)
        body = {
            "conf": conf,
            "data_interval_end": None,
            "data_interval_start": None,
            "logical_date": dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        }
        response = self.request("POST", f"/dags/{dag_id}/dagRuns", json=body)
        if response.status_code >= 400:
            raise DeploymentError(f"trigger {dag_id} failed: {response.status_code} {response.text[:2000]}")
        return response.json()

    def wait_for_run(self, dag_id: str, run_id: str, *, timeout: float = 240) -> dict[str, Any]:
        """Poll a DAG run until it is ``success`` or ``failed``."""

        def check() -> dict[str, Any] | None:
            run = self.get(f"/dags/{dag_id}/dagRuns/{run_id}")
            return run if run["state"] in ("success", "failed") else None

        return wait_for(f"run {run_id} of {dag_id}", check, timeout=timeout, interval=1)

    def upstream_asset_events(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        """The Asset events that triggered a run (the run's "Source Assets")."""
        return self.get(f"/dags/{dag_id}/dagRuns/{run_id}/upstreamAssetEvents")["asset_events"]

    def task_instances(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        return self.get(f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances", limit=100)["task_instances"]

    def xcom_values(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        """Every XCom entry of a run, with its full value (the XCom tab's data)."""
        entries = self.get(f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/~/xcomEntries", limit=100)
        values = []
        for entry in entries["xcom_entries"]:
            path = (
                f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{entry['task_id']}/xcomEntries/{entry['key']}"
            )
            values.append(self.get(path, map_index=entry.get("map_index", -1), stringify=False))
        return values

    def task_log(self, dag_id: str, run_id: str, task_id: str, try_number: int, map_index: int = -1) -> str:
        path = f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/logs/{try_number}"
        response = self.request("GET", path, params={"map_index": map_index, "full_content": True})
        response.raise_for_status()
        return response.text


# -- the secrets canary ----------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    """A secret found where it must not be."""

    where: str
    secret_name: str

    def __str__(self) -> str:  # never the value
        return f"{self.secret_name} in {self.where}"


def secret_fragments(name: str, value: str, *, min_length: int = 12) -> dict[str, str]:
    """A secret and, for PEM keys, each base64 body line, as named needles (short ones skipped)."""
    needles = {}
    lines = [line.strip() for line in value.strip().splitlines()]
    if len(lines) > 1:
        for number, line in enumerate(lines):
            if line and not line.startswith("-----") and len(line) >= min_length:
                needles[f"{name}[line {number}]"] = line
    elif len(value) >= min_length:
        needles[name] = value
    return needles


def scan_texts(texts: Iterable[tuple[str, str]], needles: Mapping[str, str]) -> list[Finding]:
    """Every (place, secret name) where a needle occurs in one of the ``(place, text)`` pairs.

    JSON-escaped forms are matched too (a PEM line or token inside a JSON string).
    """
    forms = {name: {value, json.dumps(value)[1:-1]} for name, value in needles.items()}
    findings = []
    for where, text in texts:
        for name, variants in forms.items():
            if any(variant in text for variant in variants):
                findings.append(Finding(where, name))
    return findings


def scan_tree(root: Path, needles: Mapping[str, str], *, exclude: Iterable[Path] = ()) -> list[Finding]:
    """Scan every file under ``root`` (except ``exclude``) for the needles."""
    excluded = {path.resolve() for path in exclude}

    def texts() -> Iterable[tuple[str, str]]:
        for path in sorted(root.rglob("*")):
            if path.is_file() and path.resolve() not in excluded:
                yield str(path.relative_to(root)), path.read_text(encoding="utf-8", errors="replace")

    return scan_texts(texts(), needles)


def sandbox_secrets(sb: Any) -> dict[str, str]:
    """Every secret the sandboxes accept or issued, by name (values never printed)."""
    creds = sb.seed.credentials
    found: dict[str, str] = {}
    found |= secret_fragments("okta api token", creds.okta_api_token)
    found |= secret_fragments("salesforce consumer secret", creds.salesforce_client_secret)
    found |= secret_fragments("salesforce refresh token (seeded)", creds.salesforce_refresh_token)
    found |= secret_fragments("salesforce admin password", creds.salesforce_admin_password)
    found |= secret_fragments("okta service private key", sb.okta_app.service_private_key_pem)
    found |= secret_fragments("salesforce jwt private key", sb.salesforce_app.jwt_private_key_pem)
    for index, token in enumerate(_issued_tokens(sb)):
        found |= secret_fragments(f"issued token #{index}", token)
    return found


def _issued_tokens(sb: Any) -> list[str]:
    """Access and refresh tokens the sandboxes issued during the run (their OAuth bookkeeping)."""
    from okta_salesforce_testbed.sandbox.okta_oauth import TokenService
    from okta_salesforce_testbed.sandbox.salesforce_oauth import SalesforceOAuth

    tokens: list[str] = []
    for app in (sb.okta_app, sb.salesforce_app):
        for value in vars(app).values():
            if isinstance(value, SalesforceOAuth):
                tokens += [*value.sessions, *value.refresh_tokens]
            elif isinstance(value, TokenService):
                tokens += list(vars(value).get("_tokens", {}))
    return tokens
