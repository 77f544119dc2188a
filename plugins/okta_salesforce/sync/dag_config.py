"""What parsing the DAG files reads of the sync config: the targets and a few keys, without pydantic.

The DAG processor parses every DAG file in a fresh process, every few seconds. Validating the whole
config there (pydantic models of every section, ~60 ms) cost each parse more than the DAG itself, so
parsing reads only what decides the DAGs and their tasks' Airflow settings:

* ``targets:``: the names (checked as the full reader does), one :class:`DagConfig` each;
* ``okta.app_id`` (required), ``okta.conn_id``, ``salesforce.conn_id``, ``salesforce.pool``;
* ``tasks.retries`` and ``tasks.retry_delay_seconds`` (Airflow's retries are part of the DAG);
* ``notifications.on_failure``: the entries, validated when a task fails and they are used.

A problem in these keys raises :class:`~okta_salesforce.sync.config_error.ConfigError` (an import
error in the UI); a problem anywhere else fails the tasks, which load and validate the whole config
(:func:`okta_salesforce.sync.config.load_config`) when they run, and ``okta-salesforce check``
reports it before. The file is read once per process per change (keyed on its modification time
and size), so a DagBag of every DAG file reads it once.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from okta_salesforce.sync.config_error import ConfigError
from okta_salesforce.sync.config_file import read_config_file
from okta_salesforce.sync.target_names import split_targets

#: ``tasks:`` defaults (as :class:`okta_salesforce.sync.config_runtime.TasksConfig`).
DEFAULT_RETRIES = 2
DEFAULT_RETRY_DELAY_SECONDS = 30.0
MAX_RETRIES = 20

_cache: dict[tuple[str, int, int], list[DagConfig]] = {}


class TasksSettings:
    """``tasks:``: Airflow retries of the DAGs' tasks."""

    __slots__ = ("retries", "retry_delay_seconds")

    def __init__(
        self, retries: int = DEFAULT_RETRIES, retry_delay_seconds: float = DEFAULT_RETRY_DELAY_SECONDS
    ):
        self.retries = retries
        self.retry_delay_seconds = retry_delay_seconds


class NotificationSettings:
    """``notifications:``: the raw ``on_failure`` entries (validated when used)."""

    __slots__ = ("on_failure",)

    def __init__(self, on_failure: tuple[Any, ...] = ()) -> None:
        self.on_failure = on_failure


class DagConfig:
    """One target of the config as the DAG files see it (the attributes they read of a ``SyncConfig``).

    :param target: the ``targets:`` entry's name; None for a config without targets.
    :param source: the config file.
    """

    __slots__ = (
        "notifications",
        "okta_app_id",
        "okta_conn_id",
        "salesforce_conn_id",
        "salesforce_pool",
        "source",
        "target",
        "tasks",
    )

    def __init__(
        self,
        *,
        target: str | None,
        source: str,
        okta_app_id: str,
        okta_conn_id: str = "okta_default",
        salesforce_conn_id: str = "salesforce_oauth_default",
        salesforce_pool: str | None = None,
        tasks: TasksSettings | None = None,
        notifications: NotificationSettings | None = None,
    ) -> None:
        self.target = target
        self.source = source
        self.okta_app_id = okta_app_id
        self.okta_conn_id = okta_conn_id
        self.salesforce_conn_id = salesforce_conn_id
        self.salesforce_pool = salesforce_pool
        self.tasks = tasks or TasksSettings()
        self.notifications = notifications or NotificationSettings()


def read_dag_configs(path: str | os.PathLike[str]) -> list[DagConfig]:
    """Every target of the config file at ``path`` (one unnamed target without ``targets:``).

    :raises ConfigError: a problem in the keys DAG parsing reads, every one at once.
    :raises FileNotFoundError: when the file does not exist.
    """
    stat = os.stat(path)
    key = (str(Path(path).resolve()), stat.st_mtime_ns, stat.st_size)
    found = _cache.get(key)
    if found is None:
        data, source = read_config_file(path)
        found = _cache[key] = parse_dag_configs(data, source)
    return list(found)


