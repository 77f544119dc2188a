"""``okta-salesforce check`` against the sandboxes: a right set-up passes, each planted mistake is named."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
import yaml

from okta_salesforce.cli import main
from okta_salesforce_testbed.sandbox import Sandboxes
from okta_salesforce_testbed.sandbox.salesforce_schema import SCHEMA

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
def sandboxes(tmp_path: Path):
    with Sandboxes(users=20, directory=tmp_path / "sandbox") as sb:
        yield sb


@pytest.fixture
def connected(sandboxes: Sandboxes, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Both connections pointed at the sandboxes (Okta as an API service app), the pool present."""
    from okta_salesforce.hooks.salesforce import clear_token_cache

    clear_token_cache()
    for key, value in sandboxes.connection_env(auth_mode="private_key").items():
        monkeypatch.setenv(key, value)
    monkeypatch.setattr("okta_salesforce.pool.pool_slots", lambda name="salesforce_api": 4)
    config = tmp_path / "okta_salesforce.yaml"
    config.write_text((REPO / "include" / "okta_salesforce.yaml").read_text())
    monkeypatch.setenv("OKTA_SALESFORCE_CONFIG", str(config))
    return config


def _check(capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    code = main(["check"])
    return code, capsys.readouterr().out.splitlines()


def test_a_right_set_up_passes(connected: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, lines = _check(capsys)
    assert code == 0, "\n".join(lines)
    assert lines[-1] == "Everything the sync needs is in place."
    for expected in (
        "Salesforce API version: v62.0",
        "Salesforce integration user: may create and edit users",
        "Salesforce field User.Department: exists and is writable",
        "Salesforce Profile 'Marketing User': exists",
        "Okta app id: 0oasalesforceapp0001",
        "(okta.logs.read): reads the System Log",
        "Airflow pool salesforce_api: 4 slots",
    ):
        assert any(expected in line for line in lines), expected


def test_each_planted_mistake_is_named(
    connected: Path, sandboxes: Sandboxes, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config = yaml.safe_load(connected.read_text())
    config["okta"]["app_id"] = "0oaWRONGAPPID0000000"
    config["mapping"]["ProfileId"]["table"]["Sales"] = "Sales Wizard"
    connected.write_text(yaml.safe_dump(config))
    # Field-level security makes Department read-only for the integration user.
    fields = SCHEMA["user"].fields
    monkeypatch.setitem(fields, "department", dataclasses.replace(fields["department"], updateable=False))
    okta = sandboxes.okta_connection(auth_mode="private_key")
    okta["extra"]["scopes"] = "okta.apps.read okta.users.read"  # okta.logs.read left out
    monkeypatch.setenv("AIRFLOW_CONN_OKTA_DEFAULT", json.dumps(okta))
    monkeypatch.setattr("okta_salesforce.pool.pool_slots", lambda name="salesforce_api": None)

    code, lines = _check(capsys)
    assert code == 1
    fixes = [line for line in lines if line.startswith("FIX")]
    text = "\n".join(fixes)
    assert "Salesforce Profile 'Sales Wizard': no Profile has this Name" in text
    assert "User.Department: is not writable on update (apply: always)" in text
    assert "Airflow pool salesforce_api: does not exist" in text
    assert "airflow pools set salesforce_api 4" in text
    assert "Okta app id: there is no app '0oaWRONGAPPID0000000'" in text
    assert "does not ask for okta.logs.read" in text
    assert len(fixes) == 5, text
    assert lines[-1] == "5 thing(s) to fix."
    secrets = [sandboxes.seed.credentials.salesforce_client_secret, sandboxes.seed.credentials.okta_api_token]
    assert not any(secret in "\n".join(lines) for secret in secrets)


def test_missing_config_and_broken_connection_are_named(
    connected: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("OKTA_SALESFORCE_CONFIG", str(connected.parent / "gone.yaml"))
    monkeypatch.setenv(
        "AIRFLOW_CONN_SALESFORCE_OAUTH_DEFAULT",
        json.dumps(
            {"conn_type": "salesforce_oauth", "host": "https://127.0.0.1:9", "login": "x", "password": "y"}
        ),
    )
    code, lines = _check(capsys)
    assert code == 1
    text = "\n".join(lines)
    assert "FIX  Config: The okta-salesforce config file" in text
    assert "FIX  Salesforce connection salesforce_oauth_default: no access token" in text


def test_check_target_uses_the_targets_connections_and_pool(
    connected: Path, sandboxes: Sandboxes, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    shared = yaml.safe_load(connected.read_text())
    app_id = shared["okta"].pop("app_id")
    shared["targets"] = [
        {
            "name": "emea",
            "okta": {"app_id": app_id, "conn_id": "okta_emea"},
            "salesforce": {"conn_id": "sf_emea"},
        }
    ]
    connected.write_text(yaml.safe_dump(shared))
    env = sandboxes.connection_env(auth_mode="private_key")
    monkeypatch.setenv("AIRFLOW_CONN_OKTA_EMEA", env.pop("AIRFLOW_CONN_OKTA_DEFAULT"))
    monkeypatch.setenv("AIRFLOW_CONN_SF_EMEA", env.pop("AIRFLOW_CONN_SALESFORCE_OAUTH_DEFAULT"))
    monkeypatch.delenv("AIRFLOW_CONN_OKTA_DEFAULT")
    monkeypatch.delenv("AIRFLOW_CONN_SALESFORCE_OAUTH_DEFAULT")
    pools: list[str] = []
    monkeypatch.setattr("okta_salesforce.pool.pool_slots", lambda name: pools.append(name) or 4)

    code = main(["check", "--target", "emea"])
    lines = capsys.readouterr().out.splitlines()

    assert code == 0, "\n".join(lines)
    assert pools == ["salesforce_api__emea"]
    assert any("(target emea)" in line for line in lines)
    assert main(["check"]) == 1  # a config with targets: name one
    assert "no target was named" in capsys.readouterr().out
