"""A strict local emulator of the Salesforce REST API and OAuth 2.0 endpoints.

:class:`SalesforceApp` serves, on the sandbox HTTPS server:

* OAuth: ``/services/oauth2/token`` (refresh_token, authorization_code + PKCE,
  JWT bearer, client_credentials), ``/authorize`` (login + Allow pages),
  ``/revoke``, ``/userinfo``;
* REST: ``/services/data/`` (versions), ``/vXX.X/`` (resources), ``/limits``,
  SOQL ``/query`` and ``/queryAll`` with cursors, sObject rows for User,
  UserLogin and PermissionSetAssignment, ``/sobjects/{type}/describe``,
  sObject Collections ``/composite/sobjects`` (POST create, PATCH update);
* an admin API under ``/__sandbox/salesforce/`` (see docs/sandbox-salesforce.md).

Wire formats, error codes and limits follow Salesforce's documentation:
``Sforce-Limit-Info`` on every data response, 401 ``INVALID_SESSION_ID``,
403 ``REQUEST_LIMIT_EXCEEDED``, 414/431 for oversized requests, SOQL pages of
up to 2000 records through ``nextRecordsUrl``.
"""

from __future__ import annotations

import json
import secrets
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote, urlencode

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from okta_salesforce_testbed.sandbox import soql
from okta_salesforce_testbed.sandbox.salesforce_deletes import DeleteRequestError, delete_records
from okta_salesforce_testbed.sandbox.salesforce_oauth import SalesforceOAuth, remote_access_error_page
from okta_salesforce_testbed.sandbox.salesforce_org import (
    ROLLED_BACK_MESSAGE,
    Org,
    QueryResult,
    RecordError,
    format_datetime,
)
from okta_salesforce_testbed.sandbox.salesforce_schema import (
    API_VERSIONS,
    PREFIXES,
    SCHEMA,
    describe_field,
    normalize_id,
)
from okta_salesforce_testbed.sandbox.salesforce_seed import SeedOptions, seed_org
from okta_salesforce_testbed.sandbox.server import App, Fault, Request, Response, Route

if TYPE_CHECKING:
    from okta_salesforce_testbed.sandbox.seed import Seed

MAX_URI_BYTES = 16_384
MAX_BATCH_SIZE = 2000
MIN_BATCH_SIZE = 200
MAX_COLLECTION_RECORDS = 200
MAX_CURSORS_PER_USER = 10
DEFAULT_DAILY_API_LIMIT = 5_000_000
ADMIN = "/__sandbox/salesforce"
_DATA = "/services/data/v{version}"
_PUBLIC_ROUTES = {"data.versions"}
_WRITE_ROUTES = {
    "data.sobject.create",
    "data.sobject.update",
    "data.sobject.delete",
    "data.composite.create",
    "data.composite.update",
    "data.composite.delete",
}


def _errors(status: int, error_code: str, message: str, fields: list[str] | None = None) -> Response:
    item: dict[str, Any] = {"message": message, "errorCode": error_code}
    if fields is not None:
        item["fields"] = fields
    return Response(status, [item])


def _not_found() -> Response:
    return _errors(404, "NOT_FOUND", "The requested resource does not exist")


@lru_cache(maxsize=1)
def _default_jwt_key() -> rsa.RSAPrivateKey:
    """One RSA key per process: generating keys is the slowest part of starting a sandbox."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@dataclass
class _Cursor:
    user_id: str
    result: QueryResult
    batch_size: int


def release_label(version: str) -> str:
    """The release name of an API version, e.g. ``62.0`` -> ``Winter '25``."""
    major = int(float(version))
    season = ("Winter", "Spring", "Summer")[(major - 62) % 3]
    return f"{season} '{25 + (major - 62) // 3:02d}"


