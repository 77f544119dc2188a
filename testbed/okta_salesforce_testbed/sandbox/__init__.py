"""Local HTTPS emulators of the Okta Management API and the Salesforce REST API.

``Sandboxes`` starts both on ``127.0.0.1`` with one generated CA and a shared
:class:`~okta_salesforce_testbed.sandbox.seed.Seed`, and tells how to point the Airflow
connections at them::

    with Sandboxes(users=500) as sb:
        print(sb.okta.url, sb.salesforce.url, sb.ca_path)
        os.environ.update(sb.connection_env())
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from okta_salesforce_testbed.sandbox.seed import EMAIL_DOMAIN, Credentials, Scenario, Seed
from okta_salesforce_testbed.sandbox.server import SandboxServer
from okta_salesforce_testbed.sandbox.tls import SandboxCA

if TYPE_CHECKING:
    from okta_salesforce_testbed.sandbox.okta import OktaApp
    from okta_salesforce_testbed.sandbox.salesforce import SalesforceApp

__all__ = ["Credentials", "Sandboxes", "Scenario", "Seed"]


class Sandboxes:
    """Both sandboxes, started together.

    :param users: how many people the seeded company has.
    :param seed: random seed (the same seed gives the same company).
    :param scenario: shares of people in each situation (see :class:`Scenario`).
    :param latency: seconds each response is delayed (benchmarks use 0.02).
    :param directory: where the CA bundle and keys are written (a temp dir by default).
    :param okta_port: fixed port for the Okta sandbox (0 = any free port).
    :param salesforce_port: fixed port for the Salesforce sandbox (0 = any free port).
    :param email_domain: the domain of the company's logins (two sandboxes of different companies).
    """

    def __init__(
        self,
        *,
        users: int = 200,
        seed: int = 7,
        scenario: Scenario | None = None,
        latency: float = 0.0,
        directory: str | Path | None = None,
        okta_port: int = 0,
        salesforce_port: int = 0,
        email_domain: str = EMAIL_DOMAIN,
        **app_options: Any,
    ) -> None:
        from okta_salesforce_testbed.sandbox.okta import OktaApp
        from okta_salesforce_testbed.sandbox.salesforce import SalesforceApp

        self.directory = Path(directory or tempfile.mkdtemp(prefix="okta-salesforce-sandbox-"))
        self.directory.mkdir(parents=True, exist_ok=True)
        self.seed = Seed(users=users, seed=seed, scenario=scenario or Scenario(), email_domain=email_domain)
        self.ca = SandboxCA(self.directory)
        self.okta_app: OktaApp = OktaApp.from_seed(self.seed, directory=self.directory, **app_options)
        self.okta_app.hooks.ssl_context = self.ca.client_context()  # Event Hook receivers
        self.salesforce_app: SalesforceApp = SalesforceApp.from_seed(self.seed, directory=self.directory)
        self.okta = SandboxServer(self.okta_app, self.ca, port=okta_port, latency=latency)
        self.salesforce = SandboxServer(self.salesforce_app, self.ca, port=salesforce_port, latency=latency)
        self.okta_app.base_url = self.okta.url
        self.salesforce_app.base_url = self.salesforce.url

    @property
    def ca_path(self) -> Path:
        """The PEM bundle that clients must trust (the connections' ``ca_bundle``)."""
        return self.ca.ca_path

    def start(self) -> Sandboxes:
        self.okta.start()
        self.salesforce.start()
        return self

    def stop(self) -> None:
        self.okta.stop()
        self.salesforce.stop()

    def __enter__(self) -> Sandboxes:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def set_latency(self, seconds: float) -> None:
        self.okta.latency = self.salesforce.latency = seconds

    def reset_counters(self) -> None:
        self.okta.reset_counters()
        self.salesforce.reset_counters()

    # Connections ---------------------------------------------------------------
    def okta_connection(self, *, auth_mode: str = "api_token") -> dict[str, Any]:
        """The ``okta_default`` connection (Airflow JSON form) for this sandbox."""
        creds = self.seed.credentials
        extra: dict[str, Any] = {"ca_bundle": str(self.ca_path), "auth_mode": auth_mode}
        conn: dict[str, Any] = {"conn_type": "okta", "host": self.okta.url, "extra": extra}
        if auth_mode == "private_key":
            extra.update(
                client_id=creds.okta_client_id,
                key_id=creds.okta_key_id,
                private_key=self.okta_app.service_private_key_pem,
                scopes="okta.apps.read okta.groups.read okta.logs.read okta.users.read",
            )
        else:
            conn["password"] = creds.okta_api_token
        return conn

    def salesforce_connection(self, *, auth_flow: str = "refresh_token") -> dict[str, Any]:
        """The ``salesforce_oauth_default`` connection (Airflow JSON form) for this sandbox."""
        creds = self.seed.credentials
        extra: dict[str, Any] = {
            "auth_flow": auth_flow,
            "api_version": "62.0",
            "ca_bundle": str(self.ca_path),
            # The sandbox's instance_url is not a Salesforce domain: allow it by name, as a private
            # domain would be (the hook refuses any other instance_url).
            "instance_domains": urlsplit(self.salesforce.url).hostname or "",
        }
        if auth_flow == "refresh_token":
            extra["refresh_token"] = creds.salesforce_refresh_token
        elif auth_flow == "jwt_bearer":
            extra.update(
                username=creds.salesforce_username, private_key=self.salesforce_app.jwt_private_key_pem
            )
        return {
            "conn_type": "salesforce_oauth",
            "host": self.salesforce.url,
            "login": creds.salesforce_client_id,
            "password": creds.salesforce_client_secret,
            "extra": extra,
        }

    def connection_env(self, **kwargs: Any) -> dict[str, str]:
        """``AIRFLOW_CONN_*`` environment variables for both default connections."""
        return {
            "AIRFLOW_CONN_OKTA_DEFAULT": json.dumps(
                self.okta_connection(**{k: v for k, v in kwargs.items() if k == "auth_mode"})
            ),
            "AIRFLOW_CONN_SALESFORCE_OAUTH_DEFAULT": json.dumps(
                self.salesforce_connection(**{k: v for k, v in kwargs.items() if k == "auth_flow"})
            ),
        }
