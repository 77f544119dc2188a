"""The Airflow plugin of the provider: the Okta Event Hook receiver on the API server.

Registered through the ``airflow.plugins`` entry point of the installed distribution (Airflow
loads entry-point plugins in every component; nothing here is heavy to import). The FastAPI
app is built only when the API server asks for it, and mounted under ``/okta-salesforce``: the
endpoint Okta calls is ``https://<airflow>/okta-salesforce/event-hooks/okta``.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

from airflow.plugins_manager import AirflowPlugin

URL_PREFIX = "/okta-salesforce"


class OktaSalesforcePlugin(AirflowPlugin):
    """Adds the Okta Event Hook receiver (:mod:`okta_salesforce.event_hook.receiver`) to the API server."""

    name = "okta_salesforce"

    @cached_property
    def fastapi_apps(self) -> list[dict[str, Any]]:  # type: ignore[override]
        """The receiver app, built on first use (only the API server mounts it)."""
        from okta_salesforce.event_hook.receiver import create_app

        return [{"app": create_app(), "url_prefix": URL_PREFIX, "name": "Okta Event Hook receiver"}]
