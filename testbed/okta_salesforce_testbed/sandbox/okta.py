"""A strict local emulator of the Okta Management API, for the Salesforce app's assignments.

Serves what the provider uses, in Okta's wire format (see
``docs/sandbox-okta.md``): app users with cursor paging and two ``Link``
headers, users, the System Log with polling semantics, the org authorization
server's ``client_credentials`` + ``private_key_jwt`` token endpoint, SSWS and
Bearer authentication with per-endpoint scopes, per-minute rate-limit buckets
with ``X-Rate-Limit-*`` headers, and Okta's error bodies. A Python and an HTTP
admin API (``/__sandbox/okta/...``) script changes, each recording the System
Log events Okta would publish.
"""

from __future__ import annotations

import bisect
import math
import random
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from okta_salesforce_testbed.sandbox.oauth_error import OAuthError
from okta_salesforce_testbed.sandbox.okta_directory import (
    APP_LABEL,
    APP_NAME,
    GROUP_NAME,
    AppUser,
    Directory,
    User,
    app_profile,
)
from okta_salesforce_testbed.sandbox.okta_groups import Groups, list_groups, list_user_groups
from okta_salesforce_testbed.sandbox.okta_hook_routes import failure_recorder
from okta_salesforce_testbed.sandbox.okta_hook_routes import routes as event_hook_routes
from okta_salesforce_testbed.sandbox.okta_hooks import SCOPES as EVENT_HOOK_SCOPES
from okta_salesforce_testbed.sandbox.okta_hooks import EventHookService
from okta_salesforce_testbed.sandbox.okta_logs import (
    MAX_LIMIT as MAX_LOG_LIMIT,
)
from okta_salesforce_testbed.sandbox.okta_logs import (
    FilterError,
    LogQuery,
    LogQueryError,
    SystemLog,
    parse_time,
)
from okta_salesforce_testbed.sandbox.okta_oauth import ServiceApp, TokenService
from okta_salesforce_testbed.sandbox.seed import Seed
from okta_salesforce_testbed.sandbox.server import App, Fault, Request, Response, Route

__all__ = ["GRANTED_SCOPES", "OktaApp"]

#: What the sandbox's API service app is granted: the reads the sync makes, groups included
#: (rules over Okta groups need ``okta.groups.read``).
GRANTED_SCOPES = frozenset({"okta.apps.read", "okta.groups.read", "okta.logs.read", "okta.users.read"})
DEFAULT_RATE_LIMIT = 10_000
BUCKETS = ("apps", "users", "groups", "logs", "token", "default")
APP_USERS_DEFAULT_LIMIT = 50
APP_USERS_MAX_LIMIT = 500
GROUP_USERS_DEFAULT_LIMIT = 1000
GROUP_USERS_MAX_LIMIT = 10_000
USER_STATUSES = frozenset(
    {
        "STAGED",
        "PROVISIONED",
        "ACTIVE",
        "RECOVERY",
        "PASSWORD_EXPIRED",
        "LOCKED_OUT",
        "SUSPENDED",
        "DEPROVISIONED",
    }
)
_ADMIN_ACTOR = {
    "id": "00uadminsandbox0001",
    "type": "User",
    "alternateId": "admin@acme.example.com",
    "displayName": "Okta Admin",
    "detailEntry": None,
}
_SYSTEM_ACTOR = {
    "id": "0oa1system00000000",
    "type": "PublicClientApp",
    "alternateId": "Okta System",
    "displayName": "Okta System",
    "detailEntry": None,
}


@dataclass
class _Bucket:
    limit: int
    window_start: float = 0.0
    used: int = 0


