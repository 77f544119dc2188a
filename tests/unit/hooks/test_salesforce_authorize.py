"""Unit tests of ``okta-salesforce authorize``: the loopback callback, the connection forms, storing."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import socket
import stat
import threading
from urllib.parse import parse_qs, urlsplit

import pytest
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
    extra = read.extra_dejson
    # Airflow 3.1 parses each URI query value as JSON ("62.0" comes back as 62.0); the hook str()s it.
    assert {**extra, "api_version": str(extra["api_version"])} == conn["extra"]


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


# -- the listener under attack -------------------------------------------------------------------
def _run_in_thread(**kwargs):
    """Run ``authorize.authorize`` in a thread (a hang must fail the test, not stall it)."""
    outcome: dict = {}

    def target() -> None:
        try:
            outcome["token"] = authorize.authorize(
                login_url="https://login.salesforce.com",
                client_id=CLIENT_ID,
                client_secret="x" * 20,
                **kwargs,
            )
        except Exception as err:
            outcome["error"] = err

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread, outcome


def _silent_then_real(calls: dict):
    """A local program connects and sends nothing; then the browser delivers the real redirect."""

    def open_browser(url: str) -> bool:
        query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
        calls.update(query)
        port = urlsplit(query["redirect_uri"]).port
        calls["silent"] = socket.create_connection(("127.0.0.1", port))  # kept open, never writes

        def redirect() -> None:
            calls["real"] = requests.get(
                query["redirect_uri"], params={"code": "aPrxGOOD", "state": query["state"]}, timeout=20
            ).status_code

        threading.Thread(target=redirect, daemon=True).start()
        return True

    return open_browser


def test_listener_survives_a_silent_connection(monkeypatch):
    seen: dict = {}
    _fake_exchange(monkeypatch, seen)
    calls: dict = {}
    thread, outcome = _run_in_thread(port=0, open_browser=_silent_then_real(calls), timeout=30)
    thread.join(60)
    calls["silent"].close()
    assert not thread.is_alive(), "the listener hung on a silent connection"
    assert "error" not in outcome, outcome.get("error")
    assert calls["real"] == 200
    assert seen["code"] == "aPrxGOOD"


def test_timeout_is_honoured_with_a_silent_connection_open():
    silent: dict = {}

    def open_browser(url: str) -> bool:
        port = urlsplit(parse_qs(urlsplit(url).query)["redirect_uri"][0]).port
        silent["socket"] = socket.create_connection(("127.0.0.1", port))
        return True

    thread, outcome = _run_in_thread(port=0, open_browser=open_browser, timeout=1)
    thread.join(60)
    silent["socket"].close()
    assert not thread.is_alive(), "--timeout was not honoured"
    assert isinstance(outcome.get("error"), authorize.AuthorizationFailed)
    assert "within 1 s" in str(outcome["error"])


def test_non_ascii_state_is_refused_not_a_traceback(monkeypatch):
    seen: dict = {}
    _fake_exchange(monkeypatch, seen)
    calls: dict = {}

    def open_browser(url: str) -> bool:
        query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}

        def redirect() -> None:
            uri = query["redirect_uri"]
            calls["unicode"] = requests.get(
                uri, params={"code": "x", "state": "é" * 43}, timeout=5
            ).status_code
            calls["real"] = requests.get(uri, params={"code": "aPrxGOOD", "state": query["state"]}, timeout=5)

        threading.Thread(target=redirect, daemon=True).start()
        return True

    thread, outcome = _run_in_thread(port=0, open_browser=open_browser, timeout=20)
    thread.join(60)
    assert "error" not in outcome, outcome.get("error")
    assert calls["unicode"] == 400
    assert seen["code"] == "aPrxGOOD"


def test_busy_port_gets_a_clear_message(capsys):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        args = build_parser().parse_args(
            ["authorize", "--client-id", CLIENT_ID, "--listen", f"127.0.0.1:{port}"]
        )
        os.environ.setdefault("SALESFORCE_CLIENT_SECRET", "unused")
        assert authorize.run(args, open_browser=lambda _url: True) == 1
    err = capsys.readouterr().err
    assert f"Cannot listen on 127.0.0.1:{port}: the port is in use" in err
    assert "Traceback" not in err


def test_listen_option_parses_host_and_port():
    assert authorize.listen_address(None, 8765) == ("127.0.0.1", 8765)
    assert authorize.listen_address("0.0.0.0:9000", 8765) == ("0.0.0.0", 9000)
    assert authorize.listen_address("[::1]:9000", 8765) == ("::1", 9000)
    for bad in ("9000", "host:", "host:http", "h:70000"):
        with pytest.raises(ValueError, match="HOST:PORT"):
            authorize.listen_address(bad, 8765)


# -- --no-listener -------------------------------------------------------------------------------
def _paste(url_for):
    calls: dict = {}

    def open_browser(url: str) -> bool:
        calls.update({k: v[0] for k, v in parse_qs(urlsplit(url).query).items()})
        return False

    def read(prompt: str) -> str:
        calls["prompt"] = prompt
        return url_for(calls)

    return open_browser, read, calls


def test_no_listener_exchanges_the_pasted_code_with_the_pkce_verifier(monkeypatch):
    seen: dict = {}
    _fake_exchange(monkeypatch, seen)
    open_browser, read, calls = _paste(lambda c: f"{c['redirect_uri']}?code=aPrxPASTED&state={c['state']}")
    token = authorize.authorize(
        login_url="https://login.salesforce.com",
        client_id=CLIENT_ID,
        client_secret="x" * 20,
        port=8765,
        listener=False,
        open_browser=open_browser,
        read_redirect=read,
    )
    assert token.refresh_token == "canary-refresh-0000"
    assert seen["code"] == "aPrxPASTED"
    assert seen["redirect_uri"] == calls["redirect_uri"] == "http://127.0.0.1:8765/callback"
    digest = (
        base64.urlsafe_b64encode(hashlib.sha256(seen["verifier"].encode()).digest()).rstrip(b"=").decode()
    )
    assert digest == calls["code_challenge"]


@pytest.mark.parametrize(
    ("pasted", "message"),
    [
        (lambda c: f"{c['redirect_uri']}?code=evil&state=forged", "state does not match"),
        (lambda c: f"{c['redirect_uri']}?code=evil&state=%C3%A9", "state does not match"),
        (lambda c: f"https://evil.example/callback?code=x&state={c['state']}", "not the callback address"),
        (lambda c: f"{c['redirect_uri']}?error=access_denied&state={c['state']}", "access_denied"),
    ],
    ids=["forged-state", "non-ascii-state", "other-address", "denied"],
)
def test_no_listener_refuses_what_is_not_this_runs_redirect(monkeypatch, pasted, message):
    seen: dict = {}
    _fake_exchange(monkeypatch, seen)
    open_browser, read, _ = _paste(pasted)
    with pytest.raises(authorize.AuthorizationFailed, match=message):
        authorize.authorize(
            login_url="https://login.salesforce.com",
            client_id=CLIENT_ID,
            client_secret="x" * 20,
            port=8765,
            listener=False,
            open_browser=open_browser,
            read_redirect=read,
        )
    assert not seen  # nothing was exchanged


# -- the fallback file ---------------------------------------------------------------------------
def _store_failing_database(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)

    def no_database(conn_id, conn):
        raise RuntimeError("no metadata database here")

    monkeypatch.setattr(authorize, "_write_connection", no_database)
    conn = authorize.connection_dict(
        login_url="https://login.salesforce.com",
        client_id=CLIENT_ID,
        client_secret="canary-secret-0000",
        refresh_token="canary-refresh-0000",
        api_version="62.0",
    )
    return authorize._store("salesforce_oauth_default", conn)


def test_fallback_file_is_0600_even_when_a_readable_file_existed(monkeypatch, tmp_path):
    saved = tmp_path / "salesforce_oauth_default.connection.json"
    saved.write_text("old")
    os.chmod(saved, 0o644)
    assert _store_failing_database(monkeypatch, tmp_path) == 1
    assert stat.S_IMODE(os.stat(saved).st_mode) == 0o600
    assert json.loads(saved.read_text())["salesforce_oauth_default"]["extra"]["refresh_token"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [saved.name]  # no temporary file left


def test_fallback_file_is_not_written_through_a_symlink(monkeypatch, tmp_path):
    target = tmp_path / "elsewhere.txt"
    target.write_text("untouched")
    os.chmod(target, 0o644)
    saved = tmp_path / "salesforce_oauth_default.connection.json"
    saved.symlink_to(target)
    assert _store_failing_database(monkeypatch, tmp_path) == 1
    assert target.read_text() == "untouched"
    assert not saved.is_symlink()
    assert stat.S_IMODE(os.lstat(saved).st_mode) == 0o600
