"""Airflow as separate processes on fresh PostgreSQL databases: the e2e tests' and benchmarks' one harness.

:class:`AirflowProcesses` owns what every multi-process deployment here needs: PostgreSQL databases
created for it (and those left behind by a killed run dropped first) and dropped after, ``airflow``
sub-commands started each as its own process-group leader with its own log file, stopped by their
group id (``SIGTERM``, then ``SIGKILL`` for what is left: task processes, worker pools), a check
that every component is still alive, and per-component memory. A deployment subclasses it and says
which environment its components get (:meth:`AirflowProcesses.env`):

* ``tests/e2e/e2e_harness.py``: the docker-compose topology (CeleryExecutor, Redis, the REST API);
* :mod:`okta_salesforce_testbed.event_deployment`: the events Dag on the LocalExecutor, with the
  Okta Event Hook pushed through the sandbox (the e2e events tests and the latency benchmark).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Self, TypeVar

#: The PostgreSQL server the deployments create their databases on.
PG_DSN = os.environ.get("E2E_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
#: Databases (and Redis claims) of a run older than this are from a run killed before its clean-up.
STALE_AFTER = dt.timedelta(hours=3)
T = TypeVar("T")


class DeploymentError(RuntimeError):
    """A component did not start or exited, or a wait timed out."""


def wait_for(
    what: str,
    check: Callable[[], T | None],
    *,
    timeout: float,
    interval: float = 0.5,
    errors: tuple[type[BaseException], ...] = (OSError,),
) -> T:
    """Poll ``check`` until it returns something truthy; raise :class:`DeploymentError` after ``timeout``.

    :param errors: exceptions of ``check`` that mean "not yet" (the last one is in the message).
    """
    deadline = time.monotonic() + timeout
    last_error: BaseException | None = None
    while time.monotonic() < deadline:
        try:
            result = check()
        except errors as exc:
            last_error, result = exc, None
        if result:
            return result
        time.sleep(interval)
    suffix = f" (last error: {last_error!r})" if last_error else ""
    raise DeploymentError(f"timed out after {timeout:.0f} s waiting for {what}{suffix}")


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run_stamp() -> str:
    """``YYYYmmdd-HHMMSS``: run ids start with it, so that :func:`is_stale` can tell their age."""
    return f"{dt.datetime.now():%Y%m%d-%H%M%S}"


def is_stale(run_id: str) -> bool:
    """Whether a run id (starting ``YYYYmmdd-HHMMSS``, ``-`` or ``_``) is older than any live run."""
    try:
        started = dt.datetime.strptime(run_id.replace("_", "-")[:15], "%Y%m%d-%H%M%S")
    except ValueError:
        return False
    return dt.datetime.now() - started > STALE_AFTER


@dataclass
class Component:
    """One started ``airflow`` sub-command: its process (a process-group leader) and its log file."""

    name: str
    popen: subprocess.Popen[bytes]
    log_path: Path
    log_file: IO[bytes]

    @property
    def pid(self) -> int:
        return self.popen.pid

    def tail(self, size: int = 3000) -> str:
        return self.log_path.read_text(errors="replace")[-size:]


@dataclass
class AirflowProcesses:
    """Airflow components as separate processes, and the PostgreSQL databases they use.

    :param run_dir: the working folder (component logs go to ``component_logs``).
    :param dsn: a PostgreSQL server DSN (its ``postgres`` database: databases are created there).
    :param database_prefix: names of this kind of deployment's databases; with :func:`run_stamp`
        in the name, :meth:`create_databases` drops those of killed runs first.
    """

    run_dir: Path
    dsn: str = PG_DSN
    database_prefix: str = "airflow_"
    processes: dict[str, Component] = field(default_factory=dict)
    databases: list[str] = field(default_factory=list)

    # Subclasses -------------------------------------------------------------------------------
    def env(self) -> dict[str, str]:
        """The environment of every component."""
        raise NotImplementedError

    def start(self) -> Self:
        """Create the databases and start the components; returns ``self`` once they are ready."""
        raise NotImplementedError

    def stop(self) -> None:
        """Stop every component, then drop the databases. Safe after a failed start."""
        try:
            self.stop_components()
        finally:
            self.drop_databases()

    def __enter__(self) -> Self:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def component_logs(self) -> Path:
        return self.run_dir / "components"

    # PostgreSQL -------------------------------------------------------------------------------
    def database_url(self, database: str, *, driver: str = "postgresql+psycopg2") -> str:
        """The SQLAlchemy URL of one of this server's databases."""
        return f"{driver}://{self.dsn.split('://', 1)[1].rsplit('/', 1)[0]}/{database}"

    def _admin(self, statements: Iterable[str]) -> None:
        import psycopg2

        with contextlib.closing(psycopg2.connect(self.dsn)) as connection:
            connection.autocommit = True
            with connection.cursor() as cursor:
                for statement in statements:
                    cursor.execute(statement)

    def create_databases(self, *names: str) -> None:
        """Create ``names`` (recorded for :meth:`drop_databases`); drop stale ones of this prefix first."""
        import psycopg2

        with contextlib.closing(psycopg2.connect(self.dsn)) as connection, connection.cursor() as cursor:
            cursor.execute(
                "SELECT datname FROM pg_database WHERE datname LIKE %s", (self.database_prefix + "%",)
            )
            existing = [name for (name,) in cursor.fetchall()]
        stale = [name for name in existing if is_stale(name.removeprefix(self.database_prefix))]
        self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)' for name in stale)
        for name in names:
            self._admin([f'CREATE DATABASE "{name}"'])
            self.databases.append(name)

    def drop_databases(self) -> None:
        """Drop every database :meth:`create_databases` made (forcing out open connections)."""
        names, self.databases = self.databases, []
        with contextlib.suppress(Exception):
            self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)' for name in names)

    def query(self, statement: str, *params: Any, database: str | None = None) -> list[tuple[Any, ...]]:
        """Rows of a read-only query on one of the databases (default: the first, the metadata DB)."""
        import psycopg2

        dsn = self.database_url(database or self.databases[0], driver="postgresql")
        with contextlib.closing(psycopg2.connect(dsn)) as connection, connection.cursor() as cursor:
            cursor.execute(statement, params)
            return list(cursor.fetchall())

    # Processes --------------------------------------------------------------------------------
    def start_component(self, name: str, args: Sequence[str]) -> Component:
        """Start ``airflow <args>`` in its own process group, logging to ``component_logs/<name>.log``."""
        current = self.processes.get(name)
        if current is not None and current.popen.poll() is None:
            raise DeploymentError(f"{name} is already running")
        self.component_logs.mkdir(parents=True, exist_ok=True)
        log_path = self.component_logs / f"{name}.log"
        log_file = log_path.open("ab")
        popen = subprocess.Popen(  # noqa: S603 - our own interpreter and fixed arguments
            [sys.executable, "-m", "airflow", *args],
            env=self.env(),
            cwd=self.run_dir,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stopping it signals the whole tree
        )
        self.processes[name] = component = Component(name, popen, log_path, log_file)
        return component

    def run_cli(self, name: str, args: Sequence[str], *, timeout: float) -> None:
        """Run ``airflow <args>`` to its end (e.g. ``db migrate``); raise with its log tail if it fails."""
        component = self.start_component(name, args)
        try:
            code = component.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            self.stop_component(name)
            raise DeploymentError(f"airflow {' '.join(args)} took over {timeout:.0f} s") from exc
        self.processes.pop(name, None)
        component.log_file.close()
        if code:
            raise DeploymentError(f"airflow {' '.join(args)} failed ({code}):\n{component.tail()}")

    def stop_component(self, name: str, *, grace: float = 30) -> None:
        """Stop one component by its process group: ``SIGTERM``, ``SIGKILL`` after ``grace``."""
        self._stop([name], grace=grace)

    def stop_components(self, *, grace: float = 30) -> None:
        """Stop every component (all signalled at once, so the grace period is shared)."""
        self._stop(list(self.processes), grace=grace)

    def _stop(self, names: list[str], *, grace: float) -> None:
        components = [self.processes.pop(name) for name in names if name in self.processes]
        for component in components:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(component.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        for component in components:
            with contextlib.suppress(subprocess.TimeoutExpired):
                component.popen.wait(timeout=max(0.1, deadline - time.monotonic()))
        for component in components:
            # Children (task supervisors, worker pools, uvicorn) may outlive the leader: kill the group.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(component.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                component.popen.wait(timeout=5)
            component.log_file.close()

    def check_alive(self) -> bool:
        """Raise :class:`DeploymentError` (with its log tail) if a component has exited."""
        for component in self.processes.values():
            if component.popen.poll() is not None:
                raise DeploymentError(
                    f"{component.name} exited with {component.popen.returncode}; "
                    f"log {component.log_path}:\n{component.tail()}"
                )
        return True

    def memory_mb(self) -> dict[str, float]:
        """Proportional set size (PSS: shared pages split between sharers) per component, in MiB."""
        groups = {component.pid: name for name, component in self.processes.items()}
        usage = dict.fromkeys(groups.values(), 0.0)
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                pgrp = int(stat.read_text().rsplit(")", 1)[1].split()[2])
                if pgrp not in groups:
                    continue
                for line in (stat.parent / "smaps_rollup").read_text().splitlines():
                    if line.startswith("Pss:"):
                        usage[groups[pgrp]] += int(line.split()[1]) / 1024
            except (OSError, IndexError, ValueError):
                continue
        usage["total"] = sum(usage.values())
        return {name: round(value, 1) for name, value in usage.items()}
