"""The HTTPS server both sandboxes run on: routing, latency, faults and counters.

Each sandbox (Okta, Salesforce) is an :class:`App`: a list of routes and the
vendor-specific shape of its errors. :class:`SandboxServer` serves one app on
``127.0.0.1`` over TLS in a background thread, with knobs that tests and
benchmarks script:

* ``latency``: seconds slept before each answer (the benchmarks' 20 ms);
* ``faults``: one-shot or repeated injected failures on chosen routes
  (rate limit, 5xx, dropped connection, an answer lost after the change landed),
  rendered in the vendor's wire format;
* ``counters``: requests per route name, and the server's own time per request.
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import ssl
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import orjson

from okta_salesforce_testbed.sandbox.tls import SandboxCA


@dataclass
class Request:
    """One parsed HTTP request as the apps see it."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: Mapping[str, str]
    body: bytes
    params: dict[str, str] = field(default_factory=dict)
    base_url: str = ""
    #: The request-target as the client sent it (path and query, still encoded).
    target: str = ""

    def arg(self, name: str, default: str | None = None) -> str | None:
        """The first value of query parameter ``name``."""
        values = self.query.get(name)
        return values[0] if values else default

    def header(self, name: str, default: str | None = None) -> str | None:
        """A request header, looked up case-insensitively."""
        lowered = name.lower()
        for key, value in self.headers.items():
            if key.lower() == lowered:
                return value
        return default

    def json(self) -> Any:
        """The body parsed as JSON (``None`` when empty)."""
        return json.loads(self.body) if self.body else None

    def form(self) -> dict[str, str]:
        """The body parsed as ``application/x-www-form-urlencoded``."""
        return {k: v[0] for k, v in parse_qs(self.body.decode(), keep_blank_values=True).items()}


@dataclass
class Response:
    """What a route returns: status, body (JSON-able, ``str`` or ``bytes``) and headers.

    A header whose value is a list is sent once per item (e.g. Okta's two ``Link`` headers).
    """

    status: int = 200
    body: Any = None
    headers: dict[str, str | list[str]] = field(default_factory=dict)
    content_type: str = "application/json;charset=UTF-8"

    def encode(self) -> bytes:
        """The body on the wire: compact UTF-8 JSON, as Okta and Salesforce send it.

        orjson encodes a page of 500 Okta app users in about 1 ms where ``json.dumps`` takes
        13 ms; the sandboxes share the benchmark's CPUs, so their encoding is not free. What
        orjson refuses (integers past 64 bits, non-string keys) goes through ``json``, and types
        ``json`` refuses (datetimes, dataclasses) are refused as before.
        """
        if self.body is None:
            return b""
        if isinstance(self.body, bytes):
            return self.body
        if isinstance(self.body, str):
            return self.body.encode()
        try:
            return orjson.dumps(self.body, option=_ORJSON_OPTIONS)
        except TypeError:
            return json.dumps(self.body, ensure_ascii=False, separators=(",", ":")).encode()


#: Types json.dumps refuses stay refused (orjson would render them); see :meth:`Response.encode`.
_ORJSON_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


Handler = Callable[[Request], Response]


@dataclass
class Route:
    """A method + path pattern (``{name}`` captures one segment) bound to a handler."""

    method: str
    pattern: str
    name: str
    handler: Handler
    regex: re.Pattern[str] = field(init=False)

    def __post_init__(self) -> None:
        regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", self.pattern)
        self.regex = re.compile(f"^{regex}$")


@dataclass
class Fault:
    """An injected failure.

    :param route: route name it applies to (``"*"`` for any route).
    :param kind: ``"rate_limit"``, ``"server_error"``, ``"drop"`` (close the connection
        without handling the request) or ``"lose_answer"`` (handle the request, then close the
        connection before answering: the change lands, the client never learns it); apps may
        define more kinds.
    :param times: how many matching requests it hits before it is spent.
    :param after: how many matching requests pass untouched first.
    :param status: HTTP status for ``server_error``.
    """

    route: str
    kind: str
    times: int = 1
    after: int = 0
    status: int = 503
    seen: int = 0

    def take(self, route: str) -> bool:
        """Count a matching request; True when this request must fail."""
        if self.route not in ("*", route) or self.times <= 0:
            return False
        self.seen += 1
        if self.seen <= self.after:
            return False
        self.times -= 1
        return True


