"""SalesforceOAuthHook and ``okta-salesforce authorize`` against the Salesforce sandbox (HTTPS, own CA)."""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import textwrap
import threading
import time
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import certifi
import pytest
import requests

from okta_salesforce import authorize
from okta_salesforce.hooks import salesforce as salesforce_module
from okta_salesforce.hooks.salesforce import ReauthorizationRequired, SalesforceOAuthHook
from okta_salesforce.hooks.salesforce_session import mount_ca_bundle
from okta_salesforce.hooks.salesforce_token_store import FileTokenStore, MemoryTokenStore

pytestmark = pytest.mark.integration

CONN_ENV = "AIRFLOW_CONN_SALESFORCE_OAUTH_DEFAULT"


@pytest.fixture(autouse=True)
def _isolation(monkeypatch: pytest.MonkeyPatch):
    # As on the CI machines: requests would let this override a Session.verify pointing elsewhere.
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", certifi.where())
    monkeypatch.setenv("CURL_CA_BUNDLE", certifi.where())
    salesforce_module.clear_token_cache()
    yield
    salesforce_module.clear_token_cache()


@pytest.fixture
def salesforce(sandboxes, monkeypatch: pytest.MonkeyPatch):
    """The sandbox with ``salesforce_oauth_default`` pointed at it (refresh_token flow)."""
    monkeypatch.setenv(CONN_ENV, json.dumps(sandboxes.salesforce_connection()))
    return sandboxes


@pytest.fixture
def paged_salesforce(tmp_path, monkeypatch: pytest.MonkeyPatch):
    """A larger company, so that ``User`` queries take several 200-record pages."""
    from okta_salesforce_testbed.sandbox import Sandboxes

    with Sandboxes(users=800, directory=tmp_path / "paged") as sb:
        monkeypatch.setenv(CONN_ENV, json.dumps(sb.salesforce_connection()))
        yield sb


def hook(**kwargs: Any) -> SalesforceOAuthHook:
    h = SalesforceOAuthHook(token_store=kwargs.pop("token_store", MemoryTokenStore()), **kwargs)
    h.rotation_settle_seconds = 1.0
    return h


def secrets_of(sandboxes) -> list[str]:
    creds = sandboxes.seed.credentials
    return [creds.salesforce_client_secret, creds.salesforce_refresh_token, creds.salesforce_admin_password]


# -- flows ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("flow", ["refresh_token", "jwt_bearer", "client_credentials"])
def test_each_flow_yields_a_working_client(sandboxes, monkeypatch, flow):
    monkeypatch.setenv(CONN_ENV, json.dumps(sandboxes.salesforce_connection(auth_flow=flow)))
    sf = hook().get_conn()
    assert sf.sf_version == "62.0"
    assert sf.query("SELECT Id, Username FROM User LIMIT 5")["records"]


def test_signature_tamper_is_caught(salesforce, monkeypatch):
    conn = salesforce.salesforce_connection()
    conn["password"] = "not-the-consumer-secret-but-accepted"
    oauth = salesforce.salesforce_app.oauth
    monkeypatch.setattr(oauth, "_client", lambda *a, **k: None)  # the server accepts any secret
    monkeypatch.setenv(CONN_ENV, json.dumps(conn))
    ok, message = hook().test_connection()
    assert not ok
    assert "signature" in message


def test_expiry_between_query_all_pages_loses_no_rows(paged_salesforce):
    salesforce = paged_salesforce
    expected = sorted(u["Id"] for u in salesforce.salesforce_app.users())
    sf = hook().get_conn()
    soql = "SELECT Id, Username FROM User ORDER BY Id"
    small_pages = {"Sforce-Query-Options": "batchSize=200"}  # several pages from a 200-person company
    original = sf.query_more
    pages = []

    def query_more(*args: Any, **kwargs: Any) -> Any:
        if not pages:
            salesforce.salesforce_app.expire_access_tokens()  # the token dies between page 1 and page 2
        pages.append(args[0])
        return original(*args, **kwargs)

    sf.query_more = query_more
    records = sf.query_all(soql, headers=small_pages)["records"]
    assert len(pages) >= 2
    assert len(records) == len(expected)
    assert sorted(r["Id"] for r in records) == expected


