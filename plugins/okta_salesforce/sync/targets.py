"""Several targets in one config: a ``targets:`` list, one Okta app to one Salesforce org each.

A config may hold a top-level ``targets:`` list. Each entry has a ``name`` (lower-case
``[a-z0-9_]+``, unique, not ``default``) and the sections of a single-target config. The
top-level sections beside ``targets:`` are shared defaults: each target's sections are merged
over them key by key, each key's value replaced whole (a section that is a list, such as
``matching:``, is replaced whole). So a target keeps the shared ``mapping:`` and replaces only
``mapping.ProfileId``, or keeps the shared ``guards:`` and changes only ``guards.max_deactivations``.

Every target is validated, and every problem of every target is reported at once, each one
prefixed with its target: ``targets.emea: okta.app_id: is required``.

:class:`TargetNames` derives what each target owns in Airflow (DAG ids, System Log cursor,
escrow Variable, pool, report Asset): a config without ``targets:`` keeps today's names, a named
target suffixes them with ``__<name>``. Run folders are per DAG id, so they are per target too.

Targets writing to one Salesforce org (the same ``salesforce.conn_id``) must not manage each
other's users: a full run deprovisions every managed user its app does not assign. Each of them
needs ``managed.filters`` (e.g. on ``FederationIdentifier``'s domain) that tell its users apart.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from okta_salesforce.sync.config_file import read_config_file
from okta_salesforce.sync.config_model import SyncConfig, parse_single
from okta_salesforce.sync.config_reader import ConfigError

#: What a target's ``name`` may be.
TARGET_NAME = re.compile(r"[a-z0-9_]+")
#: The report's ``target`` of a config without ``targets:`` (so no target may be called this).
DEFAULT_TARGET = "default"

RECONCILE_DAG_ID = "okta_salesforce_reconcile"
SYNC_DAG_ID = "okta_salesforce_sync"
EVENTS_DAG_ID = "okta_salesforce_events"
APPROVAL_DAG_ID = "okta_salesforce_deprovision_approval"
DEFAULT_POOL = "salesforce_api"
ESCROW_PREFIX = "okta_salesforce_pending__"


@dataclass(frozen=True)
class TargetNames:
    """What one target owns in Airflow, by name.

    :param name: the target's name; ``None`` for a config without ``targets:`` (today's names).
    :param app_id: the target's Okta app id (the escrow key of a config without targets).
    :param pool_name: ``salesforce.pool`` of the target, if set.
    """

    name: str | None
    app_id: str = ""
    pool_name: str | None = None

    @property
    def suffix(self) -> str:
        return f"__{self.name}" if self.name else ""

    def dag_id(self, base: str) -> str:
        """``base`` for a config without targets, else ``base__<name>``."""
        return base + self.suffix

    @property
    def label(self) -> str:
        """The report's ``target`` (``default`` without targets)."""
        return self.name or DEFAULT_TARGET

    @property
    def reconcile_dag_id(self) -> str:
        return self.dag_id(RECONCILE_DAG_ID)

    @property
    def sync_dag_id(self) -> str:
        return self.dag_id(SYNC_DAG_ID)

    @property
    def events_dag_id(self) -> str:
        return self.dag_id(EVENTS_DAG_ID)

    @property
    def approval_dag_id(self) -> str:
        return self.dag_id(APPROVAL_DAG_ID)

    @property
    def cursor_key(self) -> str:
        """The Airflow Variable of the sync DAG's System Log cursor."""
        return "okta_salesforce_log_cursor" + self.suffix

    @property
    def escrow_key(self) -> str:
        """The Airflow Variable of the pending users: per Okta app without targets, else per target."""
        return ESCROW_PREFIX + (self.name or self.app_id)

    @property
    def pool(self) -> str:
        """``salesforce.pool``, else ``salesforce_api`` (without targets) or ``salesforce_api__<name>``."""
        return self.pool_name or DEFAULT_POOL + self.suffix

    @property
    def report_asset(self) -> str:
        """The name of the report Asset the target's runs update."""
        return "okta_salesforce_user_report" + self.suffix

    @property
    def events_asset(self) -> str:
        """The name of the Asset whose watcher polls the target's System Log events."""
        return "okta_salesforce_assignment_events" + self.suffix


def target_names(config: SyncConfig) -> TargetNames:
    """The names of the target ``config`` is."""
    return TargetNames(config.target, config.okta_app_id, config.salesforce_pool)


def config_target(label: str | None) -> str | None:
    """The ``target`` to load for a report label or operator argument (``default``/empty: none)."""
    return None if not label or label == DEFAULT_TARGET else label


