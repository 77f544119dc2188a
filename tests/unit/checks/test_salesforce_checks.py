"""The pure parts of the Salesforce checks: names the config uses, scope verdicts."""

from __future__ import annotations

from pathlib import Path

from okta_salesforce.checks.salesforce import _scopes, referenced_names
from okta_salesforce.sync.config import load_config

REPO = Path(__file__).resolve().parents[3]


def test_referenced_names_cover_lookup_values_defaults_and_permission_sets() -> None:
    config = load_config(REPO / "include" / "okta_salesforce.yaml")
    names = referenced_names(config)
    assert names["Profile"] == {"Standard User", "Marketing User", "Chatter Free User"}
    assert names["UserRole"] == set()
    assert names["PermissionSet"] == {rule.name for rule in config.permission_sets}


def test_scopes_need_api_and_for_refresh_tokens_offline_access() -> None:
    assert all(f.ok for f in _scopes("sf", "refresh_token", "api refresh_token offline_access"))
    assert all(f.ok for f in _scopes("sf", "client_credentials", "full"))
    no_api = _scopes("sf", "jwt_bearer", "id web")
    assert [f.ok for f in no_api] == [False]
    assert "Manage user data via APIs (api)" in no_api[0].message
    no_refresh = _scopes("sf", "refresh_token", "api")
    assert [f.ok for f in no_refresh] == [False]
    assert "Perform requests at any time" in no_refresh[0].message