def test_query_all_iter_with_short_lived_tokens(paged_salesforce):
    salesforce = paged_salesforce
    salesforce.salesforce_app.access_token_ttl_calls = 2  # every token dies after two calls
    sf = hook().get_conn()
    ids = [
        r["Id"]
        for r in sf.query_all_iter("SELECT Id FROM User", headers={"Sforce-Query-Options": "batchSize=200"})
    ]
    assert sorted(ids) == sorted(u["Id"] for u in salesforce.salesforce_app.users())


def test_expiry_on_restful_and_sobject_calls(salesforce):
    sf = hook().get_conn()
    user_id = sf.query("SELECT Id FROM User WHERE IsActive = true LIMIT 1")["records"][0]["Id"]
    salesforce.salesforce_app.expire_access_tokens()
    assert "DailyApiRequests" in sf.restful("limits/")
    salesforce.salesforce_app.expire_access_tokens()
    assert sf.User.get(user_id)["Id"] == user_id


def test_invalid_grant_names_the_connection(salesforce, monkeypatch):
    conn = salesforce.salesforce_connection()
    conn["extra"]["refresh_token"] = "5Aep861revoked-or-never-issued-token"
    monkeypatch.setenv(CONN_ENV, json.dumps(conn))
    with pytest.raises(ReauthorizationRequired, match="salesforce_oauth_default") as err:
        hook().get_conn()
    assert "5Aep861revoked" not in str(err.value)