class SalesforceApp(App):
    """The Salesforce sandbox: one org, one connected app, its tokens and knobs.

    :param org: the org's records (see :func:`from_seed`).
    :param seed: the shared company seed (credentials come from it).
    :param jwt_private_key: the key whose certificate is registered on the connected app.
    :param rotate_refresh_tokens: Refresh Token Rotation on the connected app.
    :param access_token_ttl_calls: an access token expires after this many API calls (None = never).
    :param daily_api_limit: the org's daily API request allocation.
    """

    name = "salesforce"

    def __init__(
        self,
        org: Org,
        seed: Seed,
        *,
        unmanaged: dict[str, str],
        jwt_private_key: rsa.RSAPrivateKey | None = None,
        rotate_refresh_tokens: bool = False,
        access_token_ttl_calls: int | None = None,
        daily_api_limit: int = DEFAULT_DAILY_API_LIMIT,
    ) -> None:
        super().__init__()
        self.org = org
        self.seed = seed
        self.base_url = "https://127.0.0.1"
        self.unmanaged = unmanaged
        self._jwt_key = jwt_private_key or _default_jwt_key()
        self.jwt_private_key_pem = self._jwt_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()
        self.access_token_ttl_calls = access_token_ttl_calls
        self.daily_api_limit = daily_api_limit
        self.api_usage = 0
        self.write_requests = 0
        self.cursors: OrderedDict[str, _Cursor] = OrderedDict()
        creds = seed.credentials
        self.oauth = SalesforceOAuth(
            org,
            client_id=creds.salesforce_client_id,
            client_secret=creds.salesforce_client_secret,
            callback_urls=[creds.salesforce_callback_url],
            certificate_key=self._jwt_key.public_key(),
            passwords={creds.salesforce_admin_username: creds.salesforce_admin_password},
            run_as_user_id=unmanaged["integration"],
            preauthorized_profiles=("System Administrator", "Salesforce API Only System Integrations"),
            base_url=lambda: self.base_url,
        )
        self.oauth.add_refresh_token(creds.salesforce_refresh_token, unmanaged["integration"])
        self.rotate_refresh_tokens = rotate_refresh_tokens
        self._register_routes()

    @classmethod
    def from_seed(
        cls,
        seed: Seed,
        *,
        directory: Path,
        license_factor: float = 1.5,
        license_headroom: int = 50,
        licenses: dict[str, int] | None = None,
        **options: Any,
    ) -> SalesforceApp:
        """An org seeded from the shared company; writes the JWT private key to ``directory``.

        ``options`` are the keyword arguments of :class:`SalesforceApp` (rotation, TTL, API limit).
        """
        org = Org()
        unmanaged = seed_org(org, seed, SeedOptions(license_factor, license_headroom, licenses))
        app = cls(org, seed, unmanaged=unmanaged, **options)
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        key_path = directory / "salesforce-jwt-private-key.pem"
        key_path.write_text(app.jwt_private_key_pem)
        key_path.chmod(0o600)
        return app

    # Knobs (Python admin API) ------------------------------------------------------------
    @property
    def rotate_refresh_tokens(self) -> bool:
        return self.oauth.rotate_refresh_tokens

    @rotate_refresh_tokens.setter
    def rotate_refresh_tokens(self, value: bool) -> None:
        self.oauth.rotate_refresh_tokens = value

    def expire_access_tokens(self) -> None:
        """Every access token issued so far now gets 401 INVALID_SESSION_ID."""
        with self.lock:
            self.oauth.expire_access_tokens()

    def fail_record(self, username: str, status_code: str, message: str, fields: list[str]) -> None:
        """Make every write touching ``username`` fail with this per-record error."""
        with self.lock:
            self.org.failures[username.lower()] = RecordError(status_code, message, fields)

    def clear_failures(self) -> None:
        with self.lock:
            self.org.failures.clear()

    def register_callback(self, url: str) -> None:
        """Allow another ``redirect_uri`` on the connected app."""
        with self.lock:
            if url not in self.oauth.callback_urls:
                self.oauth.callback_urls.append(url)

    def users(self) -> list[dict[str, Any]]:
        """All User records (admin view: every field, plus IsFrozen from UserLogin)."""
        with self.lock:
            return [self._admin_user(u) for u in self.org.table("User").values()]

    def user(self, username: str) -> dict[str, Any] | None:
        with self.lock:
            record = self.org.user_by_username(username)
            return self._admin_user(record) if record else None

    def set_user(self, username: str, **fields: Any) -> None:
        """Change a user without validation (``IsFrozen`` / ``IsPasswordLocked`` go to UserLogin)."""
        with self.lock:
            record = self.org.user_by_username(username)
            if record is None:
                raise KeyError(username)
            login_fields: dict[str, Any] = {
                k: fields.pop(k) for k in ("IsFrozen", "IsPasswordLocked") if k in fields
            }
            unknown = [k for k in fields if SCHEMA["user"].field(k) is None]
            if unknown:
                raise ValueError(f"unknown User fields: {unknown}")
            if fields:
                canonical = {SCHEMA["user"].fields[k.lower()].name: v for k, v in fields.items()}
                self.org.update_raw(record, canonical)
            if login_fields:
                login = self.org.table("UserLogin")[self.org.login_by_user[record["Id"]]]
                self.org.update_raw(login, login_fields)

    def _admin_user(self, record: dict[str, Any]) -> dict[str, Any]:
        login = self.org.table("UserLogin").get(self.org.login_by_user.get(record["Id"], ""), {})
        out = {k: format_datetime(v) if hasattr(v, "tzinfo") else v for k, v in record.items()}
        out["IsFrozen"] = bool(login.get("IsFrozen"))
        return out

    # Routing ------------------------------------------------------------------------------
    def _add(self, method: str, pattern: str, name: str, handler: Callable[[Request], Response]) -> None:
        def locked(request: Request) -> Response:
            with self.lock:
                return handler(request)

        self.route(method, pattern, name)(locked)
        if pattern != "/" and not pattern.endswith("/"):
            self.route(method, pattern + "/", name)(locked)  # simple-salesforce adds trailing slashes

    def _register_routes(self) -> None:
        oauth = self.oauth
        add = self._add
        add("POST", "/services/oauth2/token", "oauth.token", oauth.token)
        add("POST", "/services/oauth2/revoke", "oauth.revoke", oauth.revoke)
        add("GET", "/services/oauth2/revoke", "oauth.revoke", oauth.revoke)
        add("GET", "/services/oauth2/userinfo", "oauth.userinfo", oauth.userinfo)
        add("GET", "/services/oauth2/authorize", "oauth.authorize", oauth.authorize)
        add("POST", "/services/oauth2/authorize", "oauth.authorize", oauth.authorize)
        add("GET", "/setup/secur/RemoteAccessErrorPage.apexp", "oauth.error_page", remote_access_error_page)
        add("GET", "/", "login.page", oauth.login_page)
        add("POST", "/", "login.submit", oauth.login)
        add("GET", "/id/{org_id}/{user_id}", "oauth.identity", self._identity)
        add("GET", "/services/data", "data.versions", self._versions)
        add("GET", _DATA, "data.resources", self._resources)
        add("GET", _DATA + "/limits", "data.limits", self._limits)
        add("GET", _DATA + "/query", "data.query", self._query)
        add("GET", _DATA + "/queryAll", "data.query", self._query)
        add("GET", _DATA + "/query/{locator}", "data.query_more", self._query_more)
        add("GET", _DATA + "/queryAll/{locator}", "data.query_more", self._query_more)
        add("GET", _DATA + "/sobjects", "data.describe_global", self._describe_global)
        add("GET", _DATA + "/sobjects/{sobject}/describe", "data.describe", self._describe)
        add("POST", _DATA + "/sobjects/{sobject}", "data.sobject.create", self._create)
        add("GET", _DATA + "/sobjects/{sobject}/{record_id}", "data.sobject.get", self._get)
        add("PATCH", _DATA + "/sobjects/{sobject}/{record_id}", "data.sobject.update", self._update)
        add("DELETE", _DATA + "/sobjects/{sobject}/{record_id}", "data.sobject.delete", self._delete)
        add("POST", _DATA + "/composite/sobjects", "data.composite.create", self._composite)
        add("PATCH", _DATA + "/composite/sobjects", "data.composite.update", self._composite)
        add("DELETE", _DATA + "/composite/sobjects", "data.composite.delete", self._composite_delete)
        add("GET", ADMIN + "/users", "admin.users", self._admin_users)
        add("GET", ADMIN + "/users/{username}", "admin.user", self._admin_get_user)
        add("PATCH", ADMIN + "/users/{username}", "admin.user", self._admin_set_user)
        add("POST", ADMIN + "/expire-tokens", "admin.expire_tokens", self._admin_expire)
        add("POST", ADMIN + "/fail-record", "admin.fail_record", self._admin_fail_record)
        add("DELETE", ADMIN + "/fail-record", "admin.fail_record", self._admin_clear_failures)
        add("POST", ADMIN + "/callbacks", "admin.callbacks", self._admin_callback)
        add("GET", ADMIN + "/stats", "admin.stats", self._admin_stats)
        add("PATCH", ADMIN + "/settings", "admin.settings", self._admin_settings)

    # Vendor shapes ----------------------------------------------------------------------
    def not_found(self, request: Request) -> Response:
        return _not_found()

    def method_not_allowed(self, request: Request) -> Response:
        methods = {r.method for r in self.routes if r.regex.match(request.path)} | {"HEAD"}
        allowed = sorted(methods - {request.method})
        return _errors(
            405,
            "METHOD_NOT_ALLOWED",
            f"HTTP Method '{request.method}' not allowed. Allowed are {','.join(allowed)}",
        )

    def fault_response(self, fault: Fault, request: Request) -> Response:
        oauth = request.path.startswith("/services/oauth2")
        if fault.kind == "expire":
            self.expire_access_tokens()
            return _errors(401, "INVALID_SESSION_ID", "Session expired or invalid")
        if fault.kind == "rate_limit":
            if oauth:
                return Response(
                    400, {"error": "rate_limit_exceeded", "error_description": "rate limit exceeded"}
                )
            return _errors(403, "REQUEST_LIMIT_EXCEEDED", "ConcurrentPerOrgLongTxn Limit exceeded.")
        if oauth:
            return Response(
                fault.status, {"error": "unknown_error", "error_description": "retry your request"}
            )
        if fault.status == 503:
            return _errors(503, "SERVER_UNAVAILABLE", "Server temporarily unavailable.")
        error_id = f"{secrets.randbelow(10**9)}-{secrets.randbelow(10**6)} ({-secrets.randbelow(10**9)})"
        return _errors(
            fault.status,
            "UNKNOWN_EXCEPTION",
            f"An unexpected error occurred. Please include this ErrorId if you contact support: {error_id}",
        )

    def before(self, request: Request, route: Route) -> Response | None:
        # The URI as sent (a client's ``+`` for a space is one byte); rebuilt when not known.
        uri_bytes = len(request.target.encode()) or (
            len(request.path.encode()) + len(urlencode(request.query, doseq=True, quote_via=quote)) + 1
        )
        if uri_bytes > MAX_URI_BYTES:
            return Response(414, "URI Too Long", content_type="text/plain;charset=UTF-8")
        header_bytes = sum(len(k) + len(v) + 4 for k, v in request.headers.items())
        if uri_bytes + header_bytes > MAX_URI_BYTES:
            return Response(431, "Request Header Fields Too Large", content_type="text/plain;charset=UTF-8")
        if not route.name.startswith("data.") or route.name in _PUBLIC_ROUTES:
            return None
        if request.params.get("version") not in API_VERSIONS:
            return _not_found()
        with self.lock:
            auth = request.header("Authorization") or ""
            token = auth[7:].strip() if auth[:7].lower() == "bearer " else ""
            session = self.oauth.session(token)
            if session is None:
                response = _errors(401, "INVALID_SESSION_ID", "Session expired or invalid")
                response.headers["WWW-Authenticate"] = "Token"
                return response
            session.calls += 1
            if self.access_token_ttl_calls is not None and session.calls > self.access_token_ttl_calls:
                self.oauth.sessions.pop(token, None)
                return _errors(401, "INVALID_SESSION_ID", "Session expired or invalid")
            if self.api_usage >= self.daily_api_limit:
                return _errors(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
            self.api_usage += 1
            request.params["_user_id"] = session.user_id
            if route.name in _WRITE_ROUTES:
                self.write_requests += 1
        return None

    def decorate(self, request: Request, response: Response, route: Route | None) -> None:
        if request.path.startswith("/services/data"):
            response.headers["Sforce-Limit-Info"] = f"api-usage={self.api_usage}/{self.daily_api_limit}"

    # Identity and discovery -----------------------------------------------------------------
    def _identity(self, request: Request) -> Response:
        auth = request.header("Authorization") or ""
        session = self.oauth.session(auth[7:]) if auth.startswith("Bearer ") else None
        user = self.org.get(request.params["user_id"])
        if session is None or user is None or session.user_id != user["Id"]:
            return Response(403, "Bad_OAuth_Token", content_type="text/plain;charset=UTF-8")
        urls = {
            k: f"{self.base_url}/services/data/v{{version}}/{v}"
            for k, v in {"rest": "", "sobjects": "sobjects/", "query": "query/"}.items()
        }
        return Response(
            200,
            {
                "id": f"{self.base_url}/id/{self.org.org_id}/{user['Id']}",
                "user_id": user["Id"],
                "organization_id": self.org.org_id,
                "username": user["Username"],
                "display_name": user["Name"],
                "email": user["Email"],
                "active": user["IsActive"],
                "user_type": "STANDARD",
                "urls": urls,
            },
        )

    def _versions(self, request: Request) -> Response:
        return Response(
            200,
            [{"label": release_label(v), "url": f"/services/data/v{v}", "version": v} for v in API_VERSIONS],
        )

    def _resources(self, request: Request) -> Response:
        base = f"/services/data/v{request.params['version']}"
        names = ("limits", "sobjects", "query", "queryAll", "composite", "search", "recent", "tooling")
        return Response(200, {name: f"{base}/{name}" for name in names})

    def _limits(self, request: Request) -> Response:
        remaining = max(0, self.daily_api_limit - self.api_usage)
        return Response(
            200,
            {
                "DailyApiRequests": {"Max": self.daily_api_limit, "Remaining": remaining},
                "DailyBulkApiBatches": {"Max": 15000, "Remaining": 15000},
                "DataStorageMB": {"Max": 5120, "Remaining": 5100},
            },
        )

    def _describe_global(self, request: Request) -> Response:
        version = request.params["version"]
        return Response(
            200,
            {
                "encoding": "UTF-8",
                "maxBatchSize": MAX_COLLECTION_RECORDS,
                "sobjects": [
                    {
                        "name": d.name,
                        "label": d.label,
                        "keyPrefix": d.key_prefix,
                        "createable": d.createable,
                        "updateable": d.updateable,
                        "deletable": d.deletable,
                        "queryable": True,
                        "urls": {"sobject": f"/services/data/v{version}/sobjects/{d.name}"},
                    }
                    for d in SCHEMA.values()
                ],
            },
        )

    def _describe(self, request: Request) -> Response:
        definition = SCHEMA.get(request.params["sobject"].lower())
        if definition is None:
            return _not_found()
        return Response(
            200,
            {
                "name": definition.name,
                "label": definition.label,
                "keyPrefix": definition.key_prefix,
                "createable": definition.createable,
                "updateable": definition.updateable,
                "deletable": definition.deletable,
                "queryable": True,
                "fields": [describe_field(f) for f in definition.fields.values()],
            },
        )

    # SOQL ---------------------------------------------------------------------------------
    def _query(self, request: Request) -> Response:
        text = request.arg("q")
        if text is None:
            return _errors(400, "MALFORMED_QUERY", "A query string has to be specified")
        try:
            result = self.org.query(text)
        except soql.SoqlError as error:
            return _errors(400, error.error_code, error.format(text))
        version = request.params["version"]
        if result.count_only:
            return Response(200, {"totalSize": result.total_size, "done": True, "records": []})
        batch_size = _batch_size(request.header("Sforce-Query-Options"))
        cursor = _Cursor(request.params["_user_id"], result, batch_size)
        return Response(200, self._page(cursor, None, 0, version, request.path))

    def _query_more(self, request: Request) -> Response:
        locator, _, offset_text = request.params["locator"].rpartition("-")
        cursor = self.cursors.get(locator)
        if cursor is None or not offset_text.isdigit() or cursor.user_id != request.params["_user_id"]:
            return _errors(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        offset = int(offset_text)
        if offset > cursor.result.total_size:
            return _errors(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        return Response(200, self._page(cursor, locator, offset, request.params["version"], request.path))

    def _page(
        self, cursor: _Cursor, locator: str | None, offset: int, version: str, path: str
    ) -> dict[str, Any]:
        result = cursor.result
        end = min(offset + cursor.batch_size, result.total_size)
        records = [result.render(r, version) for r in result.records[offset:end]]
        body: dict[str, Any] = {"totalSize": result.total_size, "done": end >= result.total_size}
        if end < result.total_size:
            if locator is None:
                locator = "01g" + secrets.token_hex(8)[:12] + "AAA"
                self._open_cursor(locator, cursor)
            endpoint = "queryAll" if "/queryAll" in path else "query"
            body["nextRecordsUrl"] = f"/services/data/v{version}/{endpoint}/{locator}-{end}"
        elif locator is not None:
            self.cursors.pop(locator, None)
        body["records"] = records
        return body

    def _open_cursor(self, locator: str, cursor: _Cursor) -> None:
        """Keep the cursor; a user's eleventh open cursor closes their oldest, as in Salesforce."""
        self.cursors[locator] = cursor
        mine = [k for k, c in self.cursors.items() if c.user_id == cursor.user_id]
        for oldest in mine[: max(0, len(mine) - MAX_CURSORS_PER_USER)]:
            del self.cursors[oldest]

    # sObject rows -----------------------------------------------------------------------------
    def _json_body(self, request: Request) -> Any:
        try:
            return request.json()
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            detail = exc.msg if isinstance(exc, json.JSONDecodeError) else "the body is not UTF-8"
            raise _BodyError(_errors(400, "JSON_PARSER_ERROR", f"Unexpected character: {detail}")) from exc

    def _create(self, request: Request) -> Response:
        self.org.running_user_id = request.params["_user_id"]
        definition = SCHEMA.get(request.params["sobject"].lower())
        if definition is None:
            return _not_found()
        try:
            body = self._json_body(request)
        except _BodyError as error:
            return error.response
        if not isinstance(body, dict):
            return _errors(
                400, "JSON_PARSER_ERROR", "Cannot deserialize instance of sObject from a non-object value"
            )
        if "Id" in body or "id" in body:
            return _errors(400, "INVALID_FIELD", "cannot specify Id in an insert call", ["Id"])
        try:
            with self.org.transaction() as rollback:
                try:
                    record_id = self.org.create(definition.name, body)
                except RecordError:
                    rollback()
                    raise
        except RecordError as error:
            return Response(400, [error.as_api_error()])
        return Response(201, {"id": record_id, "success": True, "errors": []})

    def _get(self, request: Request) -> Response:
        definition = SCHEMA.get(request.params["sobject"].lower())
        record_id = request.params["record_id"]
        if definition is None:
            return _not_found()
        full = normalize_id(record_id)
        if full is None or full[:3] != definition.key_prefix:
            return _errors(
                404,
                "NOT_FOUND",
                f"Provided external ID field does not exist or is not accessible: {record_id}",
            )
        record = self.org.table(definition.name).get(full)
        if record is None:
            return _not_found()
        wanted = request.arg("fields")
        names = (
            [f.strip() for f in wanted.split(",")] if wanted else [f.name for f in definition.fields.values()]
        )
        fields = []
        for name in names:
            f = definition.field(name)
            if f is None:
                return _errors(
                    400, "INVALID_FIELD", f"No such column '{name}' on entity '{definition.name}'."
                )
            fields.append(f)
        version = request.params["version"]
        out: dict[str, Any] = {
            "attributes": {
                "type": definition.name,
                "url": f"/services/data/v{version}/sobjects/{definition.name}/{full}",
            }
        }
        for f in fields:
            value = record.get(f.name)
            out[f.name] = format_datetime(value) if isinstance(value, datetime) else value
        return Response(200, out)

    def _update(self, request: Request) -> Response:
        self.org.running_user_id = request.params["_user_id"]
        definition = SCHEMA.get(request.params["sobject"].lower())
        if definition is None:
            return _not_found()
        if not definition.updateable:
            return self.method_not_allowed(request)
        try:
            body = self._json_body(request)
        except _BodyError as error:
            return error.response
        if not isinstance(body, dict):
            return _errors(
                400, "JSON_PARSER_ERROR", "Cannot deserialize instance of sObject from a non-object value"
            )
        record_id = request.params["record_id"]
        full = normalize_id(record_id)
        if full is None or full[:3] != definition.key_prefix:
            return _errors(
                404,
                "NOT_FOUND",
                f"Provided external ID field does not exist or is not accessible: {record_id}",
            )
        if full not in self.org.table(definition.name):
            return _not_found()
        try:
            with self.org.transaction() as rollback:
                try:
                    self.org.update(definition.name, full, body)
                except RecordError:
                    rollback()
                    raise
        except RecordError as error:
            return Response(400, [error.as_api_error()])
        return Response(204, None)

    def _delete(self, request: Request) -> Response:
        definition = SCHEMA.get(request.params["sobject"].lower())
        if definition is None:
            return _not_found()
        if not definition.deletable:  # Users are never deleted: deactivate or freeze them
            return self.method_not_allowed(request)
        full = normalize_id(request.params["record_id"])
        if full is None or full not in self.org.table(definition.name):
            return _not_found()
        try:
            self.org.delete(definition.name, full)
        except RecordError as error:
            return Response(400, [error.as_api_error()])
        return Response(204, None)

    def _composite_delete(self, request: Request) -> Response:
        self.org.running_user_id = request.params["_user_id"]
        try:
            return Response(200, delete_records(self.org, request.arg("ids"), request.arg("allOrNone")))
        except DeleteRequestError as error:
            return _errors(400, error.error_code, error.message)

    # sObject Collections -----------------------------------------------------------------------
    def _composite(self, request: Request) -> Response:
        self.org.running_user_id = request.params["_user_id"]
        creating = request.method == "POST"
        try:
            body = self._json_body(request)
        except _BodyError as error:
            return error.response
        if not isinstance(body, dict) or not isinstance(body.get("records"), list):
            return _errors(
                400, "JSON_PARSER_ERROR", "Cannot deserialize instance of SObjectCollection: records required"
            )
        records: list[Any] = body["records"]
        all_or_none = body.get("allOrNone", False)
        if not isinstance(all_or_none, bool):
            return _errors(
                400, "JSON_PARSER_ERROR", f"Cannot deserialize instance of boolean from value {all_or_none}"
            )
        if len(records) > MAX_COLLECTION_RECORDS:
            return _errors(
                400,
                "EXCEEDED_ID_LIMIT",
                f"record limit reached. cannot submit more than {MAX_COLLECTION_RECORDS} records into this "
                "call",
            )
        results: list[dict[str, Any]] = []
        failed = False
        with self.org.transaction() as rollback:
            for item in records:
                result = self._collection_item(item, creating)
                failed = failed or not result["success"]
                results.append(result)
            if failed and all_or_none:
                rollback()
        if failed and all_or_none:
            for result in results:
                if result["success"]:
                    result["success"] = False
                    if creating:
                        result.pop("id", None)
                    result["errors"] = [
                        RecordError("ALL_OR_NONE_OPERATION_ROLLED_BACK", ROLLED_BACK_MESSAGE).as_error()
                    ]
        return Response(200, results)

    def _collection_item(self, item: Any, creating: bool) -> dict[str, Any]:
        """One record of a collection call, in its own savepoint."""
        record_id = item.get("Id") or item.get("id") if isinstance(item, dict) else None
        with self.org.transaction() as savepoint:
            try:
                if not isinstance(item, dict):
                    raise RecordError("JSON_PARSER_ERROR", "Cannot deserialize instance of sObject")
                attributes = item.get("attributes") or {}
                sobject = attributes.get("type") if isinstance(attributes, dict) else None
                if creating:
                    if not sobject:
                        raise RecordError(
                            "INVALID_TYPE", "sObject type must be specified in the attributes map"
                        )
                    if record_id:
                        raise RecordError("INVALID_FIELD", "cannot specify Id in an insert call", ["Id"])
                    record_id = self.org.create(sobject, item)
                else:
                    if not record_id:
                        raise RecordError("MISSING_ARGUMENT", "Id not specified in an update call", ["Id"])
                    if sobject and sobject.lower() not in SCHEMA:
                        raise RecordError("INVALID_TYPE", f"sObject type '{sobject}' is not supported.")
                    sobject = sobject or (PREFIXES[record_id[:3]].name if record_id[:3] in PREFIXES else None)
                    record_id = self.org.update(sobject, record_id, item)
            except RecordError as error:
                savepoint()
                result: dict[str, Any] = {"success": False, "errors": [error.as_error()]}
                if not creating and record_id:
                    result = {"id": record_id, **result}
                return result
        return {"id": record_id, "success": True, "errors": []}

    # Admin HTTP API -------------------------------------------------------------------------------
    def _admin_users(self, request: Request) -> Response:
        username = request.arg("username")
        if username:
            user = self.user(username)
            return Response(200, [user] if user else [])
        return Response(200, self.users())

    def _admin_get_user(self, request: Request) -> Response:
        user = self.user(unquote(request.params["username"]))
        return Response(200, user) if user else Response(404, {"error": "no such user"})

    def _admin_set_user(self, request: Request) -> Response:
        username = unquote(request.params["username"])
        try:
            self.set_user(username, **(request.json() or {}))
        except KeyError:
            return Response(404, {"error": "no such user"})
        except (ValueError, TypeError) as error:
            return Response(400, {"error": str(error)})
        return Response(200, self.user(username))

    def _admin_expire(self, request: Request) -> Response:
        self.expire_access_tokens()
        return Response(204, None)

    def _admin_fail_record(self, request: Request) -> Response:
        body = request.json() or {}
        try:
            self.fail_record(
                body["username"], body["status_code"], body["message"], list(body.get("fields", []))
            )
        except (KeyError, TypeError):
            return Response(400, {"error": "username, status_code and message are required"})
        return Response(204, None)

    def _admin_clear_failures(self, request: Request) -> Response:
        self.clear_failures()
        return Response(204, None)

    def _admin_callback(self, request: Request) -> Response:
        url = (request.json() or {}).get("url")
        if not isinstance(url, str) or not url:
            return Response(400, {"error": "url is required"})
        self.register_callback(url)
        return Response(204, None)

    def _admin_stats(self, request: Request) -> Response:
        return Response(
            200,
            {
                "api_usage": self.api_usage,
                "daily_api_limit": self.daily_api_limit,
                "write_requests": self.write_requests,
                "users": len(self.org.table("User")),
                "open_cursors": len(self.cursors),
                "access_tokens": len(self.oauth.sessions),
            },
        )

    def _admin_settings(self, request: Request) -> Response:
        body = request.json() or {}
        if "rotate_refresh_tokens" in body:
            self.rotate_refresh_tokens = bool(body["rotate_refresh_tokens"])
        if "access_token_ttl_calls" in body:
            value = body["access_token_ttl_calls"]
            self.access_token_ttl_calls = None if value is None else int(value)
        if "daily_api_limit" in body:
            self.daily_api_limit = int(body["daily_api_limit"])
        if "api_usage" in body:
            self.api_usage = int(body["api_usage"])
        return Response(
            200,
            {
                "rotate_refresh_tokens": self.rotate_refresh_tokens,
                "access_token_ttl_calls": self.access_token_ttl_calls,
                "daily_api_limit": self.daily_api_limit,
                "api_usage": self.api_usage,
            },
        )


class _BodyError(Exception):
    def __init__(self, response: Response) -> None:
        super().__init__("bad request body")
        self.response = response


def _batch_size(header: str | None) -> int:
    """``Sforce-Query-Options: batchSize=N`` (200..2000, default 2000)."""
    for part in (header or "").split(","):
        key, _, value = part.strip().partition("=")
        if key.strip().lower() == "batchsize" and value.strip().isdigit():
            return max(MIN_BATCH_SIZE, min(MAX_BATCH_SIZE, int(value)))
    return MAX_BATCH_SIZE
