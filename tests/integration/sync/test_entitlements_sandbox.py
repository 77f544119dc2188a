"""Entitlements, feature licenses, roles, profile changes and managers against the Salesforce sandbox."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
import yaml
from sync_sandbox_helpers import REPO

from okta_salesforce.sync.config import SyncConfig, parse_config
from okta_salesforce.sync.directory import read_salesforce
from okta_salesforce.sync.entitlement_writer import apply_entitlements, created_ids
from okta_salesforce.sync.models import ActionKind, OktaAssignment
from okta_salesforce.sync.plan import build_plan
from okta_salesforce.sync.writer import apply_plan
from okta_salesforce_testbed.sandbox.seed import SalesforceState
from seeded_people import person_assignment

pytestmark = pytest.mark.integration


def _config(**changes: Any) -> SyncConfig:
    data = yaml.safe_load((REPO / "include" / "okta_salesforce.yaml").read_text())
    mapping = changes.pop("mapping", {})
    data["mapping"].update(mapping)
    data.update(changes)
    return parse_config(data, source="test")


ENTITLEMENTS = {
    "permission_set_groups": [
        {"name": "Sales_Cloud_Users", "when": [{"attribute": "groups", "values": ["Sales"]}]},
    ],
    "permission_sets": [
        {"name": "Sales_Console", "when": [{"attribute": "groups", "values": ["Sales Console"]}]},
    ],
}


def _sync(sf, config, assignments, *, users=None):
    """Plan ``assignments`` (only they are read when ``users`` is given); write users, then entitlements."""
    # The seed deprovisions more than the guard allows: the admin's switch lets the param through.
    config = replace(config, guards=replace(config.guards, trust_allow_mass_deactivation_param=True))
    snapshot = read_salesforce(sf, config, assignments if users is not None else None)
    plan = build_plan(
        assignments,
        snapshot.users,
        config,
        users=users,
        directory=snapshot.directory,
        entitlements=snapshot.entitlements,
        allow_mass_deactivation=True,
    )
    outcomes = apply_plan(sf, plan, config, snapshot.directory)
    outcomes += apply_entitlements(
        sf, plan.actions, config, snapshot.directory, created=created_ids(outcomes)
    )
    return plan, outcomes


def _held(sb, user_id: str) -> set[str]:
    org = sb.salesforce_app.org
    names = set()
    for row in org.table("PermissionSetAssignment").values():
        if row["AssigneeId"] == user_id:
            group = org.table("PermissionSetGroup").get(row.get("PermissionSetGroupId") or "")
            names.add(
                group["DeveloperName"]
                if group
                else org.table("PermissionSet")[row["PermissionSetId"]]["Name"]
            )
    for row in org.table("PermissionSetLicenseAssign").values():
        if row["AssigneeId"] == user_id:
            names.add(org.table("PermissionSetLicense")[row["PermissionSetLicenseId"]]["DeveloperName"])
    return names


def _seller(sb):
    """An assigned, active Sales person holding the Sales_Cloud_Users group and Sales_Operations."""
    return next(
        p
        for p in sb.seed.people
        if p.department == "Sales"
        and p.assigned
        and p.salesforce is SalesforceState.ACTIVE
        and p.index % 6 == 0
    )


def test_moving_out_of_the_granting_group_removes_only_the_managed_assignment(sf_sandbox):
    sb, sf = sf_sandbox
    config = _config(entitlements=ENTITLEMENTS)
    person = _seller(sb)
    user_id = sb.salesforce_app.user(person.login.lower())["Id"]
    assert {"Sales_Cloud_Users", "Sales_Operations"} <= _held(sb, user_id)

    in_sales = replace(person_assignment(person), groups=("Sales",))
    plan, outcomes = _sync(sf, config, [in_sales], users=[person.login])
    assert [a for a in plan.actions if a.kind is ActionKind.ENTITLE] == []  # already in step

    moved = replace(person_assignment(person), groups=("Support", "Sales Console"))
    plan, outcomes = _sync(sf, config, [moved], users=[person.login])
    entitle = [a for a in plan.actions if a.kind is ActionKind.ENTITLE]
    assert len(entitle) == 1
    ops = [(e["op"], e["type"], e["name"]) for e in entitle[0].entitlements]
    assert ops == [
        ("assign", "permission_set_license", "SalesConsoleUser"),  # the license first
        ("assign", "permission_set", "Sales_Console"),
        ("remove", "permission_set_group", "Sales_Cloud_Users"),
    ]
    assert all(o.success for o in outcomes), outcomes
    held = _held(sb, user_id)
    assert "Sales_Cloud_Users" not in held
    assert {"Sales_Operations", "Sales_Console", "SalesConsoleUser"} <= held  # unmanaged stays

    # A rerun changes nothing; leaving "Sales Console" removes the set but keeps the unmanaged license.
    plan, outcomes = _sync(sf, config, [moved], users=[person.login])
    assert not [a for a in plan.actions if a.kind is ActionKind.ENTITLE]
    gone = replace(person_assignment(person), groups=())
    plan, outcomes = _sync(sf, config, [gone], users=[person.login])
    assert all(o.success for o in outcomes), outcomes
    assert _held(sb, user_id) & {"Sales_Console", "Sales_Cloud_Users"} == set()
    assert {"Sales_Operations", "SalesConsoleUser"} <= _held(sb, user_id)


def test_dry_run_plans_entitlements_and_writes_nothing(sf_sandbox):
    sb, sf = sf_sandbox
    config = _config(entitlements=ENTITLEMENTS)
    person = _seller(sb)
    user_id = sb.salesforce_app.user(person.login.lower())["Id"]
    moved = replace(person_assignment(person), groups=())
    snapshot = read_salesforce(sf, config, [moved])
    plan = build_plan(
        [moved],
        snapshot.users,
        config,
        users=[person.login],
        directory=snapshot.directory,
        entitlements=snapshot.entitlements,
    )
    outcomes = apply_entitlements(None, plan.actions, config, snapshot.directory, dry_run=True)
    assert [o.message for o in outcomes] == ["dry run: would remove permission set group Sales_Cloud_Users"]
    assert "Sales_Cloud_Users" in _held(sb, user_id)


def test_feature_licenses_are_set_on_create_and_update(sf_sandbox):
    sb, sf = sf_sandbox
    config = _config(
        mapping={
            "UserPermissionsMarketingUser": {
                "source": "lookup",
                "attribute": "department",
                "table": {"Marketing": True},
                "default": False,
            },
            "UserPermissionsSupportUser": {
                "source": "attribute",
                "attribute": "serviceCloud",
                "default": "false",
            },
        }
    )
    marketer = next(
        p
        for p in sb.seed.people
        if p.department == "Marketing" and p.assigned and p.salesforce is SalesforceState.ACTIVE
    )
    hire = OktaAssignment(
        okta_user_id="00unewhire0000000001",
        login="nora.new@acme.example.com",
        app_username="nora.new@acme.example.com",
        assignment_status="ACTIVE",
        scope="USER",
        user_status="ACTIVE",
        profile={
            "login": "nora.new@acme.example.com",
            "email": "nora.new@acme.example.com",
            "firstName": "Nora",
            "lastName": "New",
            "department": "Marketing",
            "serviceCloud": "true",
        },
    )
    assignments = [person_assignment(marketer), hire]
    plan, outcomes = _sync(sf, config, assignments, users=[marketer.login, hire.login])
    assert all(o.success for o in outcomes), outcomes
    created = sb.salesforce_app.user("nora.new@acme.example.com")
    assert created["UserPermissionsMarketingUser"] is True
    assert created["UserPermissionsSupportUser"] is True
    updated = sb.salesforce_app.user(marketer.login.lower())
    assert updated["UserPermissionsMarketingUser"] is True
    assert updated["UserPermissionsSupportUser"] is False
    update = next(a for a in plan.actions if a.login == marketer.login and a.kind is ActionKind.UPDATE)
    assert update.changes["UserPermissionsMarketingUser"] == {"old": False, "new": True}


def test_a_feature_license_the_org_does_not_describe_fails_the_plan(sf_sandbox):
    _sb, sf = sf_sandbox
    config = _config(mapping={"UserPermissionsKnowledgeUser": {"source": "constant", "value": True}})
    snapshot = read_salesforce(sf, config, [])
    directory = replace(
        snapshot.directory,
        user_fields={
            k: v for k, v in snapshot.directory.user_fields.items() if k != "UserPermissionsKnowledgeUser"
        },
    )
    with pytest.raises(
        ValueError, match=r"mapping\.UserPermissionsKnowledgeUser: the org.s User object has no field"
    ):
        build_plan([], [], config, users=[], directory=directory)


def _new_hire(name: str, **profile: Any) -> OktaAssignment:
    login = f"{name}@acme.example.com"
    return OktaAssignment(
        okta_user_id=f"00u{name:0>17}"[:20],
        login=login,
        app_username=login,
        assignment_status="ACTIVE",
        scope="USER",
        user_status="ACTIVE",
        profile={"login": login, "email": login, "firstName": name.title(), "lastName": "Hire", **profile},
    )


def test_a_manager_created_in_the_same_run_is_linked(sf_sandbox):
    sb, sf = sf_sandbox
    config = _config(mapping={"ManagerId": {"source": "attribute", "attribute": "managerId"}})
    existing = next(p for p in sb.seed.people if p.assigned and p.salesforce is SalesforceState.ACTIVE)
    boss = _new_hire("bossy", department="Sales")
    report = _new_hire("reporty", department="Sales", managerId=boss.login)
    by_id = _new_hire("otherreport", department="Sales", managerId=boss.okta_user_id)
    known = _new_hire("knownboss", department="Sales", managerId=existing.login)
    orphan = _new_hire("orphan", department="Sales", managerId="nobody@acme.example.com")
    assignments = [boss, report, by_id, known, orphan, person_assignment(existing)]
    plan, outcomes = _sync(sf, config, assignments, users=[a.login for a in assignments])

    app = sb.salesforce_app
    boss_id = app.user(boss.login)["Id"]
    assert app.user(report.login)["ManagerId"] == boss_id  # second pass
    assert app.user(by_id.login)["ManagerId"] == boss_id  # managerId holding the Okta user id
    assert app.user(known.login)["ManagerId"] == app.user(existing.login.lower())["Id"]  # with the create
    assert app.user(orphan.login) is not None
    assert app.user(orphan.login)["ManagerId"] is None
    error = next(a for a in plan.actions if a.login == orphan.login and a.kind is ActionKind.ERROR)
    assert error.errors[0].field == "ManagerId"
    assert "'nobody@acme.example.com' is not provisioned in Salesforce" in error.errors[0].message
    linked = next(o for o in outcomes if o.login == report.login and o.action == "entitle")
    assert linked.success
    assert linked.message == f"linked manager {boss.login}"

    # Next run: everyone in step, nothing planned for the managers.
    plan, _ = _sync(sf, config, assignments, users=[a.login for a in assignments])
    assert not [a for a in plan.actions if a.kind in (ActionKind.ENTITLE, ActionKind.UPDATE)], plan.actions


def test_a_changed_manager_updates_an_existing_user(sf_sandbox):
    sb, sf = sf_sandbox
    config = _config(mapping={"ManagerId": {"source": "attribute", "attribute": "managerId"}})
    first, second = [p for p in sb.seed.people if p.assigned and p.salesforce is SalesforceState.ACTIVE][:2]
    assignment = person_assignment(first, profile={"managerId": second.login})
    plan, outcomes = _sync(sf, config, [assignment], users=[first.login])
    update = next(a for a in plan.actions if a.kind is ActionKind.UPDATE)
    assert update.changes["ManagerId"] == {"old": None, "new": second.login}
    assert all(o.success for o in outcomes), outcomes
    app = sb.salesforce_app
    assert app.user(first.login.lower())["ManagerId"] == app.user(second.login.lower())["Id"]


def test_role_by_lookup_follows_the_department(sf_sandbox):
    sb, sf = sf_sandbox
    config = _config(
        mapping={
            "UserRoleId": {
                "source": "lookup",
                "attribute": "department",
                "table": {
                    "Sales": "Sales Representative",
                    "Marketing": "Marketing Team",
                    "Support": "Customer Support",
                },
            }
        }
    )
    person = _seller(sb)
    moved = person_assignment(person, profile={"department": "Marketing"})
    plan, outcomes = _sync(sf, config, [moved], users=[person.login])
    update = next(a for a in plan.actions if a.kind is ActionKind.UPDATE)
    assert update.changes["UserRoleId"] == {"old": "Sales Representative", "new": "Marketing Team"}
    assert all(o.success for o in outcomes), outcomes
    org = sb.salesforce_app.org
    role = org.table("UserRole")[sb.salesforce_app.user(person.login.lower())["UserRoleId"]]
    assert role["Name"] == "Marketing Team"
    unknown = person_assignment(person, profile={"department": "Support"})
    config = _config(
        mapping={"UserRoleId": {"source": "lookup", "attribute": "department", "table": {"Support": "Nope"}}}
    )
    plan, _ = _sync(sf, config, [unknown], users=[person.login])
    error = next(a for a in plan.actions if a.kind is ActionKind.ERROR)
    assert error.errors[0].field == "UserRoleId"
    assert "no UserRole named 'Nope'" in error.errors[0].message


def test_a_profile_change_needing_an_unavailable_license_fails_alone(sf_sandbox):
    """apply: always moves profiles; a move needing a license with no free seat, and a move Salesforce
    refuses (Standard to Chatter Free), are per-record errors while the rest of the batch lands."""
    sb, sf = sf_sandbox
    data = yaml.safe_load((REPO / "include" / "okta_salesforce.yaml").read_text())
    profile = dict(data["mapping"]["ProfileId"], apply="always")
    config = _config(mapping={"ProfileId": profile})
    active = [p for p in sb.seed.people if p.assigned and p.salesforce is SalesforceState.ACTIVE]
    engineer = next(p for p in active if p.department == "Engineering")  # Chatter Free
    sellers = [p for p in active if p.department == "Sales"][:2]  # Standard User
    # To Sales needs a Salesforce seat; to Marketing keeps the license; Standard -> CsnOnly is refused.
    to_sales = person_assignment(engineer, profile={"department": "Sales"})
    to_marketing = person_assignment(sellers[0], profile={"department": "Marketing"})
    to_engineering = person_assignment(sellers[1], profile={"department": "Engineering"})
    app = sb.salesforce_app
    with app.lock:  # the org has no Salesforce seat left
        for lic in app.org.table("UserLicense").values():
            if lic["Name"] == "Salesforce":
                lic["TotalLicenses"] = lic["UsedLicenses"]
    assignments = [to_sales, to_marketing, to_engineering]
    plan, outcomes = _sync(sf, config, assignments, users=[a.login for a in assignments])
    assert {a.login for a in plan.actions if a.kind is ActionKind.UPDATE} == {a.login for a in assignments}
    # Standard -> Chatter Free is refused at plan time (visible in a dry run); the department still moves.
    refused = next(a for a in plan.actions if a.kind is ActionKind.ERROR)
    assert refused.login == to_engineering.login
    assert refused.errors[0].field == "ProfileId"
    assert "from a Salesforce license down to Chatter Free" in refused.errors[0].message
    update = next(a for a in plan.actions if a.login == to_engineering.login and a.kind is ActionKind.UPDATE)
    assert "ProfileId" not in update.fields
    assert update.fields["Department"] == "Engineering"
    by_login = {(o.login, o.action): o for o in outcomes}
    assert by_login[to_marketing.login, "update"].success
    assert by_login[to_engineering.login, "update"].success
    assert not by_login[to_engineering.login, "error"].success
    # No free Salesforce seat: that record alone fails, per record, in the same batch.
    assert not by_login[to_sales.login, "update"].success
    assert by_login[to_sales.login, "update"].error_code == "LICENSE_LIMIT_EXCEEDED"
    profiles = {p["Id"]: p["Name"] for p in app.org.table("Profile").values()}
    assert profiles[app.user(sellers[0].login.lower())["ProfileId"]] == "Marketing User"
    assert profiles[app.user(engineer.login.lower())["ProfileId"]] == "Chatter Free User"
    assert profiles[app.user(sellers[1].login.lower())["ProfileId"]] == "Standard User"
    assert app.user(sellers[1].login.lower())["Department"] == "Engineering"


def test_the_sandbox_refuses_the_move_the_plan_refuses(sf_sandbox):
    """Without the plan-time check (a stale plan), Salesforce's own refusal is a per-record error."""
    sb, sf = sf_sandbox
    data = yaml.safe_load((REPO / "include" / "okta_salesforce.yaml").read_text())
    config = _config(mapping={"ProfileId": dict(data["mapping"]["ProfileId"], apply="always")})
    active = [p for p in sb.seed.people if p.assigned and p.salesforce is SalesforceState.ACTIVE]
    seller, other = [p for p in active if p.department == "Sales"][:2]
    snapshot = read_salesforce(sf, config, [person_assignment(seller), person_assignment(other)])
    moved = build_plan(
        [
            person_assignment(seller, profile={"department": "Engineering"}),
            person_assignment(other, profile={"title": "Boss"}),
        ],
        snapshot.users,
        config,
        users=[seller.login, other.login],
    )  # no directory: no plan-time check
    outcomes = {o.login: o for o in apply_plan(sf, moved, config, snapshot.directory)}
    assert outcomes[seller.login].error_code == "FIELD_INTEGRITY_EXCEPTION"
    assert "Standard to CSN Only" in outcomes[seller.login].message
    assert outcomes[other.login].success  # same batch
    assert [a.kind for a in moved.actions] == [ActionKind.UPDATE, ActionKind.UPDATE]


