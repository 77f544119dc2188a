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

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from okta_salesforce.sync.config_file import read_config_file
from okta_salesforce.sync.config_model import SyncConfig, parse_single
from okta_salesforce.sync.config_reader import ConfigError

# The names live in a module without pydantic (DAG files import them when parsed); kept importable here.
from okta_salesforce.sync.target_names import (
    APPROVAL_DAG_ID as APPROVAL_DAG_ID,
)
from okta_salesforce.sync.target_names import (
    DEFAULT_POOL as DEFAULT_POOL,
)
from okta_salesforce.sync.target_names import (
    DEFAULT_TARGET as DEFAULT_TARGET,
)
from okta_salesforce.sync.target_names import (
    ESCROW_PREFIX as ESCROW_PREFIX,
)
from okta_salesforce.sync.target_names import (
    EVENTS_DAG_ID as EVENTS_DAG_ID,
)
from okta_salesforce.sync.target_names import (
    RECONCILE_DAG_ID as RECONCILE_DAG_ID,
)
from okta_salesforce.sync.target_names import (
    SYNC_DAG_ID as SYNC_DAG_ID,
)
from okta_salesforce.sync.target_names import (
    TARGET_NAME as TARGET_NAME,
)
from okta_salesforce.sync.target_names import (
    TargetNames as TargetNames,
)
from okta_salesforce.sync.target_names import (
    config_target as config_target,
)
from okta_salesforce.sync.target_names import (
    merge as merge,
)
from okta_salesforce.sync.target_names import (
    split_targets,
)
from okta_salesforce.sync.target_names import (
    target_names as target_names,
)


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
