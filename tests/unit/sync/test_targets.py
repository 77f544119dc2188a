"""Several targets in one config: shared defaults, per-target names, errors naming target and key."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml
from sync_helpers import CONFIG_PATH

from okta_salesforce.escrow_store import escrow_key
from okta_salesforce.sync.config import ConfigError, load_config, parse_config
from okta_salesforce.sync.models import SalesforceUser
from okta_salesforce.sync.scoping import ManagedFilter
from okta_salesforce.sync.targets import TargetNames, load_targets, merge, parse_targets, target_names


@pytest.fixture
def shared() -> dict:
    """The shipped config as the shared defaults of a two-target config (no okta.app_id of its own)."""
    data = yaml.safe_load(CONFIG_PATH.read_text())
    del data["okta"]["app_id"]
    return data


def two_targets(shared: dict, **emea: object) -> dict:
    return {
        **shared,
        "targets": [
            {"name": "emea", "okta": {"app_id": "0oaemea", "conn_id": "okta_emea"}, **emea},
            {
                "name": "apac",
                "okta": {"app_id": "0oaapac"},
                "salesforce": {"conn_id": "salesforce_apac", "pool": "sf_apac"},
                "guards": {"max_deactivations": 3},
            },
        ],
    }


def test_targets_merge_over_the_shared_sections(shared: dict) -> None:
    emea, apac = parse_targets(two_targets(shared, mapping={"Title": {"source": "constant", "value": "X"}}))

    assert (emea.target, emea.okta_app_id, emea.okta_conn_id) == ("emea", "0oaemea", "okta_emea")
    assert emea.salesforce_conn_id == "salesforce_oauth_default"
    assert (apac.target, apac.okta_conn_id, apac.salesforce_conn_id) == (
        "apac",
        "okta_default",
        "salesforce_apac",
    )
    # A mapping merges key by key: emea changes Title only, and keeps every other shared field.
    assert emea.field("Title").value == "X"
    assert emea.field("ProfileId") == apac.field("ProfileId")
    assert apac.field("Title").attribute == "title"
    assert (emea.guards.max_deactivations, apac.guards.max_deactivations) == (25, 3)


def test_load_config_names_its_target(tmp_path: Path, shared: dict) -> None:
    path = tmp_path / "targets.yaml"
    path.write_text(yaml.safe_dump(two_targets(shared)))

    assert load_config(path, target="apac").okta_app_id == "0oaapac"
    assert [c.target for c in load_targets(path)] == ["emea", "apac"]
    with pytest.raises(ConfigError, match="no target was named; the config's targets are emea, apac"):
        load_config(path)
    with pytest.raises(ConfigError, match="no target 'amer'"):
        load_config(path, target="amer")


def test_a_config_without_targets_is_one_unnamed_target() -> None:
    (config,) = load_targets(CONFIG_PATH)
    assert config.target is None
    assert (config.okta_conn_id, config.salesforce_conn_id) == ("okta_default", "salesforce_oauth_default")
    with pytest.raises(ConfigError, match="no targets list"):
        load_config(CONFIG_PATH, target="emea")


def test_names_keep_todays_ids_without_targets_and_suffix_named_targets(shared: dict) -> None:
    (single,) = load_targets(CONFIG_PATH)
    names = target_names(single)
    assert (names.reconcile_dag_id, names.sync_dag_id, names.events_dag_id, names.approval_dag_id) == (
        "okta_salesforce_reconcile",
        "okta_salesforce_sync",
        "okta_salesforce_events",
        "okta_salesforce_deprovision_approval",
    )
    assert (
        names.escrow_key == escrow_key(single.okta_app_id) == "okta_salesforce_pending__0oasalesforceapp0001"
    )
    assert (names.pool, names.cursor_key, names.report_asset, names.label) == (
        "salesforce_api",
        "okta_salesforce_log_cursor",
        "okta_salesforce_user_report",
        "default",
    )

    emea, apac = (target_names(c) for c in parse_targets(two_targets(shared)))
    assert (emea.reconcile_dag_id, emea.sync_dag_id, emea.events_dag_id, emea.approval_dag_id) == (
        "okta_salesforce_reconcile__emea",
        "okta_salesforce_sync__emea",
        "okta_salesforce_events__emea",
        "okta_salesforce_deprovision_approval__emea",
    )
    assert emea.escrow_key == escrow_key("0oaemea", "emea") == "okta_salesforce_pending__emea"
    assert (emea.pool, apac.pool) == ("salesforce_api__emea", "sf_apac")
    assert (emea.cursor_key, emea.report_asset, emea.events_asset) == (
        "okta_salesforce_log_cursor__emea",
        "okta_salesforce_user_report__emea",
        "okta_salesforce_assignment_events__emea",
    )
    assert TargetNames("emea").label == "emea"


def test_every_problem_of_every_target_at_once_naming_target_and_key(shared: dict) -> None:
    data = two_targets(shared, mapping={"Department": {"source": "nope"}})
    data["targets"][1]["okta"] = {"conn_id": 5}
    data["targets"].append({"name": "Bad-Name"})
    data["targets"].append({"name": "emea", "okta": {"app_id": "x"}})
    data["targets"].append({"name": "default"})
    data["targets"].append("amer")

    with pytest.raises(ConfigError) as caught:
        parse_config(data)

    problems = caught.value.problems
    assert "targets.emea: mapping.Department.source: unknown source 'nope' (expected one of" in "\n".join(
        problems
    )
    assert "targets.apac: okta.app_id: is required" in problems
    assert "targets.apac: okta.conn_id: expected a string, got int" in problems
    assert any(p.startswith("targets[2].name: expected a lower-case name") for p in problems)
    assert "targets[3].name: 'emea' is already a target" in problems
    assert any(p.startswith("targets[4].name: 'default' is reserved") for p in problems)
    assert any(p.startswith("targets[5]: expected a mapping") for p in problems)


@pytest.mark.parametrize("targets", [None, [], "emea"])
def test_targets_must_be_a_non_empty_list(shared: dict, targets: object) -> None:
    with pytest.raises(ConfigError, match="targets: expected a non-empty list"):
        parse_config({**shared, "targets": targets})


def test_targets_sharing_a_salesforce_org_must_tell_their_users_apart(shared: dict) -> None:
    data = two_targets(shared)
    data["targets"][1]["salesforce"] = {}  # apac now writes to emea's org too
    with pytest.raises(ConfigError) as caught:
        parse_targets(data)
    assert [p.split(":")[0:2] for p in caught.value.problems] == [
        ["targets.emea", " managed.filters"],
        ["targets.apac", " managed.filters"],
    ]

    for entry, domain in zip(data["targets"], ("emea", "apac"), strict=True):
        pattern = rf"@{domain}\.example\.com$"
        entry["managed"] = {
            "filters": [{"attribute": "FederationIdentifier", "operator": "matches", "values": [pattern]}]
        }
    emea, apac = parse_targets(data)

    user = SalesforceUser(
        id="005x",
        username="a@emea.example.com",
        is_active=True,
        fields={
            "FederationIdentifier": "a@emea.example.com",
            "UserType": "Standard",
            "Profile.Name": "Standard User",
        },
    )
    assert ManagedFilter(emea.managed).reason(user) is None
    assert "managed.filters" in ManagedFilter(apac.managed).reason(user)


def test_managed_filters_name_salesforce_fields(shared: dict) -> None:
    data = copy.deepcopy(shared)
    data["okta"]["app_id"] = "0oa1"
    data["managed"]["filters"] = [{"attribute": "department", "values": ["Sales"]}]
    with pytest.raises(ConfigError, match=r"managed.filters\[0\].attribute: unknown User field 'department'"):
        parse_config(data)


def test_merge_replaces_each_key_of_a_section_whole_and_leaves_its_inputs_alone() -> None:
    shared = {"a": {"b": {"x": 1, "y": 2}, "c": 1}, "d": [1, 2], "e": "x"}
    merged = merge(shared, {"a": {"b": {"x": 3}}, "d": [3], "f": {"g": 1}})
    assert merged == {"a": {"b": {"x": 3}, "c": 1}, "d": [3], "e": "x", "f": {"g": 1}}
    assert shared == {"a": {"b": {"x": 1, "y": 2}, "c": 1}, "d": [1, 2], "e": "x"}


def test_the_documented_example_loads_and_is_the_one_in_the_docs() -> None:
    example = CONFIG_PATH.parent / "examples" / "targets.yaml"
    sales, emea, globex = load_targets(example)
    assert (sales.salesforce_pool, globex.salesforce_pool, target_names(emea).pool) == (
        "salesforce_production",
        "salesforce_production",
        "salesforce_api__emea",
    )
    assert (emea.field("TimeZoneSidKey").default, sales.field("TimeZoneSidKey").default) == (
        "Europe/London",
        "America/Los_Angeles",
    )
    assert globex.okta_conn_id == "okta_globex"
    docs = (CONFIG_PATH.parents[1] / "docs" / "configuration.md").read_text(encoding="utf-8")
    assert example.read_text(encoding="utf-8") in docs


def test_a_target_sharing_an_org_neither_touches_nor_creates_users_outside_its_filters(shared: dict) -> None:
    from sync_helpers import make_assignment

    from okta_salesforce.sync.managed_profiles import unmanaged_after_write
    from okta_salesforce.sync.models import ActionKind
    from okta_salesforce.sync.plan import build_plan

    data = {**shared, "okta": {"app_id": "0oa1"}, "managed": {**shared["managed"], **filters_on("globex")}}
    config = parse_config(data)
    ours, theirs = make_assignment("ann@globex.example.com"), make_assignment("bob@acme.example.com")

    def user(uid: str, login: str) -> SalesforceUser:
        fields = {
            "FederationIdentifier": login,
            "Email": login,
            "Profile.Name": "Standard User",
            "UserType": "Standard",
        }
        return SalesforceUser(id=uid, username=login, is_active=True, fields=fields)

    # acme's active user is not ours: neither deprovisioned (not assigned here) nor updated (matched).
    plan = build_plan(
        [ours], [user("005a", "ann@globex.example.com"), user("005b", "bob@acme.example.com")], config
    )
    assert {a.login: a.kind for a in plan.actions}.get("bob@acme.example.com") in (None, ActionKind.SKIP)
    plan = build_plan([theirs], [user("005b", "bob@acme.example.com")], config, users=[theirs.login])
    assert [a.kind for a in plan.actions] == [ActionKind.SKIP]

    # A create whose FederationIdentifier falls outside the filters is a per-record error.
    managed = ManagedFilter(config.managed)
    create = {"FederationIdentifier": "bob@acme.example.com", "ProfileId": "Standard User", "Username": "bob"}
    field, reason = unmanaged_after_write(create, {"Standard User": "Standard"}, managed)
    assert (field, "managed.filters" in reason) == ("FederationIdentifier", True)
    assert (
        unmanaged_after_write({**create, "FederationIdentifier": "ann@globex.example.com"}, {}, managed)
        is None
    )


def filters_on(company: str) -> dict:
    pattern = rf"@{company}\.example\.com$"
    return {"filters": [{"attribute": "FederationIdentifier", "operator": "matches", "values": [pattern]}]}
