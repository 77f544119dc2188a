"""``okta-salesforce authorize``: authorize a Salesforce connected app once and keep the connection.

The authorization-code flow with PKCE (S256) and ``state``, on a loopback redirect
``http://127.0.0.1:<port>/callback`` served on 127.0.0.1 only: the admin logs in to Salesforce in a
browser and approves the app; the code is exchanged for a refresh token; the result is stored as
the Airflow connection (in the metadata database) or printed as connection JSON or URI for a
secrets backend.

PKCE, ``state`` and the authorization URL come from oauthlib's ``WebApplicationClient`` (the engine
of requests-oauthlib). The code exchange goes through the hook's own token client instead of
``OAuth2Session.fetch_token``, which logs the request body and the tokens at DEBUG.
"""

from __future__ import annotations

import argparse
import getpass
import html
import json
import os
import secrets
import sys
import threading
import webbrowser
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from okta_salesforce.hooks.salesforce_oauth import (
    PRODUCTION_LOGIN,
    SalesforceOAuthError,
    TokenEndpoint,
    TokenResponse,
)

if TYPE_CHECKING:
    from collections.abc import Callable

DEFAULT_CONN_ID = "salesforce_oauth_default"
DEFAULT_SCOPES = "api refresh_token offline_access"
FULL_SCOPES = "full refresh_token offline_access"
CALLBACK_PATH = "/callback"
CLIENT_SECRET_ENV = "SALESFORCE_CLIENT_SECRET"  # noqa: S105 - an environment variable name


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the ``authorize`` options."""
    parser.add_argument("--conn-id", default=DEFAULT_CONN_ID, help="Airflow connection id to store")
    parser.add_argument(
        "--login-url",
        default=PRODUCTION_LOGIN,
        help="https://login.salesforce.com, https://test.salesforce.com or your My Domain URL",
    )
    parser.add_argument(
        "--client-id",
        default=os.environ.get("SALESFORCE_CLIENT_ID"),
        help="consumer key of the connected app (or $SALESFORCE_CLIENT_ID)",
    )
    parser.add_argument(
        "--port",
        type=int,
        default=8765,
        help="loopback port of the callback; the app's callback URL must be http://127.0.0.1:<port>/callback",
    )
    parser.add_argument(
        "--full",
        action="store_true",
        help=f"ask for scope 'full' instead of 'api' (default scopes: {DEFAULT_SCOPES})",
    )
    parser.add_argument(
        "--api-version", default="62.0", help="Salesforce REST API version for the connection"
    )
    parser.add_argument(
        "--ca-bundle", default=None, help="extra trusted CA bundle (PEM path), kept in the connection"
    )
    parser.add_argument(
        "--no-browser", action="store_true", help="print the URL instead of opening a browser"
    )
    parser.add_argument(
        "--print",
        dest="print_as",
        choices=["json", "uri"],
        default=None,
        help="print the connection (for a secrets backend) instead of storing it in the Airflow database",
    )
    parser.add_argument(
        "--timeout", type=float, default=300.0, help="seconds to wait for the browser callback"
    )
    parser.epilog = (
        f"The consumer secret is read from ${CLIENT_SECRET_ENV} or asked for, never taken as an argument."
    )


def run(args: argparse.Namespace, *, open_browser: Callable[[str], bool] | None = None) -> int:
    """Run the flow; return the process exit code."""
    if not args.client_id:
        print("error: --client-id (or $SALESFORCE_CLIENT_ID) is required.", file=sys.stderr)
        return 2
    client_secret = os.environ.get(CLIENT_SECRET_ENV) or getpass.getpass("Consumer secret: ")
    try:
        token = authorize(
            login_url=args.login_url,
            client_id=args.client_id,
            client_secret=client_secret,
            port=args.port,
            scopes=FULL_SCOPES if args.full else DEFAULT_SCOPES,
            ca_bundle=args.ca_bundle,
            timeout=args.timeout,
            open_browser=(lambda _url: False) if args.no_browser else (open_browser or webbrowser.open),
        )
    except (SalesforceOAuthError, AuthorizationFailed) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    if not token.refresh_token:
        print(
            "error: Salesforce returned no refresh token. Add the scopes 'refresh_token, offline_access' to "
            "the connected app and try again.",
            file=sys.stderr,
        )
        return 1
    conn = connection_dict(
        login_url=args.login_url,
        client_id=args.client_id,
        client_secret=client_secret,
        refresh_token=token.refresh_token,
        api_version=args.api_version,
        ca_bundle=args.ca_bundle,
    )
    print(f"Authorized: instance {token.instance_url}, scopes {token.scope or '?'}.", file=sys.stderr)
    if args.print_as == "json":
        print(json.dumps(conn))
    elif args.print_as == "uri":
        print(connection_uri(args.conn_id, conn))
    else:
        return _store(args.conn_id, conn)
    return 0


class AuthorizationFailed(Exception):
    """The browser leg did not end with a code (denied, wrong state, timed out)."""


@dataclass
class _Callback:
    code: str | None = None
    error: str | None = None


def authorize(
    *,
    login_url: str,
    client_id: str,
    client_secret: str | None,
    port: int = 8765,
    scopes: str = DEFAULT_SCOPES,
    ca_bundle: str | None = None,
    timeout: float = 300.0,
    open_browser: Callable[[str], bool] = webbrowser.open,
) -> TokenResponse:
    """Do the browser leg and the code exchange; return the token response."""
    import requests
    from oauthlib.oauth2 import WebApplicationClient

    from okta_salesforce.hooks.salesforce_session import mount_ca_bundle

    endpoint = TokenEndpoint(
        login_url=login_url,
        client_id=client_id,
        client_secret=client_secret,
        session=mount_ca_bundle(requests.Session(), ca_bundle),
    )
    oauth = WebApplicationClient(client_id)
    verifier = oauth.create_code_verifier(64)
    state = secrets.token_urlsafe(32)
    received = _Callback()
    done = threading.Event()
    server = HTTPServer(("127.0.0.1", port), _handler(state, received, done))
    redirect_uri = f"http://127.0.0.1:{server.server_address[1]}{CALLBACK_PATH}"
    url = oauth.prepare_request_uri(
        endpoint.authorize_url,
        redirect_uri=redirect_uri,
        scope=scopes,
        state=state,
        code_challenge=oauth.create_code_challenge(verifier, "S256"),
        code_challenge_method="S256",
    )
    thread = threading.Thread(target=server.serve_forever, name="salesforce-oauth-callback", daemon=True)
    thread.start()
    try:
        opened = open_browser(url)
        print(
            f"{'A browser was opened on' if opened else 'Open'} this URL and log in to Salesforce as the "
            f"integration user (waiting on {redirect_uri}, Ctrl+C to stop):\n\n  {url}\n",
            file=sys.stderr,
        )
        if not done.wait(timeout):
            raise AuthorizationFailed(f"No answer on {redirect_uri} within {timeout:.0f} s.")
    finally:
        server.shutdown()
        server.server_close()
    if received.error or not received.code:
        raise AuthorizationFailed(received.error or "Salesforce sent no authorization code.")
    return endpoint.authorization_code(received.code, redirect_uri=redirect_uri, code_verifier=verifier)


def _handler(state: str, received: _Callback, done: threading.Event) -> type[BaseHTTPRequestHandler]:
    class CallbackHandler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            if parts.path != CALLBACK_PATH:
                self._reply(404, "Not the OAuth callback.")
                return
            query = {k: v[0] for k, v in parse_qs(parts.query).items()}
            if not secrets.compare_digest(query.get("state", ""), state):
                # Not our request (or forged): ignore it and keep waiting for the real one.
                self._reply(400, "The state parameter does not match this authorization; ignored.")
                return
            if "error" in query:
                detail = query.get("error_description", "no description")
                received.error = f"Salesforce answered {query['error']}: {detail}"
                self._reply(400, f"Authorization failed: {received.error}")
            else:
                received.code = query.get("code")
                self._reply(
                    200, "Salesforce authorized. You can close this window and return to the terminal."
                )
            done.set()

        def _reply(self, status: int, text: str) -> None:
            body = f"<!doctype html><title>okta-salesforce</title><p>{html.escape(text)}</p>".encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            """Silence the access log: the request line carries the authorization code."""

    return CallbackHandler


def connection_dict(
    *,
    login_url: str,
    client_id: str,
    client_secret: str | None,
    refresh_token: str,
    api_version: str,
    ca_bundle: str | None = None,
) -> dict[str, Any]:
    """The ``salesforce_oauth`` connection in Airflow's JSON form."""
    extra: dict[str, Any] = {
        "auth_flow": "refresh_token",
        "refresh_token": refresh_token,
        "api_version": api_version,
    }
    if ca_bundle:
        extra["ca_bundle"] = ca_bundle
    conn: dict[str, Any] = {
        "conn_type": "salesforce_oauth",
        "host": login_url,
        "login": client_id,
        "extra": extra,
    }
    if client_secret:
        conn["password"] = client_secret
    return conn


