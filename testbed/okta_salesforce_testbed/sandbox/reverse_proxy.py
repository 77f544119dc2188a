"""A TLS-terminating reverse proxy that exposes only allow-listed paths of an HTTP upstream.

It stands in for what a deployment puts in front of Airflow's API server so that Okta can
reach the Event Hook receiver: HTTPS with a certificate Okta trusts, and nothing but the hook's
path (``/okta-salesforce/event-hooks/okta``) reachable from outside. Every other path answers
``404`` without reaching the upstream. Served by
:class:`~okta_salesforce_testbed.sandbox.server.SandboxServer` with the sandbox CA::

    proxy = ReverseProxy("http://127.0.0.1:8080", ["/okta-salesforce/event-hooks/okta"])
    with SandboxServer(proxy, sandboxes.ca) as server:
        hook_url = server.url + "/okta-salesforce/event-hooks/okta"
"""

from __future__ import annotations

import http.client
from collections.abc import Iterable
from urllib.parse import urlencode, urlsplit

from okta_salesforce_testbed.sandbox.server import App, Request, Response

#: Request headers not passed on (hop-by-hop, or rewritten by the proxy).
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "upgrade", "host", "content-length"}


class ReverseProxy(App):
    """Forwards ``GET``/``POST`` on ``paths`` to ``upstream`` (an ``http://host:port`` base URL).

    :param upstream: where the API server listens (plain HTTP on loopback).
    :param paths: the exact paths reachable through the proxy.
    :param timeout: seconds to wait for the upstream.
    """

    name = "reverse-proxy"

    def __init__(self, upstream: str, paths: Iterable[str], *, timeout: float = 10.0) -> None:
        super().__init__()
        parts = urlsplit(upstream)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"upstream: expected http://host:port, got {upstream!r}")
        self.host, self.port = parts.hostname, parts.port or 80
        self.timeout = timeout
        for path in paths:
            for method in ("GET", "POST"):
                self.route(method, path, f"proxy.{method.lower()}")(self._forward)

    def _forward(self, request: Request) -> Response:
        target = request.path
        query = [(k, v) for k, values in request.query.items() for v in values]
        if query:
            target += "?" + urlencode(query)
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_BY_HOP}
        headers["X-Forwarded-Proto"] = "https"
        connection = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        try:
            connection.request(request.method, target, body=request.body or None, headers=headers)
            upstream = connection.getresponse()
            body = upstream.read()
            kept = {
                k: v
                for k, v in upstream.getheaders()
                if k.lower() not in _HOP_BY_HOP | {"content-type", "date", "server"}
            }
            content_type = upstream.getheader("Content-Type") or "application/octet-stream"
            return Response(upstream.status, body, headers=dict(kept), content_type=content_type)
        except OSError:
            return Response(502, {"error": "upstream unavailable"})
        finally:
            connection.close()
