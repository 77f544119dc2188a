"""The sync configuration: ``include/okta_salesforce.yaml`` loaded into frozen, validated dataclasses.

:func:`load_config` reads the file named by its argument, else by ``OKTA_SALESFORCE_CONFIG``,
else the file shipped in ``include/``. Every problem is reported with the path of the key at
fault, e.g. ``mapping.Department.source: unknown source 'foo'``, and all problems of a file
are reported at once. ``docs/configuration.md`` documents each key.

The sections live in their own modules (``config_scope``, ``config_mapping``, ``guard_config``,
``config_runtime``, ``entitlements_config``), put together in ``config_model``; the shared reader
that turns validation errors into key paths is ``config_reader``; a ``targets:`` list is
:mod:`okta_salesforce.sync.targets`.
"""

from __future__ import annotations

import os
from typing import Any

from okta_salesforce.sync.config_file import ENV_VAR, default_config_path, read_config_file
from okta_salesforce.sync.config_mapping import Apply, FieldMapping, MatchRule, OnInvalid, Source
from okta_salesforce.sync.config_model import SyncConfig, parse_single
from okta_salesforce.sync.config_reader import ConfigError
from okta_salesforce.sync.config_schema import config_schema
from okta_salesforce.sync.config_scope import (
    AttributeFilter,
    DeprovisioningMode,
    FilterOperator,
    ManagedConfig,
    ScopeConfig,
)
from okta_salesforce.sync.guard_config import GuardsConfig
from okta_salesforce.sync.targets import parse_target

#: The names callers import from here (the other sections: from their own modules).
__all__ = [
    "ENV_VAR",
    "Apply",
    "AttributeFilter",
    "ConfigError",
    "DeprovisioningMode",
    "FieldMapping",
    "FilterOperator",
    "GuardsConfig",
    "ManagedConfig",
    "MatchRule",
    "OnInvalid",
    "ScopeConfig",
    "Source",
    "SyncConfig",
    "config_schema",
    "default_config_path",
    "load_config",
    "parse_config",
    "parse_single",
]


def load_config(path: str | os.PathLike[str] | None = None, *, target: str | None = None) -> SyncConfig:
    """Load and validate the configuration file.

    :param path: the YAML file; defaults to :func:`default_config_path`.
    :param target: the ``targets:`` entry to return (a config with targets names one; see
        :mod:`okta_salesforce.sync.targets`).
    :raises ConfigError: listing every invalid key with its path.
    :raises FileNotFoundError: when the file does not exist.
    """
    data, source = read_config_file(path)
    return parse_config(data, source=source, target=target)


def parse_config(data: Any, *, source: str | None = None, target: str | None = None) -> SyncConfig:
    """Validate an already-parsed configuration mapping.

    :param target: the ``targets:`` entry to return (every target is validated).
    :raises ConfigError: listing every invalid key with its path.
    """
    if isinstance(data, dict) and "targets" in data:
        return parse_target(data, target, source=source)
    if target is not None:
        raise ConfigError([f"targets: no target {target!r}: the config has no targets list"], source)
    return parse_single(data, source=source)
