"""The provider entry point: Airflow discovers the package and both connection types."""

from __future__ import annotations

import pytest

from okta_salesforce import __version__, get_provider_info
from okta_salesforce.version_compat import AIRFLOW_V_3_3_PLUS

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
    assert provider.version == __version__


def test_providers_manager_registers_both_hooks(providers_manager) -> None:
    hooks = providers_manager.hooks
    assert set(hooks) >= CONNECTION_TYPES
    assert hooks["okta"].hook_class_name == "okta_salesforce.hooks.okta.OktaHook"
    assert hooks["salesforce_oauth"].hook_class_name == (
        "okta_salesforce.hooks.salesforce.SalesforceOAuthHook"
    )


#: Connection forms from ``conn-fields`` (and their schema) are an Airflow 3.3 feature.
CONN_FIELDS = pytest.mark.skipif(
    not AIRFLOW_V_3_3_PLUS,
    reason="Airflow 3.1 draws connection forms from wtforms widgets (FAB provider), not conn-fields",
)


@CONN_FIELDS
def test_providers_manager_draws_both_connection_forms(providers_manager) -> None:
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


#: Every extra that holds a secret, per connection type (the password field is secret by itself).
SECRET_EXTRAS = {
    "salesforce_oauth": {"refresh_token", "private_key"},
    "okta": {"private_key"},
}


def _schema(name: str) -> dict:
    import json
    from pathlib import Path

    import airflow

    return json.loads((Path(airflow.__file__).parent / name).read_text(encoding="utf-8"))


def test_provider_info_validates_against_airflows_schemas() -> None:
    """provider_info.schema.json for the whole, provider.yaml's stricter schema for each connection type."""
    import jsonschema

    info = get_provider_info()
    jsonschema.validate(info, _schema("provider_info.schema.json"))
    yaml_schema = _schema("provider.yaml.schema.json")
    connection_types = {
        **yaml_schema,
        "properties": {"connection-types": yaml_schema["properties"]["connection-types"]},
    }
    connection_types.pop("required", None)
    jsonschema.validate({"connection-types": info["connection-types"]}, connection_types)


@CONN_FIELDS
def test_provider_yaml_schema_rejects_an_unknown_field_key() -> None:
    """The check above can fail: the old ``"sensitive": True`` key is not in provider.yaml's schema."""
    import jsonschema

    yaml_schema = _schema("provider.yaml.schema.json")
    item = yaml_schema["properties"]["connection-types"]["items"]
    field = {"label": "Refresh token", "schema": {"type": ["string", "null"]}, "sensitive": True}
    entry = {"connection-type": "x", "hook-class-name": "x.Y", "conn-fields": {"refresh_token": field}}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(entry, item)


@CONN_FIELDS
@pytest.mark.parametrize(
    ("conn_type", "field"), sorted((t, f) for t, fields in SECRET_EXTRAS.items() for f in fields)
)
def test_secret_extras_are_sensitive_in_the_form(providers_manager, conn_type: str, field: str) -> None:
    widget = providers_manager.connection_form_widgets[f"extra__{conn_type}__{field}"]
    assert widget.is_sensitive, f"{conn_type}.{field} would render as a plain text input"


@CONN_FIELDS
def test_only_secret_extras_are_sensitive(providers_manager) -> None:
    for entry in get_provider_info()["connection-types"]:
        conn_type = entry["connection-type"]
        for field in entry["conn-fields"]:
            widget = providers_manager.connection_form_widgets[f"extra__{conn_type}__{field}"]
            assert widget.is_sensitive == (field in SECRET_EXTRAS[conn_type]), (conn_type, field)
