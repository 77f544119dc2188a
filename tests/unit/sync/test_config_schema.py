"""The config's JSON Schema: committed as generated, and it accepts the configs we ship."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from okta_salesforce.sync.config_schema import config_schema, schema_text

REPO = Path(__file__).resolve().parents[3]
SCHEMA = REPO / "plugins" / "okta_salesforce" / "templates" / "okta_salesforce.schema.json"
SHIPPED = [
    REPO / "include" / "okta_salesforce.yaml",
    REPO / "plugins" / "okta_salesforce" / "templates" / "okta_salesforce.yaml",
    *sorted((REPO / "include" / "examples").glob("*.yaml")),
]


def test_the_committed_schema_is_the_generated_one():
    assert SCHEMA.read_text(encoding="utf-8") == schema_text(), (
        "the config models changed: regenerate the schema with\n"
        "  uv run python -m okta_salesforce.sync.config_schema > plugins/okta_salesforce/templates/"
        "okta_salesforce.schema.json"
    )


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_the_shipped_configs_validate(path: Path):
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator(json.loads(SCHEMA.read_text())).validate(data)


@pytest.mark.parametrize("path", SHIPPED[:2], ids=["include", "template"])
def test_the_config_files_point_editors_at_the_schema(path: Path):
    first = path.read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith("# yaml-language-server: $schema=")
    assert (path.parent / first.split("=", 1)[1]).resolve() == SCHEMA


@pytest.mark.parametrize(
    ("change", "where"),
    [
        ({"writer": {"batch_size": 500}}, ["writer", "batch_size"]),
        ({"deprovisioning": {"mode": "delete"}}, ["deprovisioning", "mode"]),
        ({"colour": "red"}, []),
        ({"mapping": {"Bogus": "title"}}, ["mapping"]),
        (
            {"mapping": {"Title": {"source": "attribute", "attribute": "title", "colour": 1}}},
            ["mapping", "Title"],
        ),
    ],
)
def test_an_editor_flags_what_the_loader_refuses(change: dict, where: list[str]):
    data = yaml.safe_load(SHIPPED[0].read_text(encoding="utf-8"))
    for key, value in change.items():
        data[key] = {**data[key], **value} if isinstance(data.get(key), dict) else value
    errors = list(jsonschema.Draft202012Validator(config_schema()).iter_errors(data))
    assert errors
    assert any(list(e.absolute_path)[: len(where)] == where for e in errors), [e.message for e in errors]


def test_an_editor_completes_user_fields_and_asks_for_the_required_ones():
    mapping = config_schema()["else"]["properties"]["mapping"]
    assert {"Title", "ProfileId", "UserPermissionsMarketingUser"} <= set(mapping["properties"])
    assert "IsActive" not in mapping["properties"]
    data = yaml.safe_load(SHIPPED[0].read_text(encoding="utf-8"))
    del data["mapping"]["LastName"]
    data["mapping"]["Region__c"] = "region"
    errors = list(jsonschema.Draft202012Validator(config_schema()).iter_errors(data))
    assert [e.message for e in errors] == ["'LastName' is a required property"]


def test_targets_need_a_name_and_nothing_else_the_loader_checks_after_merging():
    schema = jsonschema.Draft202012Validator(config_schema())
    shared = {"okta": {"groups": []}, "targets": [{"name": "emea", "mapping": {"Title": "title"}}]}
    assert list(schema.iter_errors(shared)) == []
    bad = {"targets": [{"mapping": {"Title": "title"}}, {"name": "Bad-Name", "colour": 1}]}
    assert sorted(list(e.absolute_path) for e in schema.iter_errors(bad)) == [
        ["targets", 0],
        ["targets", 1],
        ["targets", 1, "name"],
    ]