# -- rotation across processes -------------------------------------------------------------------
CHILD = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from okta_salesforce.hooks.salesforce import SalesforceOAuthHook

    ready, go = Path(sys.argv[1] + ".ready"), Path(sys.argv[2])
    hook = SalesforceOAuthHook()
    hook.rotation_settle_seconds = 10
    ready.touch()
    while not go.exists():
        time.sleep(0.01)
    result = hook.get_conn().query("SELECT Id FROM User LIMIT 3")
    print("OK", result["totalSize"])
    """
)


def run_children(count: int, env: dict[str, str], tmp: Path, *, separate_hosts: bool = False) -> list[str]:
    """Start ``count`` processes, let them import, then release them at the same moment."""
    go = tmp / f"go-{time.monotonic_ns()}"
    procs = []
    for i in range(count):
        child_env = dict(env)
        if separate_hosts:  # a private lock directory each: no shared file lock, as on two machines
            child_env["TMPDIR"] = str(tmp / f"host-{i}")
            Path(child_env["TMPDIR"]).mkdir(exist_ok=True)
        marker = tmp / f"child-{go.name}-{i}"
        procs.append(
            (
                marker,
                subprocess.Popen(
                    [sys.executable, "-c", CHILD, str(marker), str(go)],
                    env=child_env,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                ),
            )
        )
    deadline = time.monotonic() + 240  # importing Airflow is slow on a busy 2-core machine
    while not all(Path(f"{m}.ready").exists() or p.poll() is not None for m, p in procs):
        assert time.monotonic() < deadline, "children did not start"
        time.sleep(0.02)
    go.touch()
    outputs = []
    for _, proc in procs:
        out, err = proc.communicate(timeout=240)
        assert proc.returncode == 0, err[-2000:]
        outputs.append(out.strip().splitlines()[-1])  # Airflow's log lines come first
    return outputs


@pytest.fixture
def rotation_env(salesforce, tmp_path):
    salesforce.salesforce_app.oauth.rotate_refresh_tokens = True
    store_dir = tmp_path / "tokens"
    env = {
        **os.environ,
        CONN_ENV: json.dumps(salesforce.salesforce_connection()),
        "OKTA_SALESFORCE_TOKEN_STORE": f"file:{store_dir}",
    }
    return env, FileTokenStore(store_dir)


def test_rotation_three_consecutive_runs_in_separate_processes(salesforce, rotation_env, tmp_path):
    env, store = rotation_env
    seen = set()
    for _run in range(3):
        assert run_children(1, env, tmp_path)[0].startswith("OK")
        stored = store.get("salesforce_oauth_default")
        assert stored is not None
        seen.add(stored.refresh_token)
        # The shared access token outlives a run; past the org's session timeout it is rejected.
        salesforce.salesforce_app.expire_access_tokens()
    assert len(seen) == 3  # rotated every run, and each successor worked
    assert (
        salesforce.seed.credentials.salesforce_refresh_token
        not in salesforce.salesforce_app.oauth.refresh_tokens
    )


@pytest.mark.parametrize("separate_hosts", [False, True], ids=["one-host", "two-hosts"])
def test_rotation_two_processes_refreshing_at_once(salesforce, rotation_env, tmp_path, separate_hosts):
    env, store = rotation_env
    outputs = run_children(2, env, tmp_path, separate_hosts=separate_hosts)
    assert all(o.startswith("OK") for o in outputs), outputs
    stored = store.get("salesforce_oauth_default")
    assert stored is not None
    assert stored.refresh_token in salesforce.salesforce_app.oauth.refresh_tokens
    salesforce_module.clear_token_cache()  # and the next run still works
    assert hook(token_store=store).get_conn().query("SELECT Id FROM User LIMIT 1")["records"]


# -- secrets -------------------------------------------------------------------------------------
def test_canary_secrets_stay_out_of_debug_logs_and_errors(salesforce, monkeypatch, caplog, capfd):
    caplog.set_level(logging.DEBUG)
    for name in ("urllib3", "requests", "simple_salesforce", "okta_salesforce", "airflow"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    salesforce.salesforce_app.oauth.rotate_refresh_tokens = True
    h = hook()
    sf = h.get_conn()
    salesforce.salesforce_app.expire_access_tokens()
    sf.query_all("SELECT Id FROM User")
    token = h.get_access_token()
    issued = [token.access_token, *salesforce.salesforce_app.oauth.refresh_tokens]
    conn = salesforce.salesforce_connection()
    conn["password"] = "wrong-secret-canary"
    monkeypatch.setenv(CONN_ENV, json.dumps(conn))
    salesforce_module.clear_token_cache()
    errors = []
    for _ in range(2):
        try:
            hook().get_conn()
        except Exception as err:
            errors.append(f"{err!r} {err}")
        conn["password"] = salesforce.seed.credentials.salesforce_client_secret
        conn["extra"]["refresh_token"] = "5Aep861canary-dead-token"
        monkeypatch.setenv(CONN_ENV, json.dumps(conn))
    ok, message = hook().test_connection()
    out, err = capfd.readouterr()
    text = "\n".join([caplog.text, out, err, message, *errors])
    assert len(errors) == 2
    assert not ok
    for secret in [*secrets_of(salesforce), *issued, "wrong-secret-canary", "5Aep861canary-dead-token"]:
        assert secret not in text


# -- UI ------------------------------------------------------------------------------------------
def test_test_connection_success_and_readable_failure(salesforce, monkeypatch):
    ok, message = hook().test_connection()
    assert ok, message
    assert salesforce.salesforce.url in message
    conn = salesforce.salesforce_connection()
    conn["login"] = "3MVG9unknown.client"
    monkeypatch.setenv(CONN_ENV, json.dumps(conn))
    ok, message = hook().test_connection()
    assert not ok
    assert "invalid_client_id" in message


def test_ca_bundle_is_required_for_the_sandbox(salesforce, monkeypatch):
    conn = salesforce.salesforce_connection()
    del conn["extra"]["ca_bundle"]
    monkeypatch.setenv(CONN_ENV, json.dumps(conn))
    ok, message = hook().test_connection()
    assert not ok
    assert "ca_bundle" in message


# -- authorize -----------------------------------------------------------------------------------
class _Forms(HTMLParser):
    """The forms of a page: action, method and the inputs (name -> value), keyed by form id."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: dict[str, dict[str, Any]] = {}
        self._current: dict[str, Any] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self._current = {"action": a.get("action", ""), "method": a.get("method", "get"), "inputs": {}}
            self.forms[a.get("id", str(len(self.forms)))] = self._current
        elif tag == "input" and self._current is not None:
            self._current["inputs"][a.get("id") or a.get("name", "")] = (
                a.get("name", ""),
                a.get("value", ""),
            )

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._current = None


