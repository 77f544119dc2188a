"""``okta-salesforce demo --standalone``: loopback only, with a generated password shown once."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest

from okta_salesforce_testbed import demo


class FakeEnvironment:
    def __init__(self, home: Path) -> None:
        self.home = home

        self.stored = False

    def env(self) -> dict[str, str]:
        return {"AIRFLOW_HOME": str(self.home), "AIRFLOW_CONN_OKTA_DEFAULT": "{}"}

    def store_connections(self) -> list[str]:
        self.stored = True
        return ["okta_default", "salesforce_oauth_default"]

    def env_with_stored_connections(self) -> dict[str, str]:
        return {k: v for k, v in self.env().items() if not k.startswith("AIRFLOW_CONN_")}


class FakeProcess:
    pid = 0

    def wait(self, timeout: float | None = None) -> int:
        return 0


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, Any]:
    seen: dict[str, Any] = {}

    def popen(args: list[str], *, env: dict[str, str], **kwargs: Any) -> FakeProcess:
        seen.update(args=args, env=env)
        return FakeProcess()

    monkeypatch.setattr(demo.subprocess, "Popen", popen)
    monkeypatch.setattr(demo.signal, "signal", lambda *args: None)
    monkeypatch.setattr(demo, "_stop_group", lambda process: None)
    return seen


def test_standalone_binds_loopback_with_a_generated_password(started, tmp_path, capsys) -> None:
    environment = FakeEnvironment(tmp_path)
    assert demo._standalone(environment, 8089) == 0
    assert environment.stored  # connections in the metadata database, not AIRFLOW_CONN_* variables
    env = started["env"]
    assert env["AIRFLOW__API__HOST"] == "127.0.0.1"
    assert not any(key.startswith("AIRFLOW_CONN_") for key in env)
    assert env["AIRFLOW__API__PORT"] == "8089"
    passwords = Path(env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"])
    password = json.loads(passwords.read_text())["admin"]
    assert password != "admin"
    assert len(password) >= 20
    assert stat.S_IMODE(os.stat(passwords).st_mode) == 0o600
    out = capsys.readouterr().out
    assert out.count(password) == 1  # printed once
    assert "http://127.0.0.1:8089" in out


def test_each_start_gets_a_new_password(started, tmp_path) -> None:
    environment = FakeEnvironment(tmp_path)
    _, first = demo.standalone_env(environment, 8080)
    _, second = demo.standalone_env(environment, 8080)
    assert first != second