def read_dag_config(path: str | os.PathLike[str], target: str | None = None) -> DagConfig:
    """The target ``target`` of the config at ``path`` (None: a config without targets)."""
    configs = read_dag_configs(path)
    for config in configs:
        if config.target == target:
            return config
    names = ", ".join(str(c.target) for c in configs)
    if target is None:
        message = f"targets: no target was named; the config's targets are {names}"
    elif configs[0].target is None:
        message = f"targets: no target {target!r}: the config has no targets list"
    else:
        message = f"targets: no target {target!r}; the config's targets are {names}"
    raise ConfigError([message], configs[0].source)


def parse_dag_configs(data: Any, source: str) -> list[DagConfig]:
    """:func:`read_dag_configs` of an already-parsed YAML document."""
    if not isinstance(data, Mapping):
        raise ConfigError([f"<file>: expected a mapping of sections, got {type(data).__name__}"], source)
    problems: list[str] = []
    configs: list[DagConfig] = []
    if "targets" in data:
        entries, problems = split_targets(data)
        for name, body in entries:
            configs.append(_one(body, name, source, problems, prefix=f"targets.{name}: "))
    else:
        configs.append(_one(data, None, source, problems, prefix=""))
    if problems:
        raise ConfigError(problems, source)
    return configs


def _one(
    data: Mapping[str, Any], target: str | None, source: str, problems: list[str], *, prefix: str
) -> DagConfig:
    def section(name: str) -> Mapping[str, Any]:
        value = data.get(name)
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            problems.append(f"{prefix}{name}: expected a mapping")
            return {}
        return value

    def text(where: str, value: Any, default: str | None) -> Any:
        if value is None:
            return default
        if not isinstance(value, str) or not value.strip():
            problems.append(f"{prefix}{where}: expected a non-empty string, got {value!r}")
            return default
        return value

    okta, salesforce, tasks, notifications = (
        section(name) for name in ("okta", "salesforce", "tasks", "notifications")
    )
    if okta.get("app_id") is None:
        problems.append(f"{prefix}okta.app_id: is required")
    app_id = text("okta.app_id", okta.get("app_id"), None)
    retries = tasks.get("retries")
    if retries is None:
        retries = DEFAULT_RETRIES
    elif isinstance(retries, bool) or not isinstance(retries, int) or not 0 <= retries <= MAX_RETRIES:
        problems.append(
            f"{prefix}tasks.retries: expected a whole number from 0 to {MAX_RETRIES}, got {retries!r}"
        )
        retries = DEFAULT_RETRIES
    delay = tasks.get("retry_delay_seconds")
    if delay is None:
        delay = DEFAULT_RETRY_DELAY_SECONDS
    elif isinstance(delay, bool) or not isinstance(delay, int | float) or delay < 0:
        problems.append(
            f"{prefix}tasks.retry_delay_seconds: expected a number of seconds >= 0, got {delay!r}"
        )
        delay = DEFAULT_RETRY_DELAY_SECONDS
    on_failure = notifications.get("on_failure") or ()
    if not isinstance(on_failure, list | tuple) or not all(
        isinstance(entry, Mapping) and len(entry) == 1 and next(iter(entry)) in ("webhook", "notifier")
        for entry in on_failure
    ):
        problems.append(
            f"{prefix}notifications.on_failure: expected a list of {{webhook: ...}} or {{notifier: ...}}"
        )
        on_failure = ()
    return DagConfig(
        target=target,
        source=source,
        okta_app_id=app_id or "",
        okta_conn_id=text("okta.conn_id", okta.get("conn_id"), "okta_default"),
        salesforce_conn_id=text("salesforce.conn_id", salesforce.get("conn_id"), "salesforce_oauth_default"),
        salesforce_pool=text("salesforce.pool", salesforce.get("pool"), None),
        tasks=TasksSettings(retries, float(delay)),
        notifications=NotificationSettings(tuple(on_failure)),
    )
