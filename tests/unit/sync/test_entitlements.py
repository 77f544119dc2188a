"""Entitlement rules: config, Okta groups as input, and the planned assignments and removals."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
import yaml
from sync_helpers import CONFIG_PATH

from okta_salesforce.sync.config import ConfigError, SyncConfig, parse_config
from okta_salesforce.sync.entitlement_reader import CurrentEntitlements
from okta_salesforce.sync.entitlements import plan_entitlements
from okta_salesforce.sync.entitlements_config import EntitlementType, group_names
from okta_salesforce.sync.models import Action, ActionKind, DirectoryInfo, OktaAssignment

PS, PSG, PSL = EntitlementType


def _config(**changes: Any) -> SyncConfig:
    data = yaml.safe_load(CONFIG_PATH.read_text())
    data.update(changes)
    return parse_config(data, source="test")


CONFIG = _config(
    okta={"app_id": "0oa1", "groups": ["All Staff"]},
    entitlements={
        "permission_set_groups": [
            {"name": "Sales_Cloud", "when": [{"attribute": "groups", "values": ["Sales"]}]}
        ],
        "permission_sets": [
            {"name": "Console", "when": [{"attribute": "groups", "values": ["Console Users"]}]},
            {
                "name": "Reports",
                "when": [{"attribute": "title", "operator": "matches", "values": ["Manager"]}],
            },
        ],
        "permission_set_licenses": [
            {"name": "Scheduler", "when": [{"attribute": "department", "values": ["Support"]}]}
        ],
    },
)
DIRECTORY = DirectoryInfo(
    permission_sets={"Console": "0PS1", "Reports": "0PS2", "Unmanaged": "0PS3"},
    permission_set_groups={"Sales_Cloud": "0PG1"},
    permission_set_licenses={"ConsoleLicense": "0PL1", "Scheduler": "0PL2"},
    permission_set_license_needs={"Console": "ConsoleLicense"},
)


def _assignment(groups: tuple[str, ...] = (), **profile: Any) -> OktaAssignment:
    return OktaAssignment(
        okta_user_id="00u1",
        login="ada@acme.example.com",
        app_username="ada@acme.example.com",
        assignment_status="ACTIVE",
        scope="USER",
        user_status="ACTIVE",
        profile={"department": "Sales", "title": "Rep", **profile},
        groups=groups,
    )


def _target(kind: ActionKind = ActionKind.SKIP, salesforce_id: str | None = "005A") -> Action:
    reason = "in sync" if kind is ActionKind.SKIP else "x"
    return Action(kind=kind, login="ada@acme.example.com", salesforce_id=salesforce_id, reason=reason)


def _plan(assignment: OktaAssignment, held: dict, target: Action | None = None) -> list[Action]:
    current = CurrentEntitlements({"005A": held}) if held else CurrentEntitlements()
    return plan_entitlements([target or _target()], [assignment], CONFIG, DIRECTORY, current)


def _ops(actions: list[Action]) -> list[tuple[str, str, str]]:
    [entitle] = [a for a in actions if a.kind is ActionKind.ENTITLE]
    return [(e["op"], e["type"], e["name"]) for e in entitle.entitlements]


def test_config_reads_rules_and_groups() -> None:
    assert CONFIG.entitlements.managed(PS) == ("Console", "Reports")
    assert CONFIG.okta_groups == ("All Staff",)
    assert group_names(CONFIG) == ("All Staff", "Console Users", "Sales")


def test_config_errors_name_the_key() -> None:
    with pytest.raises(ConfigError) as err:
        _config(
            entitlements={"permission_set_groups": [{"when": []}], "roles": []},
            permission_sets=[{"name": "Console"}],
        )
    problems = "\n".join(err.value.problems)
    assert "entitlements.permission_set_groups[0].name: is required" in problems
    assert "entitlements.roles: unknown key" in problems


def test_a_permission_set_both_granted_only_and_managed_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"permission_sets\[0\]\.name: 'Console' is also managed"):
        _config(
            entitlements={"permission_sets": [{"name": "Console"}]},
            permission_sets=[{"name": "Console"}],
        )


def test_feature_licenses_are_mappable_booleans() -> None:
    data = yaml.safe_load(CONFIG_PATH.read_text())
    data["mapping"]["UserPermissionsSupportUser"] = {"source": "attribute", "attribute": "serviceCloud"}
    config = parse_config(data)
    from okta_salesforce.sync.mapping import Mapper

    mapper = Mapper(config)
    values = {True: True, "yes": True, "FALSE": False, "0": False}
    for raw, expected in values.items():
        mapped = mapper.map(_assignment(serviceCloud=raw))
        assert mapped.values["UserPermissionsSupportUser"] is expected
    bad = mapper.map(_assignment(serviceCloud="maybe"))
    assert [(e.field, e.message) for e in bad.errors] == [
        ("UserPermissionsSupportUser", "'maybe' is not true or false")
    ]


def test_groups_drive_the_rules_and_in_sync_users_get_nothing() -> None:
    held = {(PSG, "Sales_Cloud"): "0Pa1"}
    assert [a.kind for a in _plan(_assignment(("Sales",)), held)] == [ActionKind.SKIP]


def test_leaving_the_group_removes_only_managed_assignments() -> None:
    held = {(PSG, "Sales_Cloud"): "0Pa1", (PS, "Unmanaged"): "0Pa2"}
    actions = _plan(_assignment(("Support",)), held)
    assert _ops(actions) == [("remove", "permission_set_group", "Sales_Cloud")]
    [entitle] = [a for a in actions if a.kind is ActionKind.ENTITLE]
    assert entitle.entitlements[0]["id"] == "0Pa1"
    assert entitle.salesforce_id == "005A"
    assert entitle.changes == {"permission_set_group Sales_Cloud": {"old": True, "new": False}}


def test_a_permission_set_needing_a_license_gets_the_license_first() -> None:
    actions = _plan(_assignment(("Console Users",), title="Sales Manager"), {})
    assert _ops(actions) == [
        ("assign", "permission_set_license", "ConsoleLicense"),
        ("assign", "permission_set", "Console"),
        ("assign", "permission_set", "Reports"),
    ]
    [entitle] = [a for a in actions if a.kind is ActionKind.ENTITLE]
    assert "needed by permission set Console" in entitle.reason


def test_a_managed_license_a_kept_permission_set_needs_is_not_removed() -> None:
    config = _config(
        entitlements={
            "permission_sets": [{"name": "Console"}],
            "permission_set_licenses": [
                {"name": "ConsoleLicense", "when": [{"attribute": "title", "values": ["x"]}]}
            ],
        }
    )
    held = {(PS, "Console"): "0Pa1", (PSL, "ConsoleLicense"): "2LA1"}
    current = CurrentEntitlements({"005A": held})
    actions = plan_entitlements([_target()], [_assignment()], config, DIRECTORY, current)
    assert [a.kind for a in actions] == [ActionKind.SKIP]


def test_creates_get_their_entitlements_without_an_id_and_errors_do_not() -> None:
    create = _target(ActionKind.CREATE, salesforce_id=None)
    actions = _plan(_assignment(("Sales",)), {}, create)
    [entitle] = [a for a in actions if a.kind is ActionKind.ENTITLE]
    assert entitle.salesforce_id is None
    assert _ops(actions) == [("assign", "permission_set_group", "Sales_Cloud")]
    error = Action(kind=ActionKind.ERROR, login="ada@acme.example.com", reason="bad")
    current = CurrentEntitlements()
    assert plan_entitlements([create, error], [_assignment(("Sales",))], CONFIG, DIRECTORY, current) == [
        create,
        error,
    ]


@pytest.mark.parametrize("kind", [ActionKind.DEACTIVATE, ActionKind.FREEZE])
def test_deprovisioned_users_keep_their_entitlements(kind: ActionKind) -> None:
    target = replace(_target(), kind=kind)
    held = {(PSG, "Sales_Cloud"): "0Pa1"}
    assert _plan(_assignment(()), held, target) == [target]


def test_a_granted_name_the_org_lacks_is_a_per_record_error() -> None:
    directory = replace(DIRECTORY, permission_set_groups={})
    held = {(PS, "Reports"): "0Pa9"}
    current = CurrentEntitlements({"005A": held})
    actions = plan_entitlements([_target()], [_assignment(("Sales",))], CONFIG, directory, current)
    [error] = [a for a in actions if a.kind is ActionKind.ERROR]
    assert error.errors[0].field == "entitlements.permission_set_groups"
    assert "no PermissionSetGroup named 'Sales_Cloud'" in error.errors[0].message
    assert _ops(actions) == [("remove", "permission_set", "Reports")]  # the rest still lands
