"""``okta-salesforce authorize``: authorize a Salesforce connected app once and keep the connection.

The authorization-code flow with PKCE (S256) and ``state``, on a loopback redirect
``http://127.0.0.1:<port>/callback``: the admin logs in to Salesforce in a browser and approves the
app; the code is exchanged for a refresh token; the result is stored as the Airflow connection (in
the metadata database) or printed as connection JSON or URI for a secrets backend.

The redirect is received by a listener on 127.0.0.1 (``--listen HOST:PORT`` for a container whose
port is published), or pasted by the admin (``--no-listener``) on a machine without a browser; see
:mod:`okta_salesforce.authorize_callback`.

PKCE, ``state`` and the authorization URL come from oauthlib's ``WebApplicationClient`` (the engine
of requests-oauthlib). The code exchange goes through the hook's own token client instead of
``OAuth2Session.fetch_token``, which logs the request body and the tokens at DEBUG.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import secrets
import sys
import webbrowser
from pathlib import Path
from typing import TYPE_CHECKING, Any

from okta_salesforce.authorize_callback import (
    CALLBACK_PATH,
    AuthorizationFailed,
    CallbackListener,
    CallbackResult,
    read_pasted_redirect,
)
from okta_salesforce.hooks.salesforce_domains import UnsafeEndpointError, parse_domains
from okta_salesforce.hooks.salesforce_oauth import (
    PRODUCTION_LOGIN,
    SalesforceOAuthError,
    TokenEndpoint,
    TokenResponse,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

__all__ = ["AuthorizationFailed", "add_arguments", "authorize", "connection_dict", "connection_uri", "run"]

DEFAULT_CONN_ID = "salesforce_oauth_default"
DEFAULT_SCOPES = "api refresh_token offline_access"
FULL_SCOPES = "full refresh_token offline_access"
DEFAULT_PORT = 8765
LOOPBACK = "127.0.0.1"
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
        default=DEFAULT_PORT,
        help="loopback port of the callback; the app's callback URL must be http://127.0.0.1:<port>/callback",
    )
    parser.add_argument(
        "--listen",
        metavar="HOST:PORT",
        default=None,
        help="where the callback listener binds (default 127.0.0.1:<port>); in a container use "
        "0.0.0.0:PORT with the port published (docker compose run -p PORT:PORT ...)",
    )
    parser.add_argument(
        "--no-listener",
        action="store_true",
        help="listen for nothing: paste the address the browser was redirected to (no browser here)",
    )
    parser.add_argument(
        "--instance-domains",
        default=None,
        help="private hosts or domains allowed as instance_url besides Salesforce's (kept in the connection)",
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


def listen_address(listen: str | None, port: int) -> tuple[str, int]:
    """``--listen HOST:PORT`` (or ``[::1]:PORT``) as a pair; without it, loopback and ``port``."""
    if not listen:
        return LOOPBACK, port
    host, sep, port_text = listen.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise ValueError(f"--listen expects HOST:PORT (for example 0.0.0.0:{DEFAULT_PORT}), not {listen!r}")
    return host, int(port_text)


def run(
    args: argparse.Namespace,
    *,
    open_browser: Callable[[str], bool] | None = None,
    read_redirect: Callable[[str], str] = input,
) -> int:
    """Run the flow; return the process exit code.

    :param read_redirect: reads the pasted redirect address in ``--no-listener`` mode.
    """
    if not args.client_id:
        print("error: --client-id (or $SALESFORCE_CLIENT_ID) is required.", file=sys.stderr)
        return 2
    try:
        host, port = listen_address(args.listen, args.port)
        instance_domains = parse_domains(args.instance_domains)
    except (ValueError, UnsafeEndpointError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    client_secret = os.environ.get(CLIENT_SECRET_ENV) or getpass.getpass("Consumer secret: ")
    try:
        token = authorize(
            login_url=args.login_url,
            client_id=args.client_id,
            client_secret=client_secret,
            port=port,
            host=host,
            listener=not args.no_listener,
            scopes=FULL_SCOPES if args.full else DEFAULT_SCOPES,
            ca_bundle=args.ca_bundle,
            instance_domains=instance_domains,
            timeout=args.timeout,
            open_browser=(lambda _url: False) if args.no_browser else (open_browser or webbrowser.open),
            read_redirect=read_redirect,
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
        instance_domains=instance_domains,
    )
    print(f"Authorized: instance {token.instance_url}, scopes {token.scope or '?'}.", file=sys.stderr)
    if args.print_as == "json":
        print(json.dumps(conn))
    elif args.print_as == "uri":
        print(connection_uri(args.conn_id, conn))
    else:
        return _store(args.conn_id, conn)
    return 0


def authorize(
    *,
    login_url: str,
    client_id: str,
    client_secret: str | None,
    port: int = DEFAULT_PORT,
    host: str = LOOPBACK,
    listener: bool = True,
    scopes: str = DEFAULT_SCOPES,
    ca_bundle: str | None = None,
    instance_domains: Sequence[str] = (),
    timeout: float = 300.0,
    open_browser: Callable[[str], bool] = webbrowser.open,
    read_redirect: Callable[[str], str] = input,
) -> TokenResponse:
    """Do the browser leg and the code exchange; return the token response.

    :param host: the interface the callback listener binds to (the redirect URI stays 127.0.0.1).
    :param listener: ``False``: nothing listens, the admin pastes the redirected address instead.
    :param timeout: seconds to wait for the callback (listener mode).
    :param read_redirect: prompts for and returns the pasted address (``listener=False``).
    """
    import requests
    from oauthlib.oauth2 import WebApplicationClient

    from okta_salesforce.hooks.salesforce_session import mount_ca_bundle

    endpoint = TokenEndpoint(
        login_url=login_url,
        client_id=client_id,
        client_secret=client_secret,
        session=mount_ca_bundle(requests.Session(), ca_bundle),
        instance_domains=instance_domains,
    )
    oauth = WebApplicationClient(client_id)
    verifier = oauth.create_code_verifier(64)
    state = secrets.token_urlsafe(32)

    def authorization_url(redirect_uri: str) -> str:
        return oauth.prepare_request_uri(
            endpoint.authorize_url,
            redirect_uri=redirect_uri,
            scope=scopes,
            state=state,
            code_challenge=oauth.create_code_challenge(verifier, "S256"),
            code_challenge_method="S256",
        )

    if listener:
        with CallbackListener(host, port, state) as server:
            redirect_uri = f"http://{LOOPBACK}:{server.port}{CALLBACK_PATH}"
            url = authorization_url(redirect_uri)
            _announce(url, opened=open_browser(url), waiting=f"waiting on {redirect_uri}")
            if host not in (LOOPBACK, "localhost", "::1"):
                print(
                    f"(listening on {host}:{server.port}; only this run's state is accepted)", file=sys.stderr
                )
            result = server.wait(timeout)
        if result is None:
            raise AuthorizationFailed(f"No answer on {redirect_uri} within {timeout:.0f} s.")
    else:
        if not port:
            raise AuthorizationFailed("--no-listener needs a fixed --port: the callback URL names it.")
        redirect_uri = f"http://{LOOPBACK}:{port}{CALLBACK_PATH}"
        url = authorization_url(redirect_uri)
        _announce(url, opened=open_browser(url), waiting="nothing listens on the callback")
        result = read_pasted_redirect(redirect_uri, state, read_redirect)
    return _exchange(endpoint, result, redirect_uri=redirect_uri, verifier=verifier)


def _announce(url: str, *, opened: bool, waiting: str) -> None:
    print(
        f"{'A browser was opened on' if opened else 'Open'} this URL and log in to Salesforce as the "
        f"integration user ({waiting}, Ctrl+C to stop):\n\n  {url}\n",
        file=sys.stderr,
    )


def _exchange(
    endpoint: TokenEndpoint, result: CallbackResult, *, redirect_uri: str, verifier: str
) -> TokenResponse:
    if result.error or not result.code:
        raise AuthorizationFailed(result.error or "Salesforce sent no authorization code.")
    return endpoint.authorization_code(result.code, redirect_uri=redirect_uri, code_verifier=verifier)


def connection_dict(
    *,
    login_url: str,
    client_id: str,
    client_secret: str | None,
    refresh_token: str,
    api_version: str,
    ca_bundle: str | None = None,
    instance_domains: Sequence[str] = (),
) -> dict[str, Any]:
    """The ``salesforce_oauth`` connection in Airflow's JSON form."""
    extra: dict[str, Any] = {
        "auth_flow": "refresh_token",
        "refresh_token": refresh_token,
        "api_version": api_version,
    }
    if ca_bundle:
        extra["ca_bundle"] = ca_bundle
    if instance_domains:
        extra["instance_domains"] = ",".join(instance_domains)
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
        write_private_file(fallback, json.dumps({conn_id: conn}))
        print(
            f"Could not write connection {conn_id!r} to the Airflow database ({type(err).__name__}). "
            f"Saved it to {fallback} (mode 0600): load it with `airflow connections import {fallback}` "
            "and delete the file, or put it in a secrets backend.",
            file=sys.stderr,
        )
        return 1
    print(f"Stored connection {conn_id!r} in the Airflow database.", file=sys.stderr)
    return 0


def write_private_file(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` readable by this user only (``0600``), whatever was there before.

    The data goes to a new file created with ``O_CREAT | O_EXCL | O_NOFOLLOW`` and mode 0600 next
    to ``path``, which then replaces ``path`` atomically: an existing file keeps neither its content
    nor its mode, and a symlink at ``path`` is replaced itself, never written through.
    """
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(temporary, flags, 0o600)
    try:
        os.fchmod(fd, 0o600)  # exact, whatever the umask
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


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