class RateLimiter:
    """Per-bucket fixed windows (Okta's per-minute limits); thread-safe."""

    def __init__(self, limits: dict[str, int], *, window: float = 60.0) -> None:
        self.window = window
        self._buckets = {name: _Bucket(limits.get(name, DEFAULT_RATE_LIMIT)) for name in BUCKETS}
        self._lock = threading.Lock()

    def set_limit(self, bucket: str, limit: int) -> None:
        if bucket not in self._buckets:
            raise ValueError(f"Unknown rate-limit bucket {bucket!r}; known: {', '.join(BUCKETS)}")
        if limit < 0:
            raise ValueError("A rate limit must be zero or more")
        with self._lock:
            self._buckets[bucket].limit = limit

    def _roll(self, bucket: _Bucket, now: float) -> None:
        start = math.floor(now / self.window) * self.window
        if start != bucket.window_start:
            bucket.window_start, bucket.used = start, 0

    def take(self, name: str) -> tuple[bool, dict[str, str]]:
        """Count one request; returns whether it is allowed and the ``X-Rate-Limit-*`` headers."""
        now = time.time()
        with self._lock:
            bucket = self._buckets[name]
            self._roll(bucket, now)
            allowed = bucket.used < bucket.limit
            if allowed:
                bucket.used += 1
            return allowed, self._headers(bucket)

    def peek(self, name: str) -> dict[str, str]:
        with self._lock:
            bucket = self._buckets[name]
            self._roll(bucket, time.time())
            return self._headers(bucket)

    def _headers(self, bucket: _Bucket) -> dict[str, str]:
        return {
            "X-Rate-Limit-Limit": str(bucket.limit),
            "X-Rate-Limit-Remaining": str(max(bucket.limit - bucket.used, 0)),
            "X-Rate-Limit-Reset": str(math.ceil(bucket.window_start + self.window)),
        }


def _bucket_for(path: str) -> str:
    for prefix, name in (
        ("/oauth2/v1/token", "token"),
        ("/api/v1/logs", "logs"),
        ("/api/v1/apps", "apps"),
        ("/api/v1/users", "users"),
        ("/api/v1/groups", "groups"),
    ):
        if path.startswith(prefix):
            return name
    return "default"


