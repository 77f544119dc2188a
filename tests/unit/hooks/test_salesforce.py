"""Unit tests of SalesforceOAuthHook against an in-memory Salesforce (a transport adapter, no sockets)."""

from __future__ import annotations

import json
import secrets
import time
from collections import Counter
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
import requests
from requests.adapters import HTTPAdapter
from requests.structures import CaseInsensitiveDict

from okta_salesforce.hooks import salesforce as salesforce_module
from okta_salesforce.hooks.salesforce import ReauthorizationRequired, SalesforceOAuthHook
from okta_salesforce.hooks.salesforce_oauth import (
    SalesforceOAuthError,
    SignatureMismatchError,
    compute_signature,
    jwt_audience,
)
from okta_salesforce.hooks.salesforce_token_store import (
    FileTokenStore,
    MemoryTokenStore,
    StoredToken,
    fingerprint,
)

LOGIN_URL = "https://login.fake.test"
INSTANCE_URL = "https://acme.my.fake.test"
CLIENT_ID = "3MVG9fake.client.id"
CLIENT_SECRET = "canary-consumer-secret-7f3a9c"
REFRESH_TOKEN = "canary-refresh-token-5Aep861"
PAGE = 2000


class FakeSalesforce(HTTPAdapter):
    """Token endpoint + a few REST routes with Salesforce's wire format.

    :param rotate: return a new refresh token on every refresh and invalidate the spent one.
    """

    def __init__(self, *, rows: int = 4500, rotate: bool = False, jwt_public_key: Any = None) -> None:
        super().__init__()
        self.rows = [
            {"attributes": {"type": "User"}, "Id": f"005{i:015d}", "Username": f"u{i}@x"} for i in range(rows)
        ]
        self.rotate = rotate
        self.jwt_public_key = jwt_public_key
        self.refresh_tokens = {REFRESH_TOKEN}
        self.access_tokens: set[str] = set()
        self.issued: list[str] = []
        self.calls: Counter[str] = Counter()
        self.tamper_signature = False
        self.token_failures: list[int] = []  # statuses to answer the next token requests with
        self.expire_after: str | None = None  # route name after which all access tokens expire
        self.last_jwt_claims: dict[str, Any] | None = None
        self.instance_url = INSTANCE_URL  # what the token response names as the instance
        self.omit_signature = False
        self.redirect_to: str | None = None  # answer token requests with a 307 to this URL
        self.token_hosts: list[str] = []  # the host of every token request received

    # -- knobs ---------------------------------------------------------------------------------
    def expire_access_tokens(self) -> None:
        self.access_tokens.clear()

    # -- transport -----------------------------------------------------------------------------
    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        parts = urlsplit(request.url)
        path = parts.path
        if path == "/services/oauth2/token":
            self.calls["token"] += 1
            self.token_hosts.append(parts.netloc)
            if self.redirect_to and parts.netloc != urlsplit(self.redirect_to).netloc:
                response = _response(request, 307, None)
                response.headers["Location"] = self.redirect_to
                return response
            return self._token(request)
        auth = request.headers.get("Authorization", "")
        if auth.removeprefix("Bearer ") not in self.access_tokens:
            self.calls["401"] += 1
            return _response(
                request, 401, [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]
            )
        base = "/services/data/v62.0/"
        if not path.startswith(base):
            return _response(request, 404, [{"errorCode": "NOT_FOUND", "message": path}])
        rest = path.removeprefix(base)
        if rest in ("query/", "query"):
            name, result = "query", self._page(0)
        elif rest.startswith("query/01g"):
            name, result = "query_more", self._page(int(rest.rsplit("-", 1)[1]))
        elif rest == "limits/":
            name, result = "limits", {"DailyApiRequests": {"Max": 15000, "Remaining": 14990}}
        elif rest == "composite/sobjects":
            body = json.loads(request.body or b"{}")
            name = "collections"
            result = [
                {"id": f"005N{i:014d}", "success": True, "errors": []} for i, _ in enumerate(body["records"])
            ]
        elif rest.startswith("sobjects/User/") and request.method == "PATCH":
            self.calls["sobject"] += 1
            self._after("sobject")
            return _response(request, 204, None)
        else:
            return _response(request, 404, [{"errorCode": "NOT_FOUND", "message": path}])
        self.calls[name] += 1
        response = _response(request, 200, result)
        self._after(name)
        return response

    def _after(self, name: str) -> None:
        if self.expire_after == name:
            self.expire_after = None
            self.expire_access_tokens()

    def _page(self, start: int) -> dict[str, Any]:
        records = self.rows[start : start + PAGE]
        done = start + PAGE >= len(self.rows)
        page: dict[str, Any] = {"totalSize": len(self.rows), "done": done, "records": records}
        if not done:
            page["nextRecordsUrl"] = f"/services/data/v62.0/query/01gFAKE-{start + PAGE}"
        return page

    def _token(self, request: requests.PreparedRequest) -> requests.Response:
        if self.token_failures:
            return _response(request, self.token_failures.pop(0), {"error": "unavailable"})
        form = {k: v[0] for k, v in parse_qs(request.body if isinstance(request.body, str) else "").items()}
        grant = form.get("grant_type")
        if form.get("client_id") != CLIENT_ID:
            return _response(
                request, 400, {"error": "invalid_client_id", "error_description": "client identifier invalid"}
            )
        payload: dict[str, Any] = {}
        if grant == "refresh_token":
            if form.get("client_secret") != CLIENT_SECRET:
                return _response(
                    request,
                    400,
                    {"error": "invalid_client", "error_description": "invalid client credentials"},
                )
            if form.get("refresh_token") not in self.refresh_tokens:
                return _response(
                    request,
                    400,
                    {"error": "invalid_grant", "error_description": "expired access/refresh token"},
                )
            if self.rotate:
                self.refresh_tokens.discard(form["refresh_token"])
                payload["refresh_token"] = "canary-rotated-" + secrets.token_hex(8)
                self.refresh_tokens.add(payload["refresh_token"])
        elif grant == "urn:ietf:params:oauth:grant-type:jwt-bearer":
            self.last_jwt_claims = jwt.decode(
                form["assertion"], self.jwt_public_key, algorithms=["RS256"], audience=LOGIN_URL
            )
        elif grant == "client_credentials":
            if form.get("client_secret") != CLIENT_SECRET:
                return _response(
                    request,
                    400,
                    {"error": "invalid_client", "error_description": "invalid client credentials"},
                )
        else:
            return _response(request, 400, {"error": "unsupported_grant_type"})
        access = "canary-access-" + secrets.token_hex(8)
        self.access_tokens.add(access)
        self.issued.append(access)
        identity = f"{LOGIN_URL}/id/00D000000000001/005000000000001"
        issued_at = "1700000000000"
        signature = compute_signature(CLIENT_SECRET, identity, issued_at)
        if self.tamper_signature:
            signature = compute_signature("not-the-secret", identity, issued_at)
        if self.omit_signature:
            signature = None
        payload.update(
            access_token=access,
            instance_url=self.instance_url,
            id=identity,
            issued_at=issued_at,
            signature=signature,
            scope="api refresh_token",
            token_type="Bearer",
        )
        return _response(request, 200, {k: v for k, v in payload.items() if v is not None})


