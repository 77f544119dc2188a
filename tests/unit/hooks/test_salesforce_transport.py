"""Where Salesforce secrets may go: HTTPS only, no redirects, a Salesforce instance_url, signed responses."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from test_salesforce import CLIENT_SECRET, REFRESH_TOKEN, FakeSalesforce, connection, make_hook

from okta_salesforce.hooks import salesforce as salesforce_module
from okta_salesforce.hooks import salesforce_locks
from okta_salesforce.hooks.salesforce import SalesforceOAuthHook
from okta_salesforce.hooks.salesforce_domains import (
    UnsafeEndpointError,
    check_instance_url,
    parse_domains,
    require_https,
)
from okta_salesforce.hooks.salesforce_oauth import (
    SalesforceOAuthError,
    SignatureMismatchError,
    TokenEndpoint,
    verify_signature,
)


@pytest.fixture(autouse=True)
def _fresh_token_cache() -> Iterator[None]:
    salesforce_module.clear_token_cache()
    yield
    salesforce_module.clear_token_cache()


@pytest.fixture
def fake() -> FakeSalesforce:
    return FakeSalesforce()


@pytest.fixture
def set_conn(monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    def set_(conn: dict[str, Any] | None = None) -> None:
        monkeypatch.setenv("AIRFLOW_CONN_SALESFORCE_OAUTH_DEFAULT", json.dumps(conn or connection()))

    return set_


def _no_io_session() -> Any:
    """A session that fails the test if anything is sent."""

    class Refuse:
        def post(self, *args: Any, **kwargs: Any) -> None:
            raise AssertionError("a request was sent")

    return Refuse()


# -- HTTPS only ---------------------------------------------------------------------------------
def test_http_login_url_is_refused_before_any_request(fake: FakeSalesforce, set_conn) -> None:
    set_conn(connection() | {"host": "http://login.fake.test"})
    hook = SalesforceOAuthHook()
    with pytest.raises(ValueError, match="must be an https:// URL"):
        hook.get_conn()
    assert fake.calls["token"] == 0
    with pytest.raises(SalesforceOAuthError, match="https://"):
        TokenEndpoint(
            login_url="http://login.salesforce.com",
            client_id="x",
            client_secret="y",
            session=_no_io_session(),
        )


@pytest.mark.parametrize(
    "url",
    [
        "http://login.salesforce.com",
        "ftp://login.salesforce.com",
        "https://",
        "https://u:p@login.salesforce.com",
    ],
)
def test_require_https_refuses(url: str) -> None:
    with pytest.raises(UnsafeEndpointError):
        require_https(url, "Login URL")


def test_a_redirect_from_the_token_endpoint_is_not_followed(fake: FakeSalesforce, set_conn) -> None:
    set_conn()
    fake.redirect_to = "https://collector.evil.test/services/oauth2/token"
    with pytest.raises(SalesforceOAuthError, match=r"HTTP 307, a redirect to collector\.evil\.test") as err:
        make_hook(fake).get_conn()
    assert fake.token_hosts == ["login.fake.test"]  # the form went nowhere else
    assert REFRESH_TOKEN not in str(err.value)
    assert CLIENT_SECRET not in str(err.value)


# -- instance_url -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "instance_url",
    [
        "https://attacker.example.com",
        "http://acme.my.salesforce.com",
        "https://salesforce.com.evil.example",
        "https://evilsalesforce.com",
    ],
)
def test_a_foreign_instance_url_is_refused(fake: FakeSalesforce, set_conn, instance_url: str) -> None:
    set_conn()
    fake.instance_url = instance_url
    with pytest.raises(SalesforceOAuthError, match="instance_url") as err:
        make_hook(fake).get_conn()
    assert err.value.error == "untrusted_instance_url"
    assert fake.calls["limits"] == 0


def test_the_private_domain_needs_the_allow_list(fake: FakeSalesforce, set_conn) -> None:
    conn = connection()
    del conn["extra"]["instance_domains"]
    set_conn(conn)
    with pytest.raises(SalesforceOAuthError, match="instance_domains"):
        make_hook(fake).get_conn()


@pytest.mark.parametrize(
    "url",
    [
        "https://acme.my.salesforce.com",
        "https://acme--uat.sandbox.my.salesforce.com",
        "https://na1.salesforce.com",
        "https://acme.my.salesforce.mil",
        "https://acme.my.sfcrmproducts.cn",
        "https://acme.cloudforce.com",
    ],
)
def test_salesforce_domains_are_accepted(url: str) -> None:
    assert check_instance_url(url) == url


def test_allow_list_forms() -> None:
    assert parse_domains('["Example.COM", "127.0.0.1"]') == ("example.com", "127.0.0.1")
    assert parse_domains("a.example, *.b.example  c.example") == ("a.example", "b.example", "c.example")
    assert check_instance_url("https://127.0.0.1:8444", ("127.0.0.1",))
    with pytest.raises(UnsafeEndpointError):
        check_instance_url("https://127.0.0.10", ("127.0.0.1",))  # an IP allows itself only
    with pytest.raises(UnsafeEndpointError, match="not a host name"):
        parse_domains("https://example.com/")


# -- signature ----------------------------------------------------------------------------------
def test_a_missing_signature_is_refused_where_salesforce_signs(fake: FakeSalesforce, set_conn) -> None:
    set_conn()
    fake.omit_signature = True
    with pytest.raises(SignatureMismatchError, match="no signature"):
        make_hook(fake).get_conn()


def test_signature_rules() -> None:
    payload = {"id": "https://login.salesforce.com/id/00D/005", "issued_at": "1"}
    verify_signature(payload, "secret")  # JWT bearer answers are not signed: nothing to check
    verify_signature(payload, None, required=True)  # no consumer secret: nothing to check with
    with pytest.raises(SignatureMismatchError):
        verify_signature(payload, "secret", required=True)


# -- the lock directory -------------------------------------------------------------------------
def test_lock_directory_is_private_to_the_user(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setattr(salesforce_locks.tempfile, "gettempdir", lambda: str(tmp_path))
    monkeypatch.delenv(salesforce_locks.LOCK_DIR_ENV, raising=False)
    path = salesforce_locks.lock_path("salesforce_oauth_default")
    directory = os.path.dirname(path)
    assert directory == str(tmp_path / f"okta-salesforce-locks-{os.getuid()}")
    assert stat.S_IMODE(os.stat(directory).st_mode) == 0o700
    os.chmod(directory, 0o755)  # loosened by someone: tightened again
    salesforce_locks.lock_path("x")
    assert stat.S_IMODE(os.stat(directory).st_mode) == 0o700


def test_lock_directory_symlink_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    link = tmp_path / "locks"
    link.symlink_to(elsewhere)
    monkeypatch.setenv(salesforce_locks.LOCK_DIR_ENV, str(link))
    with pytest.raises(salesforce_locks.UnsafeLockDirectoryError, match="not a directory"):
        salesforce_locks.lock_path("x")
