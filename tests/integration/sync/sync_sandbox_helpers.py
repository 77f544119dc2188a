"""Helpers: a simple-salesforce client on the HTTPS Salesforce sandbox, Okta assignments for its company."""

from __future__ import annotations

from pathlib import Path

import requests
from simple_salesforce import Salesforce

from okta_salesforce.hooks.salesforce_session import mount_ca_bundle
from okta_salesforce_testbed.sandbox import Sandboxes

REPO = Path(__file__).resolve().parents[3]


def sandbox_client(sb: Sandboxes) -> Salesforce:
    session = requests.Session()
    mount_ca_bundle(session, str(sb.ca_path))
    creds = sb.seed.credentials
    token = session.post(
        f"{sb.salesforce.url}/services/oauth2/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": creds.salesforce_refresh_token,
            "client_id": creds.salesforce_client_id,
            "client_secret": creds.salesforce_client_secret,
        },
        timeout=30,
    )
    token.raise_for_status()
    body = token.json()
    return Salesforce(
        instance_url=body["instance_url"], session_id=body["access_token"], session=session, version="62.0"
    )
