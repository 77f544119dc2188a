"""The profile attributes a config reads: a snapshot trimmed to them plans exactly like a whole one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from okta_salesforce.hooks.okta_records import assignment_from_app_user
from okta_salesforce.sync.config import SyncConfig, parse_config
from okta_salesforce.sync.mapping import Mapper, assignment_context
from okta_salesforce.sync.okta_attributes import profile_attributes
from okta_salesforce.sync.targets import load_targets

REPO = Path(__file__).resolve().parents[3]
CONFIGS = [REPO / "include" / "okta_salesforce.yaml", *sorted((REPO / "include" / "examples").glob("*.yaml"))]


def app_user(department: str, title: str) -> dict[str, Any]:
    profile = {
        "login": "ada@acme.example.com",
        "email": "ada@acme.example.com",
        "firstName": "Ada",
        "lastName": "Lovelace",
        "department": department,
        "title": title,
        "employeeNumber": "42",
        "timezone": "Europe/London",
        "locale": "en_GB",
        "managerId": "boss@acme.example.com",
        "costCenter": "CC-1",
        "nickName": "not read",
        "secondEmail": "not read",
        "mobilePhone": "+44 20 0000 0000",
    }
    return {
        "id": "00uada",
        "status": "ACTIVE",
        "scope": "USER",
        "credentials": {"userName": "ada@acme.example.com"},
        "profile": {"title": None, "costCenter": "CC-APP"},
        "_embedded": {"user": {"id": "00uada", "status": "ACTIVE", "profile": profile}},
    }


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
@pytest.mark.parametrize(("department", "title"), [("Sales", "Sales Manager"), ("Engineering", "Engineer")])
def test_a_trimmed_profile_maps_exactly_like_the_whole_one(path: Path, department: str, title: str) -> None:
    for config in load_targets(path):  # every target of a config with targets:
        _maps_alike(config, department, title)


def _maps_alike(config: SyncConfig, department: str, title: str) -> None:
    attributes = profile_attributes(config)
    assert attributes is not None
    whole = assignment_from_app_user(app_user(department, title))
    trimmed = assignment_from_app_user(app_user(department, title), attributes)
    assert whole is not None
    assert trimmed is not None
    assert set(trimmed.profile) < set(whole.profile)  # something was dropped...
    assert Mapper(config).map(trimmed) == Mapper(config).map(whole)  # ...that nothing reads
    context, full = assignment_context(trimmed), assignment_context(whole)
    assert {k: context.get(k) for k in attributes} == {k: full.get(k) for k in attributes}


def test_every_place_a_config_names_an_attribute_is_kept() -> None:
    raw = yaml.safe_load((REPO / "include" / "okta_salesforce.yaml").read_text(encoding="utf-8"))
    raw["mapping"]["Title"] = {"source": "expression", "template": "{{ title | upper }} ({{ costCenter }})"}
    raw["matching"].append({"salesforce": "EmployeeNumber", "okta": "employeeNumber"})
    raw["scope"]["filters"] = [{"attribute": "userType", "operator": "in", "values": ["Employee"]}]
    raw["permission_sets"] = [
        {"name": "PS", "when": [{"attribute": "division", "operator": "in", "values": ["X"]}]}
    ]
    attributes = profile_attributes(parse_config(raw))
    assert attributes is not None
    assert {"title", "costCenter", "employeeNumber", "userType", "division", "login"} <= attributes
    # Names the mapping takes from the assignment, not the profile, are not profile attributes.
    assert not {"app_username", "okta_user_id", "groups"} & attributes


def test_app_profile_values_win_and_nulls_never_hide_a_user_value() -> None:
    record = assignment_from_app_user(app_user("Sales", "Boss"), ["title", "costCenter", "absent"])
    assert record is not None
    assert record.profile == {"title": "Boss", "costCenter": "CC-APP", "login": "ada@acme.example.com"}