_BUTTONS = {"Login", "oaapprove", "oadeny"}


def submit(
    session: requests.Session, page: requests.Response, button: str, *, follow: bool = True, **values: str
) -> requests.Response:
    """Fill the inputs (by id) of the form holding ``button`` and press it, as a browser would.

    :param follow: follow the answer's redirect (``False``: stop at it, as when nothing listens there).
    """
    parser = _Forms()
    parser.feed(page.text)
    form = next(f for f in parser.forms.values() if button in f["inputs"])
    data = {}
    for input_id, (name, value) in form["inputs"].items():
        if input_id in _BUTTONS and input_id != button:
            continue
        data[name] = values.get(input_id, value)
    return session.request(
        form["method"].upper(), urljoin(page.url, form["action"]), data=data, allow_redirects=follow
    )


def browser_for(sandboxes, *, username: str, password: str, approve: bool = True):
    """An ``open_browser`` stand-in that logs in and clicks Allow (in a thread, like a real browser)."""
    results: dict[str, Any] = {}

    def drive(url: str) -> None:
        redirect_uri = parse_qs(urlsplit(url).query)["redirect_uri"][0]
        results["redirect_uri"] = redirect_uri
        with mount_ca_bundle(requests.Session(), str(sandboxes.ca_path)) as s:
            login = s.get(url)
            allow = submit(s, login, "Login", username=username, password=password)
            results["final"] = submit(s, allow, "oaapprove" if approve else "oadeny")

    def open_browser(url: str) -> bool:
        redirect_uri = parse_qs(urlsplit(url).query)["redirect_uri"][0]
        sandboxes.salesforce_app.register_callback(redirect_uri)  # as the admin listed it in the app
        threading.Thread(target=drive, args=(url,), daemon=True).start()
        return True

    return open_browser, results


