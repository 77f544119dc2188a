"""Config loading: the shipped file, the env override, and errors that name the bad key."""

from __future__ import annotations

import copy
from dataclasses import replace
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError
from sync_helpers import CONFIG_PATH

from okta_salesforce.sync.config import (
    Apply,
    ConfigError,
    DeprovisioningMode,
    Source,
    load_config,
    parse_config,
)
from okta_salesforce_testbed.sandbox.seed import DEFAULT_PROFILE, DEPARTMENT_PROFILES


@pytest.fixture
def raw() -> dict:
    return yaml.safe_load(CONFIG_PATH.read_text())


def test_shipped_config_mirrors_the_workflows_template(config):
    profile = config.field("ProfileId")
    assert profile.source is Source.LOOKUP
    assert profile.apply is Apply.ON_CREATE
    assert dict(profile.table) == {k.casefold(): v for k, v in DEPARTMENT_PROFILES.items()}
    assert profile.default == DEFAULT_PROFILE
    assert config.field("TimeZoneSidKey").default == "America/Los_Angeles"
    assert config.field("LocaleSidKey").default == "en_US"
    assert config.field("EmailEncodingKey").value == "UTF-8"
    assert config.field("LanguageLocaleKey").value == "en_US"
    assert config.field("Username").attribute == "app_username"
    assert config.field("FederationIdentifier").attribute == "login"
    assert [r.salesforce for r in config.matching] == ["FederationIdentifier", "Username", "Email"]
    assert config.okta_app_id == "0oasalesforceapp0001"
    assert config.deprovisioning.mode is DeprovisioningMode.DEACTIVATE
    assert config.guards.max_deactivations == 25
    assert config.guards.max_deactivation_ratio == pytest.approx(0.10)


def test_case_rules_default_per_field(config):
    rules = {r.salesforce: r.case_sensitive for r in config.matching}
    assert rules == {"FederationIdentifier": True, "Username": False, "Email": False}


def test_env_var_overrides_the_path(tmp_path: Path, monkeypatch, raw):
    raw["okta"]["app_id"] = "0oaother"
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(raw))
    monkeypatch.setenv("OKTA_SALESFORCE_CONFIG", str(path))
    assert load_config().okta_app_id == "0oaother"


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (
            lambda r: r["mapping"]["Department"].update(source="foo"),
            "mapping.Department.source: unknown source 'foo'",
        ),
        (lambda r: r["mapping"].pop("LastName"), "mapping.LastName: is required"),
        (
            lambda r: r["mapping"].update(Bogus={"source": "constant", "value": 1}),
            "mapping.Bogus: unknown User field",
        ),
        (lambda r: r["mapping"].update(IsActive={"source": "constant", "value": True}), "mapping.IsActive:"),
        (
            lambda r: r["mapping"].update(Title={"source": "expression", "template": "{{ firstName "}),
            "mapping.Title.template: template syntax error",
        ),
        (
            lambda r: r["mapping"]["ProfileId"].update(table={}),
            "mapping.ProfileId.table: expected a non-empty mapping",
        ),
        (
            lambda r: r["mapping"]["Title"].update(apply="sometimes"),
            "mapping.Title.apply: unknown apply mode",
        ),
        (lambda r: r["mapping"]["Title"].update(colour="red"), "mapping.Title.colour: unknown key"),
        (
            lambda r: (
                r["mapping"]["Alias"].update(source="generated")
                or r["mapping"].update(Title={"source": "generated"})
            ),
            "mapping.Title.source: 'generated' is only available",
        ),
        (lambda r: r["deprovisioning"].update(mode="delete"), "deprovisioning.mode: unknown mode 'delete'"),
        (
            lambda r: r["guards"].update(max_deactivation_ratio=2),
            "guards.max_deactivation_ratio: must be between",
        ),
        (
            lambda r: r["guards"].update(max_deactivations="many"),
            "guards.max_deactivations: expected an integer",
        ),
        (lambda r: r["writer"].update(batch_size=500), "writer.batch_size: must be between 1 and 200"),
        (
            lambda r: r["matching"].append({"salesforce": "Nope", "okta": "x"}),
            "matching[3].salesforce: unknown User",
        ),
        (lambda r: r.pop("matching"), "matching: is required"),
        (lambda r: r["okta"].pop("app_id"), "okta.app_id: is required"),
        (lambda r: r.update(extra=1), "extra: unknown key"),
        (
            lambda r: r["scope"].update(
                filters=[{"attribute": "department", "operator": "matches", "values": ["("]}]
            ),
            "scope.filters[0].values[0]: invalid regular expression",
        ),
        (
            lambda r: r["managed"].update(exclude_profiles=[{"a": 1}]),
            "managed.exclude_profiles[0]: expected a string",
        ),
    ],
)
def test_errors_name_the_key_path(raw, mutate, expected):
    data = copy.deepcopy(raw)
    mutate(data)
    with pytest.raises(ConfigError) as info:
        parse_config(data, source="test.yaml")
    assert any(p.startswith(expected) for p in info.value.problems), info.value.problems
    assert "test.yaml" in str(info.value)


def test_all_problems_are_reported_at_once(raw):
    raw["mapping"]["Department"]["source"] = "foo"
    raw["deprovisioning"]["mode"] = "delete"
    with pytest.raises(ConfigError) as info:
        parse_config(raw)
    assert len(info.value.problems) == 2