def connection_uri(conn_id: str, conn: dict[str, Any]) -> str:
    """The connection as an Airflow URI (``AIRFLOW_CONN_...`` or a secrets backend value)."""
    from airflow.sdk import Connection

    return Connection(
        conn_id=conn_id,
        conn_type=conn["conn_type"],
        host=conn["host"],
        login=conn["login"],
        password=conn.get("password"),
        extra=json.dumps(conn["extra"]),
    ).get_uri()


def _store(conn_id: str, conn: dict[str, Any]) -> int:
    """Store the connection in the Airflow database, or in a private file when that fails."""
    try:
        _write_connection(conn_id, conn)
    except Exception as err:  # noqa: BLE001 - keep the approval: save it to a file instead
        fallback = Path.cwd() / f"{conn_id}.connection.json"
        fd = os.open(fallback, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump({conn_id: conn}, fh)
        print(
            f"Could not write connection {conn_id!r} to the Airflow database ({type(err).__name__}). "
            f"Saved it to {fallback} (mode 0600): load it with `airflow connections import {fallback}` "
            "and delete the file, or put it in a secrets backend.",
            file=sys.stderr,
        )
        return 1
    print(f"Stored connection {conn_id!r} in the Airflow database.", file=sys.stderr)
    return 0


def _write_connection(conn_id: str, conn: dict[str, Any]) -> None:
    """Create or update the connection in the Airflow metadata database."""
    from airflow.models.connection import Connection
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        row = session.scalar(select(Connection).where(Connection.conn_id == conn_id))
        if row is None:
            row = Connection(conn_id=conn_id)
            session.add(row)
        row.conn_type = conn["conn_type"]
        row.host = conn["host"]
        row.login = conn["login"]
        row.set_password(conn.get("password"))
        row.set_extra(json.dumps(conn["extra"]))
