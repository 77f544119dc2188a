"""What each target of the config owns in Airflow, by name, and how ``targets:`` entries are split.

No pydantic and no dataclass here: DAG files import this when they are parsed (see
:mod:`okta_salesforce.dags.parse_config`), and the validating reader,
:mod:`okta_salesforce.sync.targets`, re-exports it.

A config without ``targets:`` keeps today's names; a named target suffixes them with ``__<name>``.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from typing import Protocol

    class NamedTarget(Protocol):
        """What :func:`target_names` reads of a target's config (a ``SyncConfig`` or a parse-time one)."""

        @property
        def target(self) -> str | None: ...
        @property
        def okta_app_id(self) -> str: ...
        @property
        def salesforce_pool(self) -> str | None: ...


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


class TargetNames:
    """What one target owns in Airflow, by name (immutable; equal when its three values are).

    :param name: the target's name; ``None`` for a config without ``targets:`` (today's names).
    :param app_id: the target's Okta app id (the escrow key of a config without targets).
    :param pool_name: ``salesforce.pool`` of the target, if set.
    """

    __slots__ = ("app_id", "name", "pool_name")

    name: str | None
    app_id: str
    pool_name: str | None

    def __init__(self, name: str | None, app_id: str = "", pool_name: str | None = None) -> None:
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "app_id", app_id)
        object.__setattr__(self, "pool_name", pool_name)

    def __setattr__(self, key: str, value: Any) -> None:
        raise AttributeError(f"TargetNames is immutable: cannot set {key!r}")

    def _key(self) -> tuple[str | None, str, str | None]:
        return (self.name, self.app_id, self.pool_name)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TargetNames) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return f"TargetNames(name={self.name!r}, app_id={self.app_id!r}, pool_name={self.pool_name!r})"

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


def target_names(config: NamedTarget) -> TargetNames:
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
