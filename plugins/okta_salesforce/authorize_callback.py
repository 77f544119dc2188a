"""The browser leg of ``okta-salesforce authorize``: receive Salesforce's redirect and check it.

Two ways to get the redirect ``http://127.0.0.1:<port>/callback?code=...&state=...``:

* :class:`CallbackListener`: a small threaded HTTP server. Each connection gets its own thread and
  a socket timeout, so a local connection that sends nothing cannot hold up the real callback, nor
  the overall ``--timeout``. A request whose ``state`` does not match is answered 400 and ignored.
* :func:`read_pasted_redirect`: nothing listens; the browser shows "cannot connect" on the callback
  URL and the admin pastes that URL from the address bar (machines without a browser, containers).

Either way the ``state`` is compared in constant time after an ASCII check, and the code is only
good together with the PKCE verifier that never leaves this process.
"""

from __future__ import annotations

import errno
import html
import secrets
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

CALLBACK_PATH = "/callback"
#: Seconds one connection to the listener may take to send its request.
REQUEST_TIMEOUT = 10.0


class AuthorizationFailed(Exception):
    """The browser leg did not end with a code (denied, wrong state, timed out, port busy)."""


def state_matches(received: object, expected: str) -> bool:
    """Constant-time comparison of a ``state`` that may be anything a request carried."""
    if not isinstance(received, str) or not received.isascii():
        return False
    return secrets.compare_digest(received.encode("ascii"), expected.encode("ascii"))


@dataclass
class CallbackResult:
    """What one callback request carried: a code, or Salesforce's error."""

    code: str | None = None
    error: str | None = None


def parse_callback(query: Mapping[str, str], state: str) -> CallbackResult | None:
    """The result of a callback query, or ``None`` when its ``state`` is not ours (ignore it)."""
    if not state_matches(query.get("state", ""), state):
        return None
    if "error" in query:
        detail = query.get("error_description", "no description")
        return CallbackResult(error=f"Salesforce answered {query['error']}: {detail}")
    if not query.get("code"):
        return CallbackResult(error="Salesforce sent no authorization code.")
    return CallbackResult(code=query["code"])


def _query(url: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}


def read_pasted_redirect(redirect_uri: str, state: str, read: Callable[[str], str]) -> CallbackResult:
    """Ask for the URL the browser was redirected to and check it (``--no-listener``).

    :param read: prompts and returns one line (``input``).
    :raises AuthorizationFailed: the URL is not the callback, or its ``state`` is not ours.
    """
    pasted = read(
        f"Paste the full address your browser was sent to (it starts with {redirect_uri}?code=...): "
    ).strip()
    parts, expected = urlsplit(pasted), urlsplit(redirect_uri)
    if (parts.scheme, parts.netloc, parts.path) != (expected.scheme, expected.netloc, expected.path):
        raise AuthorizationFailed(f"That is not the callback address {redirect_uri}; run authorize again.")
    result = parse_callback(_query(pasted), state)
    if result is None:
        raise AuthorizationFailed(
            "The pasted address's state does not match this authorization (an old or foreign "
            "redirect); run authorize again and paste the address of this run."
        )
    return result


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a stuck connection never keeps the process alive
    allow_reuse_address = True


class CallbackListener:
    """A threaded loopback server for the OAuth callback.

    :param host: the interface to listen on (``127.0.0.1``; ``0.0.0.0`` inside a container whose
        port is published).
    :param port: 0 for any free port.
    :raises AuthorizationFailed: the port is in use or not allowed.
    """

    def __init__(self, host: str, port: int, state: str, *, request_timeout: float = REQUEST_TIMEOUT) -> None:
        self.state = state
        self.result: CallbackResult | None = None
        self.done = threading.Event()
        handler = _handler(self, request_timeout)
        try:
            self._server = _Server((host, port), handler)
        except OSError as err:
            if err.errno in (errno.EADDRINUSE, errno.EACCES):
                reason = "is in use by another program" if err.errno == errno.EADDRINUSE else "is not allowed"
                raise AuthorizationFailed(
                    f"Cannot listen on {host}:{port}: the port {reason}. Stop that program or pick "
                    "another port with --listen HOST:PORT (and list http://127.0.0.1:<port>/callback "
                    "as a callback URL of the connected app), or use --no-listener."
                ) from None
            raise AuthorizationFailed(f"Cannot listen on {host}:{port}: {err.strerror}.") from None
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="salesforce-oauth-callback", daemon=True
        )

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def __enter__(self) -> CallbackListener:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def wait(self, timeout: float) -> CallbackResult | None:
        """The first callback with our ``state``, or ``None`` after ``timeout`` seconds."""
        return self.result if self.done.wait(timeout) else None

    def _accept(self, result: CallbackResult) -> None:
        if not self.done.is_set():
            self.result = result
            self.done.set()


def _handler(listener: CallbackListener, request_timeout: float) -> type[BaseHTTPRequestHandler]:
    class CallbackHandler(BaseHTTPRequestHandler):
        timeout = request_timeout  # StreamRequestHandler puts it on the socket

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            if parts.path != CALLBACK_PATH:
                self._reply(404, "Not the OAuth callback.")
                return
            result = parse_callback(_query(self.path), listener.state)
            if result is None:
                # Not our request (or forged): ignore it and keep waiting for the real one.
                self._reply(400, "The state parameter does not match this authorization; ignored.")
                return
            if result.error:
                self._reply(400, f"Authorization failed: {result.error}")
            else:
                self._reply(
                    200, "Salesforce authorized. You can close this window and return to the terminal."
                )
            listener._accept(result)

        def _reply(self, status: int, text: str) -> None:
            body = f"<!doctype html><title>okta-salesforce</title><p>{html.escape(text)}</p>".encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            """Silence the access log: the request line carries the authorization code."""

    return CallbackHandler
