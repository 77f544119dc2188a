"""A throwaway certificate authority for the sandboxes, built on ``trustme``.

Clients keep TLS verification on and trust the generated CA through the
connections' ``ca_bundle`` extra, exactly as they would trust a corporate CA.
"""

from __future__ import annotations

import ssl
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import trustme


@dataclass
class SandboxCA:
    """A CA generated at start and a server certificate for ``127.0.0.1`` and ``localhost``.

    :param directory: where the CA bundle (``ca.pem``) is written; a temporary
        directory when omitted.
    """

    directory: Path | None = None
    _ca: trustme.CA = field(init=False, repr=False)
    _server_cert: trustme.LeafCert = field(init=False, repr=False)
    ca_path: Path = field(init=False)

    def __post_init__(self) -> None:
        self._ca = trustme.CA(organization_name="okta-salesforce sandbox")
        self._server_cert = self._ca.issue_cert("127.0.0.1", "localhost", "::1")
        directory = Path(self.directory or tempfile.mkdtemp(prefix="okta-salesforce-ca-"))
        directory.mkdir(parents=True, exist_ok=True)
        self.ca_path = directory / "ca.pem"
        self._ca.cert_pem.write_to_path(str(self.ca_path))

    def server_context(self) -> ssl.SSLContext:
        """An SSL context for a sandbox server, presenting the leaf certificate."""
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self._server_cert.configure_cert(context)
        return context

    def client_context(self) -> ssl.SSLContext:
        """An SSL context that trusts only this CA (for tests and helpers)."""
        return ssl.create_default_context(cafile=str(self.ca_path))
