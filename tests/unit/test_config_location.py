"""The sync config is found through one documented setting, with a clear error when it is missing."""

from __future__ import annotations

from pathlib import Path

import pytest

from okta_salesforce import get_provider_info
from okta_salesforce.config_location import ConfigNotFoundError, resolve_config_path


@pytest.fixture
def no_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.delenv("OKTA_SALESFORCE_CONFIG", raising=False)
    monkeypatch.delenv("AIRFLOW__OKTA_SALESFORCE__CONFIG_PATH", raising=False)
    monkeypatch.setattr("okta_salesforce.config_location.default_config_path", lambda: tmp_path / "nope.yaml")
    return tmp_path


def test_environment_variable_wins_over_the_airflow_option(no_settings: Path, monkeypatch) -> None:
    env_file, option_file = no_settings / "env.yaml", no_settings / "option.yaml"
    env_file.write_text("x: 1\n")
    option_file.write_text("x: 1\n")
    monkeypatch.setenv("AIRFLOW__OKTA_SALESFORCE__CONFIG_PATH", str(option_file))
    assert resolve_config_path() == option_file
    monkeypatch.setenv("OKTA_SALESFORCE_CONFIG", str(env_file))
    assert resolve_config_path() == env_file
    assert resolve_config_path(option_file) == option_file  # an operator's explicit path wins


def test_missing_config_names_both_settings(no_settings: Path) -> None:
    with pytest.raises(ConfigNotFoundError) as error:
        resolve_config_path()
    assert "OKTA_SALESFORCE_CONFIG" in str(error.value)
    assert "[okta_salesforce] config_path" in str(error.value)
    assert "okta-salesforce init" in str(error.value)


def test_a_setting_pointing_nowhere_says_where_it_came_from(no_settings: Path, monkeypatch) -> None:
    monkeypatch.setenv("AIRFLOW__OKTA_SALESFORCE__CONFIG_PATH", str(no_settings / "gone.yaml"))
    with pytest.raises(ConfigNotFoundError, match=r"gone\.yaml \(from the Airflow option"):
        resolve_config_path()


def test_the_option_is_declared_in_the_provider_info() -> None:
    option = get_provider_info()["config"]["okta_salesforce"]["options"]["config_path"]
    assert option["type"] == "string"
    assert "OKTA_SALESFORCE_CONFIG" in option["description"]