def _response(request: requests.PreparedRequest, status: int, body: Any) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = b"" if body is None else json.dumps(body).encode()
    response.headers = CaseInsensitiveDict({"Content-Type": "application/json;charset=UTF-8"})
    response.encoding = "utf-8"
    response.url = request.url or ""
    response.request = request
    return response


def _error(request: requests.PreparedRequest, error: str, description: str) -> requests.Response:
    return _response(request, 400, {"error": error, "error_description": description})


def connection(**extra: Any) -> dict[str, Any]:
    """The connection JSON pointed at the fake."""
    return {
        "conn_type": "salesforce_oauth",
        "host": LOGIN_URL,
        "login": CLIENT_ID,
        "password": CLIENT_SECRET,
        "extra": {
            "refresh_token": REFRESH_TOKEN,
            "api_version": "62.0",
            "instance_domains": "fake.test",  # the fake's instance is not a Salesforce domain
            **extra,
        },
    }


# -- fixtures ------------------------------------------------------------------------------------
@pytest.fixture(autouse=True)
def _fresh_token_cache():
    salesforce_module.clear_token_cache()
    yield
    salesforce_module.clear_token_cache()


@pytest.fixture
def fake() -> FakeSalesforce:
    return FakeSalesforce()


@pytest.fixture
def set_conn(monkeypatch: pytest.MonkeyPatch):
    def set_(conn: dict[str, Any] | None = None, conn_id: str = "salesforce_oauth_default") -> None:
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(conn or connection()))

    return set_