def test_invalid_yaml_and_empty_file(tmp_path: Path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("mapping: [unclosed")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad)
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    with pytest.raises(ConfigError, match="empty configuration"):
        load_config(empty)


def test_string_shorthand_is_an_attribute(raw):
    raw["mapping"]["Title"] = "title"
    config = parse_config(raw)
    assert config.field("Title").source is Source.ATTRIBUTE
    assert config.field("Title").attribute == "title"


def test_null_guard_disables_it(raw):
    raw["guards"]["max_deactivations"] = None
    assert parse_config(raw).guards.max_deactivations is None


def test_guard_defaults_keep_the_param_untrusted_and_plans_two_hours(config):
    assert config.guards.trust_allow_mass_deactivation_param is False
    assert config.guards.max_plan_age_minutes == 120
    assert config.guards.approval.assigned_users == ()
    assert config.guards.approval.notify_conn_id is None


def test_approval_settings(raw):
    raw["guards"].update(
        trust_allow_mass_deactivation_param=True,
        max_plan_age_minutes=30,
        approval={
            "assigned_users": [{"id": "ada", "name": "Ada Admin"}, "bob"],
            "notify_conn_id": "okta_salesforce_alerts",
            "notify_format": "teams",
        },
    )
    guards = parse_config(raw).guards
    assert guards.trust_allow_mass_deactivation_param is True
    assert guards.max_plan_age.total_seconds() == 1800
    assert guards.approval.assigned_users == (
        {"id": "ada", "name": "Ada Admin"},
        {"id": "bob", "name": "bob"},
    )
    assert (guards.approval.notify_conn_id, guards.approval.notify_format) == (
        "okta_salesforce_alerts",
        "teams",
    )


def test_bad_approval_settings_name_the_key(raw):
    raw["guards"].update(
        trust_allow_mass_deactivation_param="yes",
        max_plan_age_minutes=0,
        approval={"assigned_users": [{"name": "no id"}], "notify": "x"},
    )
    with pytest.raises(ConfigError) as error:
        parse_config(raw, source="test.yaml")
    text = str(error.value)
    assert "guards.trust_allow_mass_deactivation_param: expected true or false" in text
    assert "guards.max_plan_age_minutes: must be at least 1" in text
    assert "guards.approval.assigned_users[0].id: is required" in text
    assert "guards.approval.notify: unknown key" in text


def test_every_section_reports_its_problems_in_one_error(raw):
    raw["okta"]["groups"] = 3
    raw["scope"]["user_statuses"] = {"a": 1}
    raw["managed"]["adopt_unlinked"] = "yes"
    raw["matching"][0]["okta"] = ""
    raw["mapping"]["Title"] = {"source": "expression", "template": "{{ x ", "apply": "sometimes"}
    raw["guards"]["api_budget_share"] = -1
    raw["writer"] = {"retries": True}
    raw["failures"] = {"quarantine_after": 1.5}
    raw["tasks"] = []
    raw["entitlements"] = {"permission_sets": [{"name": "X", "when": [{"attribute": "a", "operator": "in"}]}]}
    with pytest.raises(ConfigError) as info:
        parse_config(raw)
    assert sorted(info.value.problems) == sorted(
        [
            "okta.groups: expected a list, got int",
            "scope.user_statuses: expected a list, got a mapping",
            "managed.adopt_unlinked: expected true or false, got a string",
            "matching[0].okta: expected a non-empty string",
            "mapping.Title.template: template syntax error: unexpected end of template, "
            "expected 'end of print statement'.",
            "mapping.Title.apply: unknown apply mode 'sometimes' (expected one of 'always' or 'on_create')",
            "guards.api_budget_share: must be between 0 and 1, got -1",
            "writer.retries: expected an integer, got a boolean",
            "failures.quarantine_after: expected an integer, got float",
            "tasks: expected a mapping, got a list",
            "entitlements.permission_sets[0].when[0].values: operator 'in' needs at least one value",
        ]
    )


def test_a_section_left_empty_keeps_its_defaults(raw):
    raw.update(writer=None, failures=None, notifications=None)
    raw["scope"]["filters"] = None
    raw["guards"]["approval"] = None
    config = parse_config(raw)
    assert config.writer.batch_size == 200
    assert config.failures.quarantine_after == 5
    assert config.notifications.on_failure == ()
    assert config.scope.filters == ()
    assert config.guards.approval.assigned_users == ()


def test_unknown_keys_list_the_keys_of_their_section(raw):
    raw["writer"] = {"batchsize": 10}
    with pytest.raises(ConfigError) as info:
        parse_config(raw)
    assert info.value.problems == [
        "writer.batchsize: unknown key (expected one of batch_size, max_retry_backoff_seconds, retries, "
        "retry_backoff_seconds, timeout_seconds)"
    ]


def test_a_changed_copy_is_validated_like_the_file(config):
    frozen = replace(config.deprovisioning, mode="freeze")
    assert frozen.mode is DeprovisioningMode.FREEZE
    with pytest.raises(ValidationError):
        replace(config.writer, batch_size=500)
    assert replace(config, source="other.yaml").mapping == config.mapping