def merge(shared: Mapping[str, Any], target: Mapping[str, Any]) -> dict[str, Any]:
    """A target's sections over the shared ones: a section that is a mapping on both sides is merged
    key by key (each key's value replaced whole: ``mapping.Title`` replaces the shared ``Title``);
    any other section replaces the shared one."""
    merged = copy.deepcopy(dict(shared))
    for section, value in target.items():
        if isinstance(value, Mapping) and isinstance(merged.get(section), Mapping):
            merged[section] = {**merged[section], **copy.deepcopy(dict(value))}
        else:
            merged[section] = copy.deepcopy(value)
    return merged


def split_targets(data: Mapping[str, Any]) -> tuple[list[tuple[str, dict[str, Any]]], list[str]]:
    """Each target's name and merged mapping, and the problems of the ``targets:`` list itself."""
    problems: list[str] = []
    entries = data.get("targets")
    shared = {k: v for k, v in data.items() if k != "targets"}
    if not isinstance(entries, list) or not entries:
        return [], ["targets: expected a non-empty list of targets, each with a name"]
    out: list[tuple[str, dict[str, Any]]] = []
    seen: set[str] = set()
    for i, entry in enumerate(entries):
        if not isinstance(entry, Mapping):
            problems.append(f"targets[{i}]: expected a mapping with a name and the sections of a config")
            continue
        name = entry.get("name")
        if not isinstance(name, str) or not TARGET_NAME.fullmatch(name):
            problems.append(f"targets[{i}].name: expected a lower-case name of a-z, 0-9 and _, got {name!r}")
            continue
        if name == DEFAULT_TARGET:
            problems.append(f"targets[{i}].name: {DEFAULT_TARGET!r} is reserved (a config without targets)")
            continue
        if name in seen:
            problems.append(f"targets[{i}].name: {name!r} is already a target")
            continue
        seen.add(name)
        if "targets" in entry:
            problems.append(f"targets.{name}: targets cannot be nested")
        body = {k: v for k, v in entry.items() if k not in ("name", "targets")}
        out.append((name, merge(shared, body)))
    return out, problems


def parse_targets(data: Mapping[str, Any], *, source: str | None = None) -> list[SyncConfig]:
    """Validate every target of a config with ``targets:``; return them in order.

    :raises ConfigError: every problem of every target, each prefixed with ``targets.<name>:``.
    """
    entries, problems = split_targets(data)
    configs: list[SyncConfig] = []
    for name, body in entries:
        try:
            config = parse_single(body, source=source)
        except ConfigError as err:
            problems.extend(f"targets.{name}: {problem}" for problem in err.problems)
            continue
        configs.append(replace(config, target=name))
    problems.extend(_shared_org_problems(configs))
    if problems:
        raise ConfigError(problems, source)
    return configs


def parse_target(data: Mapping[str, Any], name: str | None, *, source: str | None = None) -> SyncConfig:
    """The target ``name`` of a config with ``targets:`` (every target is validated).

    :raises ConfigError: when a target is invalid, or ``name`` is not one of them (or not given).
    """
    configs = parse_targets(data, source=source)
    names = [c.target for c in configs]
    for config in configs:
        if config.target == name:
            return config
    asked = "no target was named" if name is None else f"no target {name!r}"
    raise ConfigError([f"targets: {asked}; the config's targets are {', '.join(map(str, names))}"], source)


def load_targets(path: Any = None) -> list[SyncConfig]:
    """Every target of the config file: one config without ``targets:`` is one unnamed target.

    :raises ConfigError: listing every problem of every target.
    :raises FileNotFoundError: when the file does not exist.
    """
    data, source = read_config_file(path)
    if isinstance(data, dict) and "targets" in data:
        return parse_targets(data, source=source)
    return [parse_single(data, source=source)]


def _shared_org_problems(configs: list[SyncConfig]) -> list[str]:
    """Targets writing to one Salesforce org each need ``managed.filters`` to keep to their own users."""
    by_conn: dict[str, list[SyncConfig]] = {}
    for config in configs:
        by_conn.setdefault(config.salesforce_conn_id, []).append(config)
    problems = []
    for conn_id, sharing in by_conn.items():
        if len(sharing) < 2:
            continue
        names = ", ".join(str(c.target) for c in sharing)
        for config in sharing:
            if not config.managed.filters:
                problems.append(
                    f"targets.{config.target}: managed.filters: is required: targets {names} all write to "
                    f"salesforce.conn_id {conn_id!r}, and without filters telling their users apart a full "
                    "run of one would deprovision the users of the others"
                )
    return problems
