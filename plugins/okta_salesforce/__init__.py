"""Keep Salesforce users in step with Okta app assignments, as an Airflow provider."""

from __future__ import annotations

from okta_salesforce._version import __version__
from okta_salesforce.get_provider_info import get_provider_info

__all__ = ["__version__", "get_provider_info"]