def authorize_args(sandboxes, *extra: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    authorize.add_arguments(parser)
    creds = sandboxes.seed.credentials
    return parser.parse_args(
        [
            "--login-url",
            sandboxes.salesforce.url,
            "--client-id",
            creds.salesforce_client_id,
            "--ca-bundle",
            str(sandboxes.ca_path),
            "--port",
            "0",
            "--timeout",
            "30",
            "--instance-domains",
            "127.0.0.1",
            *extra,
        ]
    )


def test_authorize_end_to_end_leaves_a_working_connection(sandboxes, monkeypatch, capsys):
    creds = sandboxes.seed.credentials
    monkeypatch.setenv("SALESFORCE_CLIENT_SECRET", creds.salesforce_client_secret)
    open_browser, results = browser_for(
        sandboxes, username=creds.salesforce_admin_username, password=creds.salesforce_admin_password
    )
    assert authorize.run(authorize_args(sandboxes, "--print", "json"), open_browser=open_browser) == 0
    out, err = capsys.readouterr()
    conn = json.loads(out)
    assert results["final"].status_code == 200
    assert results["redirect_uri"].startswith("http://127.0.0.1:")
    assert conn["extra"]["refresh_token"] != creds.salesforce_refresh_token
    assert creds.salesforce_client_secret not in err
    monkeypatch.setenv(CONN_ENV, json.dumps(conn))
    ok, message = hook().test_connection()
    assert ok, message


def test_authorize_prints_a_uri_airflow_reads(sandboxes, monkeypatch, capsys):
    creds = sandboxes.seed.credentials
    monkeypatch.setenv("SALESFORCE_CLIENT_SECRET", creds.salesforce_client_secret)
    open_browser, _ = browser_for(
        sandboxes, username=creds.salesforce_admin_username, password=creds.salesforce_admin_password
    )
    assert authorize.run(authorize_args(sandboxes, "--print", "uri"), open_browser=open_browser) == 0
    monkeypatch.setenv(CONN_ENV, capsys.readouterr().out.strip())
    assert hook().get_conn().query("SELECT Id FROM User LIMIT 1")["records"]


def test_authorize_denied_is_reported(sandboxes, monkeypatch, capsys):
    creds = sandboxes.seed.credentials
    monkeypatch.setenv("SALESFORCE_CLIENT_SECRET", creds.salesforce_client_secret)
    open_browser, _ = browser_for(
        sandboxes,
        username=creds.salesforce_admin_username,
        password=creds.salesforce_admin_password,
        approve=False,
    )
    assert authorize.run(authorize_args(sandboxes, "--print", "json"), open_browser=open_browser) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert "access_denied" in err


# -- authorize --no-listener: the admin pastes the redirected address -----------------------------
def paste_driver(sandboxes, *, forge_state: bool = False):
    """``open_browser`` + ``read_redirect`` stand-ins: log in, Allow, and paste where Salesforce sent us.

    Nothing listens on the callback, so the browser stops at the redirect; its address is what
    the admin copies from the address bar.
    """
    creds = sandboxes.seed.credentials
    seen: dict[str, Any] = {}

    def open_browser(url: str) -> bool:
        seen["url"] = url
        redirect_uri = parse_qs(urlsplit(url).query)["redirect_uri"][0]
        sandboxes.salesforce_app.register_callback(redirect_uri)
        return False  # no browser on this machine

    def read_redirect(prompt: str) -> str:
        seen["prompt"] = prompt
        with mount_ca_bundle(requests.Session(), str(sandboxes.ca_path)) as s:
            login = s.get(seen["url"])
            allow = submit(
                s,
                login,
                "Login",
                username=creds.salesforce_admin_username,
                password=creds.salesforce_admin_password,
            )
            redirected = submit(s, allow, "oaapprove", follow=False)
        assert redirected.status_code in (302, 303), redirected.status_code
        location = redirected.headers["Location"]
        seen["location"] = location
        if forge_state:
            query = parse_qs(urlsplit(location).query)
            return location.replace(query["state"][0], "forged-state")
        return location

    return open_browser, read_redirect, seen


def test_authorize_no_listener_paste_flow_end_to_end(sandboxes, monkeypatch, capsys):
    creds = sandboxes.seed.credentials
    monkeypatch.setenv("SALESFORCE_CLIENT_SECRET", creds.salesforce_client_secret)
    open_browser, read_redirect, seen = paste_driver(sandboxes)
    args = authorize_args(sandboxes, "--no-listener", "--port", "8765", "--print", "json")
    assert authorize.run(args, open_browser=open_browser, read_redirect=read_redirect) == 0
    out, err = capsys.readouterr()
    query = parse_qs(urlsplit(seen["url"]).query)
    assert query["code_challenge_method"] == ["S256"]  # PKCE: the sandbox checked the verifier
    assert query["redirect_uri"] == ["http://127.0.0.1:8765/callback"]
    assert seen["location"].startswith("http://127.0.0.1:8765/callback?code=")
    assert "nothing listens" in err
    assert creds.salesforce_client_secret not in err
    conn = json.loads(out)
    assert conn["extra"]["instance_domains"] == "127.0.0.1"
    monkeypatch.setenv(CONN_ENV, json.dumps(conn))
    ok, message = hook().test_connection()
    assert ok, message


def test_authorize_no_listener_refuses_a_pasted_foreign_state(sandboxes, monkeypatch, capsys):
    creds = sandboxes.seed.credentials
    monkeypatch.setenv("SALESFORCE_CLIENT_SECRET", creds.salesforce_client_secret)
    open_browser, read_redirect, _ = paste_driver(sandboxes, forge_state=True)
    issued = len(sandboxes.salesforce_app.oauth.refresh_tokens)
    args = authorize_args(sandboxes, "--no-listener", "--port", "8765", "--print", "json")
    assert authorize.run(args, open_browser=open_browser, read_redirect=read_redirect) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert "state does not match" in err
    assert len(sandboxes.salesforce_app.oauth.refresh_tokens) == issued  # the code was never exchanged