class App:
    """Base class of a sandbox API: routes plus the vendor's error shapes."""

    name = "app"

    def __init__(self) -> None:
        self.routes: list[Route] = []
        self.lock = threading.RLock()

    def route(self, method: str, pattern: str, name: str) -> Callable[[Handler], Handler]:
        """Decorator-style registration: ``self.route("GET", "/x/{id}", "x")(handler)``."""

        def register(handler: Handler) -> Handler:
            self.routes.append(Route(method, pattern, name, handler))
            return handler

        return register

    def match(self, method: str, path: str) -> tuple[Route | None, dict[str, str], bool]:
        """The route for a request, its path params, and whether the path exists for another method."""
        path_known = False
        for route in self.routes:
            found = route.regex.match(path)
            if found:
                path_known = True
                if route.method == method:
                    return route, found.groupdict(), True
        return None, {}, path_known

    # Vendor-specific shapes; subclasses override.
    def not_found(self, request: Request) -> Response:
        return Response(404, {"error": "not found", "path": request.path})

    def method_not_allowed(self, request: Request) -> Response:
        return Response(405, {"error": "method not allowed"})

    def fault_response(self, fault: Fault, request: Request) -> Response:
        return Response(fault.status, {"error": fault.kind})

    def decorate(self, request: Request, response: Response, route: Route | None) -> None:
        """Add headers every response carries (rate-limit, API usage)."""

    def before(self, request: Request, route: Route) -> Response | None:
        """Authentication and limits: a response here short-circuits the handler."""
        return None


class SandboxServer:
    """Serves one :class:`App` over HTTPS on ``127.0.0.1`` in a daemon thread."""

    def __init__(self, app: App, ca: SandboxCA, *, port: int = 0, latency: float = 0.0) -> None:
        self.app = app
        self.ca = ca
        self.latency = latency
        self.faults: list[Fault] = []
        self.counters: Counter[str] = Counter()
        self.service_seconds = 0.0
        self._stats_lock = threading.Lock()
        self._httpd = _make_httpd(self, port)
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    @property
    def url(self) -> str:
        """Base URL, e.g. ``https://127.0.0.1:8443``."""
        return f"https://127.0.0.1:{self.port}"

    def start(self) -> SandboxServer:
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, name=f"{self.app.name}-sandbox", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread:
            self._thread.join(timeout=5)

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # Knobs -----------------------------------------------------------------
    def inject(self, route: str, kind: str, *, times: int = 1, after: int = 0, status: int = 503) -> Fault:
        """Schedule a fault on ``route`` (a route name, or ``"*"``)."""
        fault = Fault(route=route, kind=kind, times=times, after=after, status=status)
        with self._stats_lock:
            self.faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        with self._stats_lock:
            self.faults.clear()

    def reset_counters(self) -> None:
        with self._stats_lock:
            self.counters.clear()
            self.service_seconds = 0.0

    def total_requests(self) -> int:
        return sum(self.counters.values())

    # Request path ------------------------------------------------------------
    def _next_fault(self, route_name: str) -> Fault | None:
        with self._stats_lock:
            for fault in self.faults:
                if fault.take(route_name):
                    return fault
        return None

    def handle(self, request: Request) -> Response | None:
        """Dispatch one request; ``None`` means drop the connection."""
        started = time.perf_counter()
        route, params, path_known = self.app.match(request.method, request.path)
        name = route.name if route else "unmatched"
        with self._stats_lock:
            self.counters[name] += 1
        if self.latency:
            time.sleep(self.latency)
        request.params = params
        fault = self._next_fault(name)
        if fault and fault.kind == "drop":
            return None
        if fault and fault.kind == "lose_answer" and route is not None:
            self.app.before(request, route) or route.handler(request)
            return None
        if fault:
            response = self.app.fault_response(fault, request)
        elif route is None:
            response = (self.app.method_not_allowed if path_known else self.app.not_found)(request)
        else:
            response = self.app.before(request, route) or route.handler(request)
        self.app.decorate(request, response, route)
        with self._stats_lock:
            self.service_seconds += time.perf_counter() - started - self.latency
        return response


def _make_httpd(server: SandboxServer, port: int) -> ThreadingHTTPServer:
    class _Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "okta-salesforce-sandbox"

        def log_message(self, format: str, *args: Any) -> None:
            """Silence per-request logging (it would print tokens in query strings)."""

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            parts = urlsplit(self.path)
            host = self.headers.get("Host") or f"127.0.0.1:{server.port}"
            request = Request(
                method=self.command,
                path=parts.path,
                query=parse_qs(parts.query, keep_blank_values=True),
                headers=dict(self.headers.items()),
                body=body,
                base_url=f"https://{host}",
                target=self.path,
            )
            response = server.handle(request)
            if response is None:
                self.close_connection = True
                with contextlib.suppress(OSError):
                    self.connection.shutdown(socket.SHUT_RDWR)
                return
            payload = response.encode()
            self.send_response(response.status)
            if payload or response.status not in (204, 304):
                self.send_header("Content-Type", response.content_type)
            self.send_header("Content-Length", str(len(payload)))
            for key, value in response.headers.items():
                for item in value if isinstance(value, list) else [value]:
                    self.send_header(key, item)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(payload)

        do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = do_HEAD = _serve

    class _Server(ThreadingHTTPServer):
        daemon_threads = True
        request_queue_size = 128

        def get_request(self) -> tuple[socket.socket, Any]:
            sock, addr = super().get_request()
            return context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), addr

        def handle_error(self, request: Any, client_address: Any) -> None:
            """Client disconnects and TLS errors are normal here (dropped-connection faults)."""

    context: ssl.SSLContext = server.ca.server_context()
    return _Server(("127.0.0.1", port), _Handler)