def test_the_complete_example_converges_on_a_full_run(sf_sandbox, monkeypatch):
    """include/examples/entitlements.yaml, Okta groups read in bulk from the Okta sandbox: the first
    full run lands every change, the second plans none."""
    from okta_salesforce.hooks.okta import OktaHook
    from okta_salesforce.hooks.okta_groups import GroupReader
    from okta_salesforce.sync.config import load_config
    from okta_salesforce.sync.entitlements_config import group_names

    sb, sf = sf_sandbox
    for key, value in sb.connection_env().items():
        monkeypatch.setenv(key, value)
    config = load_config(REPO / "include" / "examples" / "entitlements.yaml")
    with OktaHook() as hook:
        records = GroupReader(hook, group_names(config)).attach(
            hook.iter_assignments(config.okta_app_id), bulk=True
        )
        assignments = list(records)
    assert {g for a in assignments for g in a.groups} == {"Sales", "Support", "Engineering"}
    plan, outcomes = _sync(sf, config, assignments)
    summary = plan.summary()
    assert summary["entitle"] > 0, summary
    failed = [o for o in outcomes if not o.success]
    assert failed == [], failed[:5]
    plan, _ = _sync(sf, config, assignments)
    assert plan.writes == [], plan.writes[:5]
    # Every Sales person in Okta's Sales group holds the group; nobody else does.
    app = sb.salesforce_app
    holders = {
        row["AssigneeId"]
        for row in app.org.table("PermissionSetAssignment").values()
        if row.get("PermissionSetGroupId")
        and app.org.table("PermissionSetGroup")[row["PermissionSetGroupId"]]["DeveloperName"]
        == "Sales_Cloud_Users"
    }
    in_sales = {
        app.user(a.login.lower())["Id"]
        for a in assignments
        if "Sales" in a.groups and a.user_status == "ACTIVE"
    }
    assert in_sales <= holders