class OktaApp(App):
    """The Okta org of the seeded company, with one Salesforce app and its assignment group.

    :param seed: the shared company.
    :param directory: where keys may be written (kept for symmetry with the Salesforce sandbox).
    :param rate_limits: per-bucket requests per window (``apps``, ``users``, ``groups``,
        ``logs``, ``token``, ``default``); 10,000 each by default.
    :param rate_limit_window: window length in seconds (Okta: 60).
    :param access_token_ttl: lifetime of issued access tokens in seconds (Okta: 3600).
    :param provisioning: whether the app has provisioning on (status ``PROVISIONED``,
        ``externalId``, ``syncState`` ``SYNCHRONIZED``) or is SSO-only (``ACTIVE``, ``DISABLED``).
    """

    name = "okta"

    def __init__(
        self,
        seed: Seed,
        *,
        directory: Path | None = None,
        rate_limits: dict[str, int] | None = None,
        rate_limit_window: float = 60.0,
        access_token_ttl: int = 3600,
        provisioning: bool = False,
    ) -> None:
        super().__init__()
        self.seed = seed
        self.files_directory = directory
        self.base_url = ""
        self._api_token = seed.credentials.okta_api_token
        self.service_app = ServiceApp(
            client_id=seed.credentials.okta_client_id,
            key_id=seed.credentials.okta_key_id,
            granted_scopes=GRANTED_SCOPES,
        )
        self.tokens = TokenService([self.service_app], ttl=access_token_ttl)
        self.limiter = RateLimiter(rate_limits or {}, window=rate_limit_window)
        self.directory = Directory.from_seed(seed, provisioning=provisioning)
        #: Every app of the org by id: the seeded Salesforce app, and those :meth:`add_app` adds.
        self.apps: dict[str, Directory] = {self.directory.app_id: self.directory}
        self.groups = Groups.from_seed(seed, self.directory)
        self.log = SystemLog()
        #: Event Hooks (``/api/v1/eventHooks``); deliveries trust ``hooks.ssl_context``.
        self.hooks = EventHookService(record_failure=failure_recorder(self))
        self.log.listeners.append(self.hooks.publish)
        self._rate_headers: dict[int, dict[str, str]] = {}
        self._register_routes()

    @classmethod
    def from_seed(cls, seed: Seed, *, directory: Path, **options: Any) -> OktaApp:
        """Build the org from the shared seed (options as in the constructor)."""
        return cls(seed, directory=directory, **options)

    @property
    def service_private_key_pem(self) -> str:
        """PKCS8 PEM of the key registered (kid ``okta_key_id``) for the service app ``okta_client_id``."""
        return self.service_app.private_key_pem

    # Routing ------------------------------------------------------------------------------------
    def _register_routes(self) -> None:
        api = [
            ("GET", "/api/v1/apps/{appId}/users", "apps.users.list", self._list_app_users),
            ("GET", "/api/v1/apps/{appId}/users/{userId}", "apps.users.get", self._get_app_user),
            ("GET", "/api/v1/apps/{appId}", "apps.get", self._get_app),
            ("GET", "/api/v1/users/{id}", "users.get", self._get_user),
            ("GET", "/api/v1/users/{id}/groups", "users.groups.list", lambda r: list_user_groups(self, r)),
            ("GET", "/api/v1/groups", "groups.list", lambda r: list_groups(self, r)),
            ("GET", "/api/v1/groups/{groupId}/users", "groups.users.list", self._list_group_users),
            ("GET", "/api/v1/logs", "logs.list", self._list_logs),
            ("POST", "/oauth2/v1/token", "oauth.token", self._token),
            ("GET", "/__sandbox/okta/events", "sandbox.events", self._admin_events),
        ]
        actions = (
            "assign",
            "unassign",
            "users",
            "profile",
            "status",
            "rate_limit",
            "unknown_status",
            "group_membership",
        )
        for action in actions:
            api.append(("POST", f"/__sandbox/okta/{action}", f"sandbox.{action}", self._admin_action))
        api.append(("POST", "/__sandbox/okta/expire_tokens", "sandbox.expire_tokens", self._admin_action))
        api.append(("POST", "/__sandbox/okta/hook_fault", "sandbox.hook_fault", self._admin_action))
        api += event_hook_routes(self.hooks, self)
        for method, pattern, name, handler in api:
            self.route(method, pattern, name)(handler)

    _SCOPES: dict[str, str] = {
        "apps.users.list": "okta.apps.read",
        "apps.users.get": "okta.apps.read",
        "apps.get": "okta.apps.read",
        "users.get": "okta.users.read",
        "groups.users.list": "okta.groups.read",
        "groups.list": "okta.groups.read",
        "users.groups.list": "okta.users.read",
        "logs.list": "okta.logs.read",
        **EVENT_HOOK_SCOPES,
    }

    def before(self, request: Request, route: Route) -> Response | None:
        """Rate limits first (Okta counts rejected calls too), then authentication and scopes."""
        if not route.name.startswith("sandbox."):
            allowed, headers = self.limiter.take(_bucket_for(request.path))
            with self.lock:
                self._rate_headers[id(request)] = headers
            if not allowed:
                return self.error(429, "E0000047", "API call exceeded rate limit due to too many requests.")
        if route.name == "oauth.token":
            return None
        if route.name.startswith("sandbox."):
            return None if self._is_api_token(request) else self._invalid_token()
        return self._authorize(request, self._SCOPES[route.name])

    def decorate(self, request: Request, response: Response, route: Route | None) -> None:
        with self.lock:
            headers = self._rate_headers.pop(id(request), None)
        if headers is None and not request.path.startswith("/__sandbox/"):
            headers = self.limiter.peek(_bucket_for(request.path))
        for key, value in (headers or {}).items():
            response.headers.setdefault(key, value)
        response.headers.setdefault("X-Okta-Request-Id", "sbx" + secrets.token_urlsafe(18))

    # Errors ----------------------------------------------------------------------------------------
    @staticmethod
    def error(
        status: int,
        code: str,
        summary: str,
        causes: list[str] | None = None,
        headers: dict[str, str | list[str]] | None = None,
    ) -> Response:
        """An Okta error body (``errorLink`` carries the code, as Okta's does)."""
        body = {
            "errorCode": code,
            "errorSummary": summary,
            "errorLink": code,
            "errorId": "oae" + secrets.token_urlsafe(16)[:22],
            "errorCauses": [{"errorSummary": cause} for cause in causes or []],
        }
        return Response(status, body, headers=dict(headers or {}), content_type="application/json")

    def not_found(self, request: Request) -> Response:
        return self.error(404, "E0000007", f"Not found: Resource not found: {request.path} (Path)")

    def method_not_allowed(self, request: Request) -> Response:
        return self.error(405, "E0000022", "The endpoint does not support the provided HTTP method")

    def fault_response(self, fault: Fault, request: Request) -> Response:
        if fault.kind == "rate_limit":
            bucket = _bucket_for(request.path)
            limit = self.limiter.peek(bucket)["X-Rate-Limit-Limit"]
            return self.error(
                429,
                "E0000047",
                "API call exceeded rate limit due to too many requests.",
                headers={
                    "X-Rate-Limit-Limit": limit,
                    "X-Rate-Limit-Remaining": "0",
                    "X-Rate-Limit-Reset": str(int(time.time()) + 1),
                },
            )
        return self.error(fault.status if fault.status >= 500 else 500, "E0000009", "Internal Server Error")

    def _invalid_token(self) -> Response:
        return self.error(401, "E0000011", "Invalid token provided")

    def _bad_request(self, *causes: str) -> Response:
        names = ", ".join(cause.split(":", 1)[0] for cause in causes)
        return self.error(400, "E0000001", f"Api validation failed: {names}", list(causes))

    # Authentication --------------------------------------------------------------------------------
    def _is_api_token(self, request: Request) -> bool:
        # okta 3.4.6's typed API sends "SSWS<token>" without a space; Okta accepts it.
        header = request.header("Authorization") or ""
        return header.startswith("SSWS") and secrets.compare_digest(header[4:].strip(), self._api_token)

    def _authorize(self, request: Request, scope: str) -> Response | None:
        header = request.header("Authorization") or ""
        if header.startswith("SSWS"):
            return None if self._is_api_token(request) else self._invalid_token()
        scheme, _, credential = header.partition(" ")
        credential = credential.strip()
        if scheme in ("Bearer", "DPoP") and credential:
            scopes = self.tokens.scopes_for(credential)
            if scopes is None:
                return self._invalid_token()
            if scope not in scopes:
                return self.error(
                    403,
                    "E0000006",
                    "You do not have permission to perform the requested action",
                    headers={
                        "WWW-Authenticate": (
                            f'Bearer authorization_uri="{self._base(request)}/oauth2/v1/authorize", '
                            f'realm="IdpError", scope="{scope}", error="insufficient_scope", '
                            'error_description="The access token provided does not contain the required '
                            f'scopes.", resource="{request.path}"'
                        )
                    },
                )
            return None
        return self._invalid_token()

    def _base(self, request: Request) -> str:
        return self.base_url or request.base_url

    # Paging helpers ------------------------------------------------------------------------------
    def _limit(self, request: Request, default: int, maximum: int) -> int | Response:
        raw = request.arg("limit")
        if raw is None or raw == "":
            return default
        try:
            value = int(raw)
        except ValueError:
            return self._bad_request("limit: The value must be an integer")
        if value < 1:
            return self._bad_request("limit: The value must be greater than 0")
        return min(value, maximum)

    def _links(self, request: Request, next_after: str | None) -> list[str]:
        """Okta's ``self`` and ``next`` links, sent as two separate ``Link`` headers."""
        base = f"{self._base(request)}{request.path}"
        query = [(k, v) for k, values in request.query.items() for v in values]
        links = [f'<{base}{"?" + urlencode(query) if query else ""}>; rel="self"']
        if next_after is not None:
            rest = [(k, v) for k, v in query if k != "after"]
            links.append(f'<{base}?{urlencode([*rest, ("after", next_after)])}>; rel="next"')
        return links

    @staticmethod
    def _page(
        ids: list[str], after: str | None, limit: int, keep: Callable[[str], bool] | None
    ) -> tuple[list[str], str | None]:
        """One page of ``ids`` after the cursor; a full page always carries a ``next`` cursor."""
        start = bisect.bisect_right(ids, after) if after else 0
        if keep is None:
            page = ids[start : start + limit]
        else:
            page = []
            for item in ids[start:]:
                if keep(item):
                    page.append(item)
                    if len(page) == limit:
                        break
        return page, (page[-1] if len(page) == limit else None)

    # API handlers ----------------------------------------------------------------------------------
    def _check_app(self, request: Request) -> Response | None:
        if request.params["appId"] not in self.apps:
            return self.error(
                404, "E0000007", f"Not found: Resource not found: {request.params['appId']} (AppInstance)"
            )
        return None

    def _app(self, request: Request) -> Directory:
        return self.apps[request.params["appId"]]

    def _list_app_users(self, request: Request) -> Response:
        if missing := self._check_app(request):
            return missing
        limit = self._limit(request, APP_USERS_DEFAULT_LIMIT, APP_USERS_MAX_LIMIT)
        if isinstance(limit, Response):
            return limit
        expand = request.arg("expand")
        if expand not in (None, "", "user"):
            return self._bad_request(f"expand: Unsupported expand value {expand!r}; supported: user")
        prefix = (request.arg("q") or "").lower()
        base = self._base(request)
        with self.lock:
            directory = self._app(request)

            def keep(user_id: str) -> bool:
                app_user = directory.app_users[user_id]
                return any(
                    str(value or "").lower().startswith(prefix)
                    for value in (
                        app_user.user_name,
                        app_user.profile.get("firstName"),
                        app_user.profile.get("lastName"),
                        app_user.profile.get("email"),
                    )
                )

            ids, next_after = self._page(
                directory.app_user_ids, request.arg("after"), limit, keep if prefix else None
            )
            body = [
                directory.app_user_json(directory.app_users[i], base, expand_user=expand == "user")
                for i in ids
            ]
        return Response(
            200, body, headers={"Link": self._links(request, next_after)}, content_type="application/json"
        )

    def _get_app_user(self, request: Request) -> Response:
        if missing := self._check_app(request):
            return missing
        user_id = request.params["userId"]
        with self.lock:
            app_user = self._app(request).app_users.get(user_id)
            if app_user is None:
                return self.error(404, "E0000007", f"Not found: Resource not found: {user_id} (AppUser)")
            body = self._app(request).app_user_json(
                app_user, self._base(request), expand_user=request.arg("expand") == "user"
            )
        return Response(200, body, content_type="application/json")

    def _get_app(self, request: Request) -> Response:
        if missing := self._check_app(request):
            return missing
        return Response(
            200, self._app(request).app_json(self._base(request)), content_type="application/json"
        )

    def _get_user(self, request: Request) -> Response:
        key = request.params["id"]
        with self.lock:
            user = self.directory.find_user(key)
            if user is None:
                return self.error(404, "E0000007", f"Not found: Resource not found: {key} (User)")
            body = self.directory.user_json(user, self._base(request))
        return Response(200, body, content_type="application/json")

    def _list_group_users(self, request: Request) -> Response:
        group_id = request.params["groupId"]
        group = self.groups.by_id.get(group_id)
        if group is None:
            return self.error(404, "E0000007", f"Not found: Resource not found: {group_id} (UserGroup)")
        limit = self._limit(request, GROUP_USERS_DEFAULT_LIMIT, GROUP_USERS_MAX_LIMIT)
        if isinstance(limit, Response):
            return limit
        with self.lock:
            ids, next_after = self._page(group.members, request.arg("after"), limit, None)
            body = [self.directory.user_json(self.directory.users[i], self._base(request)) for i in ids]
        return Response(
            200, body, headers={"Link": self._links(request, next_after)}, content_type="application/json"
        )

    def _list_logs(self, request: Request) -> Response:
        causes: list[str] = []
        query = LogQuery(after=request.arg("after") or None, filter=request.arg("filter"), q=request.arg("q"))
        for name in ("since", "until"):
            raw = request.arg(name)
            if raw:
                try:
                    setattr(query, name, parse_time(raw))
                except ValueError:
                    causes.append(f"{name}: The date format in your query is not recognized. Use ISO 8601.")
        raw_limit = request.arg("limit")
        if raw_limit:
            try:
                query.limit = min(int(raw_limit), MAX_LOG_LIMIT)
                if query.limit < 0:
                    causes.append("limit: The value must be between 0 and 1000")
            except ValueError:
                causes.append("limit: The value must be an integer")
        order = request.arg("sortOrder") or "ASCENDING"
        if order not in ("ASCENDING", "DESCENDING"):
            causes.append("sortOrder: The value must be ASCENDING or DESCENDING")
        query.descending = order == "DESCENDING"
        if causes:
            return self._bad_request(*causes)
        try:
            with self.lock:
                page = self.log.query(query)
        except FilterError as exc:
            return self.error(400, "E0000031", "Invalid search criteria.", [f"filter: {exc}"])
        except LogQueryError as exc:
            return self._bad_request(f"{exc.parameter}: {exc}")
        return Response(
            200,
            page.events,
            headers={"Link": self._links(request, page.next_after)},
            content_type="application/json",
        )

    def _token(self, request: Request) -> Response:
        content_type = (request.header("Content-Type") or "").split(";")[0].strip()
        if content_type != "application/x-www-form-urlencoded":
            return Response(
                400,
                {"error": "invalid_request", "error_description": "The request must be form-urlencoded."},
                content_type="application/json",
            )
        token_url = f"{self._base(request)}/oauth2/v1/token"
        try:
            body = self.tokens.issue(request.form(), token_url=token_url)
        except OAuthError as exc:
            return exc.response(content_type="application/json")
        return Response(
            200,
            body,
            headers={"Cache-Control": "no-cache, no-store", "Pragma": "no-cache"},
            content_type="application/json",
        )

    # Admin over HTTP ---------------------------------------------------------------------------------
    def _admin_events(self, request: Request) -> Response:
        return Response(200, self.events(), content_type="application/json")

    def _admin_action(self, request: Request) -> Response:
        action = request.path.rsplit("/", 1)[-1]
        try:
            payload = request.json() or {}
            if not isinstance(payload, dict):
                raise TypeError("The body must be a JSON object")
            result: Any = None
            if action == "assign":
                result = self.assign(
                    payload["user"], via_group=bool(payload.get("via_group", False)), app=payload.get("app")
                )
            elif action == "unassign":
                self.unassign(payload["user"], app=payload.get("app"))
            elif action == "users":
                result = self.add_user(**payload)
            elif action == "profile":
                result = self.update_profile(payload["user"], **payload.get("attributes", {}))
            elif action == "status":
                self.set_user_status(payload["user"], payload["status"])
            elif action == "rate_limit":
                self.set_rate_limit(payload["bucket"], int(payload["limit"]))
            elif action == "unknown_status":
                self.add_unknown_status(payload["user"], payload["status"])
            elif action == "hook_fault":
                self.hooks.inject(payload["kind"], int(payload.get("times", 1)))
            elif action == "group_membership":
                self.set_group_membership(
                    payload["group"], payload["user"], bool(payload.get("member", True))
                )
            elif action == "expire_tokens":
                self.expire_access_tokens()
        except KeyError as exc:
            return self._bad_request(f"{exc.args[0]}: The field is required")
        except LookupError as exc:
            return self.error(404, "E0000007", f"Not found: {exc}")
        except (TypeError, ValueError) as exc:
            return self._bad_request(f"body: {exc}")
        if result is None:
            return Response(204)
        return Response(200, result, content_type="application/json")

    # Python admin API ---------------------------------------------------------------------------------
    def _user(self, key: str) -> User:
        user = self.directory.find_user(key)
        if user is None:
            raise LookupError(f"Resource not found: {key} (User)")
        return user

    def add_app(self, app_id: str, users: Iterable[str] = ()) -> Directory:
        """Add another app to the org (same users, its own assignments), with ``users`` (ids or logins)
        assigned directly. Its group-based assignments are not modelled."""
        with self.lock:
            if app_id in self.apps:
                raise ValueError(f"app {app_id} already exists")
            primary = self.directory
            app = Directory(app_id, primary.group_id, primary.provisioning, primary.users, primary.logins)
            app.rnd = random.Random(app_id)
            now = datetime.now(UTC)
            for key in users:
                app.add_app_user(app.new_app_user(self._user(key), scope="USER", at=now))
            self.apps[app_id] = app
            return app

    def _directory(self, app: str | None) -> Directory:
        if app is None or app == self.directory.app_id:
            return self.directory
        if app not in self.apps:
            raise LookupError(f"Resource not found: {app} (AppInstance)")
        return self.apps[app]

    def assign(self, user: str, *, via_group: bool = False, app: str | None = None) -> dict[str, Any]:
        """Assign a user (id or login) to the app (``app``: another app's id), directly or through the
        seeded app's group."""
        with self.lock:
            directory = self._directory(app)
            if via_group and directory is not self.directory:
                raise ValueError("via_group: only the seeded app has an assignment group")
            found = self._user(user)
            now = datetime.now(UTC)
            transaction = "sbx" + secrets.token_urlsafe(14)
            if via_group and directory.add_member(found.id):
                self._group_event("add", found, transaction)
            app_user = directory.app_users.get(found.id)
            if app_user is None:
                app_user = directory.new_app_user(found, scope="GROUP" if via_group else "USER", at=now)
                directory.add_app_user(app_user)
                self._app_event("add", found, app_user, transaction, group=via_group, app_id=directory.app_id)
            elif not via_group and app_user.scope == "GROUP":
                app_user.scope, app_user.last_updated = "USER", now
            return directory.app_user_json(app_user, self.base_url, expand_user=False)

    def unassign(self, user: str, *, app: str | None = None) -> None:
        """Remove a user's assignment (and, for a group assignment, the group membership)."""
        with self.lock:
            directory = self._directory(app)
            found = self._user(user)
            transaction = "sbx" + secrets.token_urlsafe(14)
            app_user = directory.app_users.get(found.id)
            if app_user is None:
                raise LookupError(f"Resource not found: {found.id} (AppUser)")
            via_group = directory.remove_member(found.id)
            if via_group:
                self._group_event("remove", found, transaction)
            directory.remove_app_user(found.id)
            self._app_event("remove", found, app_user, transaction, group=via_group, app_id=directory.app_id)

    def set_group_membership(self, group: str, user: str, member: bool = True) -> None:
        """Add a user (id or login) to an Okta group by name, or remove them (``member=False``)."""
        with self.lock:
            self.groups.set_member(group, self._user(user).id, member)

    def update_profile(self, user: str, **attributes: Any) -> dict[str, Any]:
        """Change Okta profile attributes (``firstName``, ``department``, ``login``...)."""
        with self.lock:
            found = self._user(user)
            new_login = attributes.get("login")
            if new_login and new_login.lower() != found.login.lower():
                if new_login.lower() in self.directory.logins:
                    raise ValueError(
                        "login: An object with this field already exists in the current organization"
                    )
                del self.directory.logins[found.login.lower()]
                self.directory.logins[new_login.lower()] = found.id
            now = datetime.now(UTC)
            found.profile.update(attributes)
            found.last_updated = now
            transaction = "sbx" + secrets.token_urlsafe(14)
            self._user_event(
                "user.account.update_profile",
                "Update user profile for Okta",
                "core.user.config.profile_update.success",
                found,
                transaction,
            )
            app_user = self.directory.app_users.get(found.id)
            if app_user is not None:
                app_user.profile = app_profile(found)
                app_user.last_updated = now
                if app_user.user_name != found.login:
                    app_user.user_name = found.login
                    self._app_event("change_username", found, app_user, transaction, group=False)
            return self.directory.user_json(found, self.base_url)

    def add_user(
        self, *, first_name: str, last_name: str, login: str, email: str | None = None, **profile: Any
    ) -> dict[str, Any]:
        """Create an ACTIVE Okta user (not assigned to the app)."""
        with self.lock:
            if login.lower() in self.directory.logins:
                raise ValueError(
                    "login: An object with this field already exists in the current organization"
                )
            now = datetime.now(UTC)
            user = User(
                id=self.directory.new_id("00u"),
                status="ACTIVE",
                created=now,
                activated=now,
                status_changed=now,
                last_updated=now,
                password_changed=None,
                profile={
                    "login": login,
                    "email": email or login,
                    "firstName": first_name,
                    "lastName": last_name,
                    "displayName": f"{first_name} {last_name}",
                    "secondEmail": None,
                    "mobilePhone": None,
                    **profile,
                },
            )
            self.directory.users[user.id] = user
            self.directory.logins[login.lower()] = user.id
            transaction = "sbx" + secrets.token_urlsafe(14)
            self._user_event(
                "user.lifecycle.create",
                "Create Okta user",
                "core.user.config.user_creation.success",
                user,
                transaction,
            )
            self._user_event(
                "user.lifecycle.activate",
                "Activate Okta user",
                "core.user.config.user_activated",
                user,
                transaction,
            )
            return self.directory.user_json(user, self.base_url)

    def set_user_status(self, user: str, status: str) -> None:
        """Move an Okta user to ``status``; deactivation (DEPROVISIONED) removes the app assignment."""
        if status not in USER_STATUSES:
            raise ValueError(f"status: Unknown user status {status!r}")
        with self.lock:
            found = self._user(user)
            previous, now = found.status, datetime.now(UTC)
            if previous == status:
                return
            found.status, found.status_changed, found.last_updated = status, now, now
            transaction = "sbx" + secrets.token_urlsafe(14)
            if status == "DEPROVISIONED":
                self._user_event(
                    "user.lifecycle.deactivate",
                    "Deactivate Okta user",
                    "core.user.config.user_deactivated",
                    found,
                    transaction,
                )
                app_user = self.directory.remove_app_user(found.id)
                if app_user is not None:
                    self._app_event("remove", found, app_user, transaction, group=app_user.scope == "GROUP")
            elif status == "SUSPENDED":
                self._user_event(
                    "user.lifecycle.suspend",
                    "Suspend Okta user",
                    "core.user.config.user_suspended",
                    found,
                    transaction,
                )
            elif status == "ACTIVE" and previous == "SUSPENDED":
                self._user_event(
                    "user.lifecycle.unsuspend",
                    "Unsuspend Okta user",
                    "core.user.config.user_unsuspended",
                    found,
                    transaction,
                )
            elif status == "ACTIVE":
                found.activated = now
                self._user_event(
                    "user.lifecycle.activate",
                    "Activate Okta user",
                    "core.user.config.user_activated",
                    found,
                    transaction,
                )
                if previous == "DEPROVISIONED" and self.directory.is_member(found.id):
                    app_user = self.directory.new_app_user(found, scope="GROUP", at=now)
                    self.directory.add_app_user(app_user)
                    self._app_event("add", found, app_user, transaction, group=True)

    def set_rate_limit(self, bucket: str, limit: int) -> None:
        """Set a bucket's requests per window (``apps``, ``users``, ``groups``, ``logs``, ``token``)."""
        self.limiter.set_limit(bucket, limit)

    def add_unknown_status(self, user: str, status: str) -> None:
        """Give an app user a status the SDK's enum does not know (e.g. ``PENDING_FUTURE``)."""
        with self.lock:
            found = self._user(user)
            app_user = self.directory.app_users.get(found.id)
            if app_user is None:
                raise LookupError(f"Resource not found: {found.id} (AppUser)")
            now = datetime.now(UTC)
            app_user.status, app_user.status_changed, app_user.last_updated = status, now, now

    def expire_access_tokens(self) -> None:
        """Expire every issued access token (the next Bearer call gets a 401)."""
        self.tokens.expire_all()

    def events(self) -> list[dict[str, Any]]:
        """The System Log so far, oldest first."""
        with self.lock:
            return self.log.all()

    # System Log events -------------------------------------------------------------------------------
    def _user_target(self, user: User) -> dict[str, Any]:
        return {
            "id": user.id,
            "type": "User",
            "alternateId": user.login,
            "displayName": user.profile.get("displayName"),
            "detailEntry": None,
        }

    def _user_event(self, event_type: str, message: str, legacy: str, user: User, transaction: str) -> None:
        self.log.record(
            event_type,
            display_message=message,
            legacy_event_type=legacy,
            actor=_ADMIN_ACTOR,
            targets=[self._user_target(user)],
            debug_data={"requestUri": f"/api/v1/users/{user.id}"},
            transaction_id=transaction,
        )

    def _group_event(self, kind: str, user: User, transaction: str) -> None:
        verb = "Add user to" if kind == "add" else "Remove user from"
        self.log.record(
            f"group.user_membership.{kind}",
            display_message=f"{verb} group membership",
            legacy_event_type=f"core.user_group_member.user_{kind}",
            actor=_ADMIN_ACTOR,
            targets=[
                self._user_target(user),
                {
                    "id": self.directory.group_id,
                    "type": "UserGroup",
                    "alternateId": "unknown",
                    "displayName": GROUP_NAME,
                    "detailEntry": None,
                },
            ],
            debug_data={"requestUri": f"/api/v1/groups/{self.directory.group_id}/users/{user.id}"},
            transaction_id=transaction,
        )

    def _app_event(
        self,
        kind: str,
        user: User,
        app_user: AppUser,
        transaction: str,
        *,
        group: bool,
        app_id: str | None = None,
    ) -> None:
        messages = {
            "add": ("Add user to application membership", "app.generic.provision.assign_user_to_app"),
            "remove": (
                "Remove user from application membership",
                "app.generic.provision.deactivate_user_from_app",
            ),
            "change_username": (
                "Change user's application username",
                "app.generic.config.app_username_update",
            ),
        }
        message, legacy = messages[kind]
        self.log.record(
            f"application.user_membership.{kind}",
            display_message=message,
            legacy_event_type=legacy,
            # Group-driven assignments are made by Okta itself, not by the admin.
            actor=_SYSTEM_ACTOR if group else _ADMIN_ACTOR,
            targets=[
                {
                    "id": app_user.internal_id,
                    "type": "AppUser",
                    "alternateId": app_user.user_name,
                    "displayName": user.profile.get("displayName"),
                    "detailEntry": None,
                },
                {
                    "id": app_id or self.directory.app_id,
                    "type": "AppInstance",
                    "alternateId": APP_LABEL,
                    "displayName": APP_LABEL,
                    "detailEntry": None,
                },
                self._user_target(user),
            ],
            debug_data={"appname": APP_NAME},
            transaction_id=transaction,
        )
