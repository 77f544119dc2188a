"""Where the sync config file is: one documented setting, read the same way by every task and command.

In order: an operator's explicit ``config_path``; the environment variable ``OKTA_SALESFORCE_CONFIG``;
the Airflow option ``[okta_salesforce] config_path`` (also settable as
``AIRFLOW__OKTA_SALESFORCE__CONFIG_PATH``; declared in the provider info, so ``airflow config list``
shows it); ``include/okta_salesforce.yaml`` in this repository or in the current directory. When none
of them names an existing file the error says how to set one (``okta-salesforce init`` writes it).
"""

from __future__ import annotations

import os
from pathlib import Path

from okta_salesforce.sync.config_file import ENV_VAR, default_config_path

SECTION = "okta_salesforce"
OPTION = "config_path"


class ConfigNotFoundError(FileNotFoundError):
    """No sync config file where the settings point."""


def _airflow_option() -> str | None:
    try:
        from airflow.sdk.configuration import conf
    except ImportError:  # Airflow 3.1
        from airflow.configuration import conf
    value = conf.get(SECTION, OPTION, fallback=None)
    return value or None


def resolve_config_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The sync config file to read.

    :param explicit: a path given to an operator; wins over every setting.
    :raises ConfigNotFoundError: when the chosen path is not a file, naming where it came from.
    """
    if explicit:
        return _existing(Path(explicit), "the operator's config_path")
    env = os.environ.get(ENV_VAR)
    if env:
        return _existing(Path(env), f"the environment variable {ENV_VAR}")
    option = _airflow_option()
    if option:
        return _existing(Path(option), f"the Airflow option [{SECTION}] {OPTION}")
    default = default_config_path()
    if default.is_file():
        return default
    raise ConfigNotFoundError(
        f"No okta-salesforce config file: set the environment variable {ENV_VAR} or the Airflow option "
        f"[{SECTION}] {OPTION} (AIRFLOW__OKTA_SALESFORCE__CONFIG_PATH) to its path; "
        "`okta-salesforce init DIR` writes a commented one."
    )


def _existing(path: Path, origin: str) -> Path:
    if not path.is_file():
        raise ConfigNotFoundError(f"The okta-salesforce config file {path} (from {origin}) does not exist.")
    return path
