"""Where the config file is, and its YAML read (problems as :class:`ConfigError`).

Below both :mod:`okta_salesforce.sync.config` and :mod:`okta_salesforce.sync.targets`, so
either reads the file without importing the other.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

from okta_salesforce.sync.config_error import ConfigError

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


def read_config_file(path: str | os.PathLike[str] | None = None) -> tuple[Any, str]:
    """The parsed YAML of the config file and its path (for messages).

    :param path: the YAML file; defaults to :func:`default_config_path`.
    :raises ConfigError: when the file is not valid YAML.
    :raises FileNotFoundError: when the file does not exist.
    """
    config_path = Path(path) if path is not None else default_config_path()
    text = config_path.read_text(encoding="utf-8")
    try:
        # libyaml's loader when PyYAML has it: 8x faster, and every DAG file reads this file at parse time.
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        return yaml.load(text, Loader=loader), str(config_path)  # noqa: S506 - a safe loader
    except yaml.YAMLError as exc:
        raise ConfigError([f"<file>: not valid YAML: {exc}"], str(config_path)) from None
