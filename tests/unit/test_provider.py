"""The provider entry point: Airflow discovers the package and both connection types."""

from __future__ import annotations

import pytest

from okta_salesforce import get_provider_info

CONNECTION_TYPES = {"okta", "salesforce_oauth"}


@pytest.fixture(scope="module")
def providers_manager():
    from airflow.providers_manager import ProvidersManager

    return ProvidersManager()


def test_provider_info_declares_both_connection_types() -> None:
    info = get_provider_info()
    declared = {entry["connection-type"] for entry in info["connection-types"]}
    assert declared == CONNECTION_TYPES
    for entry in info["connection-types"]:
        assert entry["conn-fields"], entry["connection-type"]
        assert entry["ui-field-behaviour"]["relabeling"]["host"]


def test_providers_manager_discovers_the_package(providers_manager) -> None:
    provider = providers_manager.providers["airflow-provider-okta-salesforce"]
    assert provider.version == "0.1.0"


def test_providers_manager_registers_connection_types_with_forms(providers_manager) -> None:
    hooks = providers_manager.hooks
    assert set(hooks) >= CONNECTION_TYPES
    assert hooks["okta"].hook_class_name == "okta_salesforce.hooks.okta.OktaHook"
    assert hooks["salesforce_oauth"].hook_class_name == (
        "okta_salesforce.hooks.salesforce.SalesforceOAuthHook"
    )
    behaviours = providers_manager.field_behaviours
    assert behaviours["salesforce_oauth"]["relabeling"]["login"] == "Consumer key (client id)"
    assert behaviours["okta"]["relabeling"]["host"] == "Org URL"
    widgets = providers_manager.connection_form_widgets
    assert "extra__salesforce_oauth__refresh_token" in widgets
    assert "extra__okta__private_key" in widgets


def test_hook_classes_import_without_the_okta_sdk() -> None:
    import subprocess
    import sys

    code = (
        "import sys, okta_salesforce.hooks.okta, okta_salesforce.hooks.salesforce;"
        "print('okta' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
