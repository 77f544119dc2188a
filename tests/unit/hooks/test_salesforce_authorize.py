"""Unit tests of ``okta-salesforce authorize``: the loopback callback, the connection forms, storing."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import stat
import threading
from urllib.parse import parse_qs, urlsplit

import requests

from okta_salesforce import authorize
from okta_salesforce.cli import build_parser
from okta_salesforce.hooks.salesforce_oauth import TokenResponse

CLIENT_ID = "3MVG9unit.client"


def test_cli_wires_the_authorize_command():
    args = build_parser().parse_args(["authorize", "--client-id", CLIENT_ID, "--print", "uri", "--full"])
    assert args.func is authorize.run
    assert (args.conn_id, args.port, args.print_as, args.full) == (
        "salesforce_oauth_default",
        8765,
        "uri",
        True,
    )


def test_missing_client_id_is_a_usage_error(monkeypatch, capsys):
    monkeypatch.delenv("SALESFORCE_CLIENT_ID", raising=False)
    args = build_parser().parse_args(["authorize"])
    assert authorize.run(args) == 2
    assert "--client-id" in capsys.readouterr().err


def test_connection_uri_round_trips_through_airflow(monkeypatch):
    from airflow.sdk import BaseHook

    conn = authorize.connection_dict(
        login_url="https://acme.my.salesforce.com",
        client_id=CLIENT_ID,
        client_secret="s3cr/t+secret",
        refresh_token="5Aep861/abc+def==",
        api_version="62.0",
        ca_bundle="/etc/ssl/extra.pem",
    )
    monkeypatch.setenv("AIRFLOW_CONN_SF_URI", authorize.connection_uri("sf_uri", conn))
    read = BaseHook.get_connection("sf_uri")
    assert (read.conn_type, read.host, read.login, read.password) == (
        "salesforce_oauth",
        "https://acme.my.salesforce.com",
        CLIENT_ID,
        "s3cr/t+secret",
    )
    assert read.extra_dejson == conn["extra"]


def _fake_exchange(monkeypatch, seen: dict):
    def authorization_code(self, code, *, redirect_uri, code_verifier):
        seen.update(code=code, redirect_uri=redirect_uri, verifier=code_verifier)
        return TokenResponse(
            access_token="canary-access-0000",
            instance_url="https://acme.my.salesforce.com",
            refresh_token="canary-refresh-0000",
            scope="api refresh_token offline_access",
        )

    monkeypatch.setattr(
        "okta_salesforce.hooks.salesforce_oauth.TokenEndpoint.authorization_code", authorization_code
    )


def _browser(*, tamper_state: bool = False):
    """Plays Salesforce's redirect to the loopback callback (first a forged one when asked)."""
    calls = {}

    def open_browser(url: str) -> bool:
        query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
        calls.update(query)

        def redirect() -> None:
            if tamper_state:
                calls["forged"] = requests.get(
                    query["redirect_uri"], params={"code": "evil", "state": "forged"}, timeout=5
                ).status_code
            calls["real"] = requests.get(
                query["redirect_uri"], params={"code": "aPrxGOOD", "state": query["state"]}, timeout=5
            ).status_code

        calls["thread"] = threading.Thread(target=redirect, daemon=True)
        calls["thread"].start()
        return True

    return open_browser, calls


def test_pkce_state_and_loopback_redirect(monkeypatch):
    seen: dict = {}
    _fake_exchange(monkeypatch, seen)
    open_browser, calls = _browser(tamper_state=True)
    token = authorize.authorize(
        login_url="https://login.salesforce.com",
        client_id=CLIENT_ID,
        client_secret="x" * 20,
        port=0,
        open_browser=open_browser,
        timeout=10,
    )
    assert token.refresh_token == "canary-refresh-0000"
    calls["thread"].join(5)
    assert calls["forged"] == 400  # a forged state is refused and the real redirect still accepted
    assert calls["real"] == 200
    assert seen["code"] == "aPrxGOOD"
    assert calls["code_challenge_method"] == "S256"
    assert calls["scope"] == "api refresh_token offline_access"
    assert calls["redirect_uri"].startswith("http://127.0.0.1:")
    assert calls["redirect_uri"] == seen["redirect_uri"]

    digest = (
        base64.urlsafe_b64encode(hashlib.sha256(seen["verifier"].encode()).digest()).rstrip(b"=").decode()
    )
    assert digest == calls["code_challenge"]


def test_store_falls_back_to_a_private_file(monkeypatch, tmp_path, capsys):
    seen: dict = {}
    _fake_exchange(monkeypatch, seen)
    open_browser, _ = _browser()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SALESFORCE_CLIENT_SECRET", "canary-secret-0000")

    def no_database(conn_id, conn):
        raise RuntimeError("no metadata database here")

    monkeypatch.setattr(authorize, "_write_connection", no_database)
    args = build_parser().parse_args(
        ["authorize", "--client-id", CLIENT_ID, "--port", "0", "--timeout", "10"]
    )
    code = authorize.run(args, open_browser=open_browser)
    err = capsys.readouterr().err
    saved = tmp_path / "salesforce_oauth_default.connection.json"
    assert code == 1
    assert saved.exists(), err
    assert stat.S_IMODE(os.stat(saved).st_mode) == 0o600
    conn = json.loads(saved.read_text())["salesforce_oauth_default"]
    assert conn["extra"]["refresh_token"] == "canary-refresh-0000"
    assert "canary" not in err
