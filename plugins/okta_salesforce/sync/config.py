"""The sync configuration: ``include/okta_salesforce.yaml`` loaded into frozen, validated dataclasses.

:func:`load_config` reads the file named by its argument, else by ``OKTA_SALESFORCE_CONFIG``,
else the file shipped in ``include/``. Every problem is reported with the path of the key at
fault, e.g. ``mapping.Department.source: unknown source 'foo'``, and all problems of a file
are reported at once. ``docs/configuration.md`` documents each key.

The sections live in their own modules (``config_scope``, ``config_mapping``, ``guard_config``,
``config_runtime``, ``entitlements_config``), put together in ``config_model``; the shared reader
that turns validation errors into key paths is ``config_reader``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

from okta_salesforce.sync.config_mapping import Apply, FieldMapping, MatchRule, OnInvalid, Source
from okta_salesforce.sync.config_model import SyncConfig, config_schema, parse_single
from okta_salesforce.sync.config_reader import ConfigError
from okta_salesforce.sync.config_scope import (
    AttributeFilter,
    DeprovisioningMode,
    FilterOperator,
    ManagedConfig,
    ScopeConfig,
)
from okta_salesforce.sync.guard_config import GuardsConfig

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
]

ENV_VAR = "OKTA_SALESFORCE_CONFIG"
_PACKAGE_DIR = Path(__file__).resolve().parents[1]


def default_config_path() -> Path:
    """The config path: ``$OKTA_SALESFORCE_CONFIG``, else ``include/okta_salesforce.yaml``.

    The shipped file is looked for next to the repository (``<repo>/include``) and, for an
    installed package, in the current directory's ``include/``.
    """
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env)
    for base in (_PACKAGE_DIR.parent.parent, Path.cwd()):
        candidate = base / "include" / "okta_salesforce.yaml"
        if candidate.is_file():
            return candidate
    return _PACKAGE_DIR.parent.parent / "include" / "okta_salesforce.yaml"


def load_config(path: str | os.PathLike[str] | None = None) -> SyncConfig:
    """Load and validate the configuration file.

    :param path: the YAML file; defaults to :func:`default_config_path`.
    :raises ConfigError: listing every invalid key with its path.
    :raises FileNotFoundError: when the file does not exist.
    """
    config_path = Path(path) if path is not None else default_config_path()
    text = config_path.read_text(encoding="utf-8")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError([f"<file>: not valid YAML: {exc}"], str(config_path)) from None
    return parse_config(data, source=str(config_path))


def parse_config(data: Any, *, source: str | None = None) -> SyncConfig:
    """Validate an already-parsed configuration mapping.

    :raises ConfigError: listing every invalid key with its path.
    """
    return parse_single(data, source=source)
