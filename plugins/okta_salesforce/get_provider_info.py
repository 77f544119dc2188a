"""Provider metadata read by Airflow's ProvidersManager through the ``apache_airflow_provider`` entry point.

Kept free of heavy imports so that Airflow can read it without loading hooks or the okta SDK.
"""

from __future__ import annotations

from typing import Any

from okta_salesforce._version import __version__

_STR = {"type": ["string", "null"]}
#: A secret extra. Airflow 3.3 marks a conn-field sensitive (a password input, masked in the UI and
#: the API) when, and only when, its schema has ``"format": "password"``.
_SECRET = {"type": ["string", "null"], "format": "password"}


def get_provider_info() -> dict[str, Any]:
    """Describe the provider: its hooks, operators, and the two connection types with their UI forms."""
    return {
        "package-name": "airflow-provider-okta-salesforce",
        "name": "Okta to Salesforce",
        "description": "Keep Salesforce users in step with Okta app assignments.",
        "versions": [__version__],
        "integrations": [
            {"integration-name": "Okta", "external-doc-url": "https://developer.okta.com/docs/api/"},
            {
                "integration-name": "Salesforce OAuth",
                "external-doc-url": "https://help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_flows.htm",
            },
        ],
        "hooks": [
            {"integration-name": "Okta", "python-modules": ["okta_salesforce.hooks.okta"]},
            {"integration-name": "Salesforce OAuth", "python-modules": ["okta_salesforce.hooks.salesforce"]},
        ],
        "connection-types": [
            {
                "connection-type": "salesforce_oauth",
                "hook-class-name": "okta_salesforce.hooks.salesforce.SalesforceOAuthHook",
                "hook-name": "Salesforce (OAuth connected app)",
                "conn-fields": {
                    "auth_flow": {
                        "label": "OAuth flow",
                        "description": "refresh_token (authorize once), jwt_bearer or client_credentials",
                        "schema": {
                            "type": ["string", "null"],
                            "default": "refresh_token",
                            "enum": ["refresh_token", "jwt_bearer", "client_credentials"],
                        },
                    },
                    "refresh_token": {
                        "label": "Refresh token",
                        "description": (
                            "From `okta-salesforce authorize` (scopes api refresh_token offline_access)"
                        ),
                        "schema": _SECRET,
                    },
                    "username": {"label": "Username (JWT bearer)", "schema": _STR},
                    "private_key": {
                        "label": "Private key PEM (JWT bearer)",
                        "schema": _SECRET,
                    },
                    "api_version": {
                        "label": "API version",
                        "schema": {"type": ["string", "null"], "default": "62.0"},
                    },
                    "ca_bundle": {"label": "Extra trusted CA bundle (path)", "schema": _STR},
                    "instance_domains": {
                        "label": "Extra instance domains",
                        "description": (
                            "Private hosts or domains (comma separated) allowed as the token response's "
                            "instance_url besides Salesforce's own domains"
                        ),
                        "schema": _STR,
                    },
                },
                "ui-field-behaviour": {
                    "hidden-fields": ["schema", "port", "extra", "description"],
                    "relabeling": {
                        "host": "Login URL",
                        "login": "Consumer key (client id)",
                        "password": "Consumer secret",
                    },
                    "placeholders": {
                        "host": "https://login.salesforce.com, https://test.salesforce.com or https://acme.my.salesforce.com",
                        "login": "3MVG9...",
                        "password": "consumer secret of the connected app",
                        "api_version": "62.0",
                        "username": "integration@acme.com",
                    },
                },
            },
            {
                "connection-type": "okta",
                "hook-class-name": "okta_salesforce.hooks.okta.OktaHook",
                "hook-name": "Okta",
                "conn-fields": {
                    "auth_mode": {
                        "label": "Authentication",
                        "description": "api_token (SSWS) or private_key (OAuth 2.0 service app)",
                        "schema": {
                            "type": ["string", "null"],
                            "default": "api_token",
                            "enum": ["api_token", "private_key"],
                        },
                    },
                    "client_id": {"label": "Client ID (service app)", "schema": _STR},
                    "private_key": {
                        "label": "Private key PEM (service app)",
                        "schema": _SECRET,
                    },
                    "key_id": {"label": "Key ID (kid)", "schema": _STR},
                    "scopes": {
                        "label": "Scopes",
                        "schema": {
                            "type": ["string", "null"],
                            "default": "okta.apps.read okta.logs.read okta.users.read",
                        },
                    },
                    "ca_bundle": {"label": "Extra trusted CA bundle (path)", "schema": _STR},
                    "dpop": {
                        "label": "DPoP (service app requires proof of possession)",
                        "schema": {"type": ["boolean", "null"], "default": False},
                    },
                },
                "ui-field-behaviour": {
                    "hidden-fields": ["schema", "port", "login", "extra", "description"],
                    "relabeling": {"host": "Org URL", "password": "API token (SSWS)"},
                    "placeholders": {
                        "host": "https://acme.okta.com",
                        "password": "API token, when Authentication is api_token",
                        "client_id": "0oa...",
                    },
                },
            },
        ],
        "config": {
            "okta_salesforce": {
                "description": "Settings of the Okta to Salesforce provider.",
                "options": {
                    "config_path": {
                        "description": (
                            "Path of the sync config file (Okta app id, matching, field mapping, guards). "
                            "The environment variable OKTA_SALESFORCE_CONFIG wins over this option. "
                            "`okta-salesforce init DIR` writes a commented one and prints this setting."
                        ),
                        "version_added": "0.1.0",
                        "type": "string",
                        "example": "/opt/airflow/include/okta_salesforce.yaml",
                        "default": None,
                    },
                },
            },
        },
    }