def make_hook(fake: FakeSalesforce, store: Any = None, **kwargs: Any) -> SalesforceOAuthHook:
    hook = SalesforceOAuthHook(token_store=store if store is not None else MemoryTokenStore(), **kwargs)
    hook.rotation_settle_seconds = 0.2
    hook.http_session.mount("https://", fake)
    hook.token_endpoint.session.mount("https://", fake)
    return hook


# -- flows ---------------------------------------------------------------------------------------
def test_constructor_does_no_io(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("AIRFLOW_CONN_SALESFORCE_OAUTH_DEFAULT", raising=False)
    hook = SalesforceOAuthHook(salesforce_conn_id="missing")
    assert hook.salesforce_conn_id == "missing"
    assert SalesforceOAuthHook.default_conn_name == "salesforce_oauth_default"
    assert SalesforceOAuthHook.conn_type == "salesforce_oauth"


def test_refresh_token_flow_binds_client_to_instance_and_version(fake, set_conn):
    set_conn()
    sf = make_hook(fake).get_conn()
    assert sf.base_url == "https://acme.my.fake.test/services/data/v62.0/"
    assert sf.query("SELECT Id FROM User")["totalSize"] == 4500
    assert fake.calls["token"] == 1


def test_query_results_are_plain_dicts(fake, set_conn):
    """simple-salesforce decodes into OrderedDicts through a Python hook per object by default:
    2.5 times the decoding CPU of plain dicts for the 100k users the plan reads."""
    set_conn()
    result = make_hook(fake).get_conn().query("SELECT Id FROM User")
    assert type(result) is dict
    assert all(type(record) is dict for record in result["records"])


def test_api_version_defaults_to_a_current_one(fake, set_conn):
    conn = connection()
    del conn["extra"]["api_version"]
    set_conn(conn)
    assert make_hook(fake).get_conn().sf_version == "62.0"


def test_access_token_is_cached_per_process(fake, set_conn):
    set_conn()
    make_hook(fake).get_conn().limits()
    make_hook(fake).get_conn().limits()
    assert fake.calls["token"] == 1


def test_jwt_bearer_flow(set_conn):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    fake = FakeSalesforce(jwt_public_key=key.public_key())
    set_conn(
        connection(
            auth_flow="jwt_bearer", username="integration@acme.test", private_key=pem, refresh_token=None
        )
    )
    make_hook(fake).get_conn().limits()
    claims = fake.last_jwt_claims
    assert claims is not None
    salesforce_module.clear_token_cache()
    one_line = pem.replace("\n", "\\n")  # as pasted into a one-line form field
    jwt_extra = {"auth_flow": "jwt_bearer", "username": "integration@acme.test", "refresh_token": None}
    set_conn(connection(**jwt_extra, private_key=one_line))
    make_hook(fake).get_conn().limits()
    assert claims is not None
    assert claims["iss"] == CLIENT_ID
    assert claims["sub"] == "integration@acme.test"
    assert claims["aud"] == LOGIN_URL
    assert 0 < claims["exp"] - time.time() <= 180


def test_client_credentials_flow(fake, set_conn):
    set_conn(connection(auth_flow="client_credentials", refresh_token=None))
    assert make_hook(fake).get_conn().limits()["DailyApiRequests"]["Max"] == 15000


@pytest.mark.parametrize(
    ("host", "audience"),
    [
        ("https://login.salesforce.com", "https://login.salesforce.com"),
        ("https://test.salesforce.com", "https://test.salesforce.com"),
        ("https://acme.my.salesforce.com", "https://login.salesforce.com"),
        ("https://acme--uat.sandbox.my.salesforce.com", "https://test.salesforce.com"),
        ("https://127.0.0.1:8443/", "https://127.0.0.1:8443"),
    ],
)
def test_jwt_audience(host, audience):
    assert jwt_audience(host) == audience


def test_signature_tamper_is_caught(fake, set_conn):
    set_conn()
    fake.tamper_signature = True
    with pytest.raises(SignatureMismatchError, match="signature check") as err:
        make_hook(fake).get_conn()
    assert "canary" not in str(err.value)


def test_invalid_connection_is_explained(set_conn):
    set_conn(connection(auth_flow="magic"))
    with pytest.raises(ValueError, match="auth_flow 'magic'"):
        SalesforceOAuthHook().get_conn()


# -- expiry --------------------------------------------------------------------------------------
def test_expiry_between_query_all_pages_loses_no_rows(fake, set_conn):
    set_conn()
    fake.expire_after = "query"  # the token dies right after page 1
    records = make_hook(fake).get_conn().query_all("SELECT Id, Username FROM User")["records"]
    assert [r["Id"] for r in records] == [r["Id"] for r in fake.rows]
    assert fake.calls["401"] == 1
    assert fake.calls["token"] == 2


def test_expiry_during_query_all_iter(fake, set_conn):
    set_conn()
    fake.expire_after = "query_more"
    ids = [r["Id"] for r in make_hook(fake).get_conn().query_all_iter("SELECT Id FROM User")]
    assert len(ids) == len(set(ids)) == 4500


def test_expiry_on_restful_and_sobject_calls(fake, set_conn):
    set_conn()
    sf = make_hook(fake).get_conn()
    fake.expire_access_tokens()
    result = sf.restful("composite/sobjects", method="POST", json={"allOrNone": False, "records": [{}, {}]})
    assert [r["success"] for r in result] == [True, True]
    fake.expire_access_tokens()
    assert sf.User.update("005000000000000001", {"IsActive": False}) == 204
    assert fake.calls["401"] == 2
    assert sf.session_id == fake.issued[-1]


def test_renewal_does_not_loop_when_the_new_token_is_refused_too(fake, set_conn):
    from simple_salesforce.exceptions import SalesforceExpiredSession

    set_conn()
    sf = make_hook(fake).get_conn()
    fake.expire_access_tokens()
    fake.expire_after = "never"
    original = fake._token

    def token_then_expire(request):
        response = original(request)
        fake.expire_access_tokens()
        return response

    fake._token = token_then_expire
    with pytest.raises(SalesforceExpiredSession):
        sf.limits()
    assert fake.calls["token"] == 2


# -- rotation ------------------------------------------------------------------------------------
def test_rotated_refresh_token_is_persisted_and_used_next(tmp_path, set_conn):
    fake = FakeSalesforce(rotate=True)
    set_conn()
    store = FileTokenStore(tmp_path)
    for _run in range(3):
        salesforce_module.clear_token_cache()  # a new task process
        make_hook(fake, store).get_conn().limits()
    stored = store.get("salesforce_oauth_default")
    assert stored is not None
    assert stored.refresh_token in fake.refresh_tokens
    assert stored.origin == fingerprint(REFRESH_TOKEN)
    assert (tmp_path / next(tmp_path.iterdir()).name).stat().st_mode & 0o077 == 0


def test_reauthorized_connection_wins_over_stale_stored_token(fake, set_conn):
    store = MemoryTokenStore()
    store.set(
        "salesforce_oauth_default", StoredToken(refresh_token="canary-stale", origin=fingerprint("older"))
    )
    set_conn()
    make_hook(fake, store).get_conn().limits()


def test_token_rotated_underneath_is_picked_up(set_conn):
    """Another host spent the token and saved its successor: retry with the successor."""
    fake = FakeSalesforce(rotate=True)
    store = MemoryTokenStore()
    set_conn()
    fake.refresh_tokens = {"canary-successor"}
    original_get = store.get
    reads = []

    def get(conn_id):
        reads.append(conn_id)
        if len(reads) > 1:  # the other host's save lands after our first read
            store.tokens[conn_id] = StoredToken("canary-successor", fingerprint(REFRESH_TOKEN))
        return original_get(conn_id)

    store.get = get
    make_hook(fake, store).get_conn().limits()
    assert store.tokens["salesforce_oauth_default"].refresh_token in fake.refresh_tokens


def test_invalid_grant_on_unchanged_token_asks_to_reauthorize(fake, set_conn):
    set_conn()
    fake.refresh_tokens.clear()
    with pytest.raises(ReauthorizationRequired) as err:
        make_hook(fake).get_conn()
    message = str(err.value)
    assert "salesforce_oauth_default" in message
    assert "okta-salesforce authorize" in message
    assert REFRESH_TOKEN not in message
    assert CLIENT_SECRET not in message


def test_transient_token_endpoint_failures_are_retried(fake, set_conn, monkeypatch):
    monkeypatch.setattr("tenacity.nap.time.sleep", lambda _s: None)
    set_conn()
    fake.token_failures = [503, 429]
    make_hook(fake).get_conn().limits()
    assert fake.calls["token"] == 3


def test_token_endpoint_down_is_a_readable_error(fake, set_conn, monkeypatch):
    monkeypatch.setattr("tenacity.nap.time.sleep", lambda _s: None)
    set_conn()
    fake.token_failures = [503] * 4
    with pytest.raises(SalesforceOAuthError, match="kept failing"):
        make_hook(fake).get_conn()


# -- secrets -------------------------------------------------------------------------------------
def test_canary_secrets_stay_out_of_debug_logs_and_errors(fake, set_conn, caplog, capfd):
    import logging

    caplog.set_level(logging.DEBUG)
    for name in ("urllib3", "requests", "simple_salesforce", "okta_salesforce", "filelock", "airflow"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    fake = FakeSalesforce(rotate=True)
    set_conn()
    hook = make_hook(fake)
    sf = hook.get_conn()
    fake.expire_after = "query"
    sf.query_all("SELECT Id FROM User")
    assert hook.test_connection()[0]
    reprs = [repr(hook.settings), repr(hook.get_access_token())]
    fake.tamper_signature = True
    salesforce_module.clear_token_cache()
    errors = []
    for _ in range(2):
        try:
            make_hook(fake).get_conn()
        except Exception as err:
            errors.append(f"{err!r} {err}")
        fake.tamper_signature = False
        fake.refresh_tokens.clear()
    out, err = capfd.readouterr()
    text = "\n".join([caplog.text, out, err, *errors, *reprs])
    assert len(errors) == 2
    assert "canary" not in text, [line for line in text.splitlines() if "canary" in line][:3]


def test_secrets_are_registered_with_the_masker(fake, set_conn):
    from airflow.sdk._shared.secrets_masker import redact

    set_conn()
    hook = make_hook(fake)
    hook.get_conn()
    rendered = str(redact(f"{CLIENT_SECRET} {REFRESH_TOKEN} {hook.get_access_token().access_token}"))
    assert "canary" not in rendered


# -- UI ------------------------------------------------------------------------------------------
def test_test_connection_success(fake, set_conn):
    set_conn()
    ok, message = make_hook(fake).test_connection()
    assert ok
    assert "acme.my.fake.test" in message
    assert "14990 of 15000" in message


def test_test_connection_failure_is_readable(fake, set_conn):
    set_conn(connection(refresh_token="canary-revoked"))
    ok, message = make_hook(fake).test_connection()
    assert not ok
    assert "Re-authorize" in message
    assert "canary" not in message


def test_hook_agrees_with_provider_info_and_has_no_legacy_form_methods():
    from okta_salesforce.get_provider_info import get_provider_info

    conn_type = next(
        c for c in get_provider_info()["connection-types"] if c["connection-type"] == "salesforce_oauth"
    )
    assert conn_type["hook-class-name"] == "okta_salesforce.hooks.salesforce.SalesforceOAuthHook"
    # The form lives in conn-fields / ui-field-behaviour only (the FAB-era methods were dead code).
    assert "get_connection_form_widgets" not in vars(SalesforceOAuthHook)
    assert "get_ui_field_behaviour" not in vars(SalesforceOAuthHook)


# -- token stores --------------------------------------------------------------------------------
class _FakeSupervisor:
    """Stands in for the Task SDK supervisor: answers variable messages as the API server would."""

    def __init__(self) -> None:
        self.variables: dict[str, str] = {}
        self.messages: list[str] = []

    def send(self, msg: Any) -> Any:
        from airflow.sdk.exceptions import ErrorType
        from airflow.sdk.execution_time.comms import ErrorResponse, OKResponse, VariableResult

        self.messages.append(type(msg).__name__)
        if type(msg).__name__ == "GetVariable":
            if msg.key in self.variables:
                return VariableResult(key=msg.key, value=self.variables[msg.key])
            return ErrorResponse(error=ErrorType.VARIABLE_NOT_FOUND, detail={"key": msg.key})
        if type(msg).__name__ == "PutVariable":
            self.variables[msg.key] = msg.value
        return OKResponse(ok=True)


def test_variable_token_store_inside_a_task(monkeypatch, set_conn):
    """Inside a task the store goes through the Task SDK (PutVariable/GetVariable to the API server)."""
    from airflow.sdk.execution_time import task_runner

    from okta_salesforce.hooks.salesforce_token_store import VariableTokenStore

    supervisor = _FakeSupervisor()
    monkeypatch.setattr(task_runner, "SUPERVISOR_COMMS", supervisor, raising=False)
    store = VariableTokenStore()
    assert store.get("salesforce_oauth_default") is None
    fake = FakeSalesforce(rotate=True)
    set_conn()
    for _run in range(2):
        salesforce_module.clear_token_cache()
        make_hook(fake, store).get_conn().limits()
    key = "okta_salesforce__salesforce_oauth_default__refresh_token"
    stored = StoredToken.from_json(supervisor.variables[key])
    assert stored is not None
    assert stored.refresh_token in fake.refresh_tokens
    assert store.get("salesforce_oauth_default") == stored
    assert "PutVariable" in supervisor.messages
    assert "MaskSecret" in supervisor.messages  # secrets are masked in the supervisor's logs too


def test_default_token_store_from_environment(monkeypatch, tmp_path):
    from okta_salesforce.hooks.salesforce_token_store import VariableTokenStore, default_token_store

    monkeypatch.delenv("OKTA_SALESFORCE_TOKEN_STORE", raising=False)
    assert isinstance(default_token_store(), VariableTokenStore)
    monkeypatch.setenv("OKTA_SALESFORCE_TOKEN_STORE", f"file:{tmp_path}")
    store = default_token_store()
    assert isinstance(store, FileTokenStore)
    assert store.directory == tmp_path
    monkeypatch.setenv("OKTA_SALESFORCE_TOKEN_STORE", "vault")
    with pytest.raises(ValueError, match="OKTA_SALESFORCE_TOKEN_STORE"):
        default_token_store()


def test_failed_save_of_a_rotated_token_is_loud(set_conn):
    class BrokenStore(MemoryTokenStore):
        def set(self, conn_id: str, token: StoredToken) -> None:
            raise PermissionError(f"cannot write {token.refresh_token}")

    set_conn()
    with pytest.raises(SalesforceOAuthError, match="saving it to BrokenStore failed") as err:
        make_hook(FakeSalesforce(rotate=True), BrokenStore()).get_conn()
    assert "canary" not in str(err.value)


_DB_STORE_SCRIPT = """
from airflow import settings
from airflow.models.team import Team
from airflow.models.variable import Variable

from okta_salesforce.hooks.salesforce_token_store import StoredToken, VariableTokenStore

Variable.metadata.create_all(settings.engine, tables=[Team.__table__, Variable.__table__])
store = VariableTokenStore()
assert store.get("sf_db") is None
token = StoredToken(refresh_token="canary-db-token", origin="abc")
store.set("sf_db", token)
assert store.get("sf_db") == token
assert Variable.get("okta_salesforce__sf_db__refresh_token") == token.to_json()
print("OK")
"""


def test_variable_token_store_outside_a_task_uses_the_metadata_database(tmp_path):
    """The UI's Test button and the CLI run outside a task: the store reads and writes the DB.

    Runs in its own process and AIRFLOW_HOME so that the partial schema it creates stays private.
    """
    import os
    import subprocess
    import sys

    env = {**os.environ, "AIRFLOW_HOME": str(tmp_path)}
    env.pop("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", None)
    done = subprocess.run(
        [sys.executable, "-c", _DB_STORE_SCRIPT], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().endswith("OK")
