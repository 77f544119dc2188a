"""The Airflow plugin: registered by the package's entry point, cheap to load, mounts the receiver."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import entry_points

import pytest

from okta_salesforce.version_compat import AIRFLOW_V_3_3_PLUS


def test_the_package_registers_the_plugin_through_the_airflow_plugins_entry_point():
    [entry] = [e for e in entry_points(group="airflow.plugins") if e.name == "okta_salesforce"]

    assert entry.value == "okta_salesforce.plugin:OktaSalesforcePlugin"


@pytest.mark.skipif(
    not AIRFLOW_V_3_3_PLUS,
    reason="the Event Hook receiver is verified on Airflow 3.3 only (its ledger is in the Asset state store)",
)
def test_airflow_accepts_the_plugin_and_it_mounts_the_receiver_under_its_prefix():
    from airflow._shared.plugins_manager import is_valid_plugin

    from okta_salesforce.plugin import OktaSalesforcePlugin

    assert is_valid_plugin(OktaSalesforcePlugin)
    [app] = OktaSalesforcePlugin().fastapi_apps
    assert app["url_prefix"] == "/okta-salesforce"
    assert {route.path for route in app["app"].routes} >= {"/event-hooks/okta"}


def test_loading_the_plugin_does_not_import_fastapi_or_the_receiver():
    """Every Airflow component loads entry-point plugins; only the API server builds the app."""
    code = (
        "import sys; from okta_salesforce.plugin import OktaSalesforcePlugin; OktaSalesforcePlugin(); "
        "print(sorted(m for m in ('fastapi', 'okta_salesforce.event_hook.receiver') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
