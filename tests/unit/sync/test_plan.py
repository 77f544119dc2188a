"""The plan: one action per user with its reason, only changed fields, guards, convergence."""

from __future__ import annotations

import json
import time
from dataclasses import replace

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sync_helpers import CONFIG_PATH, make_assignment

from okta_salesforce.sync.config import parse_config
from okta_salesforce.sync.directory import read_salesforce
from okta_salesforce.sync.models import ActionKind, Plan, SalesforceUser
from okta_salesforce.sync.plan import build_plan
from okta_salesforce.sync.writer import apply_plan
from okta_salesforce_testbed.sandbox.seed import SalesforceState, Scenario
from seeded_people import person_assignment


def _sf(uid: str, username: str, *, active: bool = True, frozen: bool = False, **fields) -> SalesforceUser:
    base = {
        "FederationIdentifier": username,
        "Email": username,
        "Profile.Name": "Standard User",
        "UserType": "Standard",
    }
    base.update(fields)
    return SalesforceUser(id=uid, username=username, is_active=active, fields=base, is_frozen=frozen)


def _kinds(plan: Plan) -> dict[str, str]:
    return {a.login: str(a.kind) for a in plan.actions}


def _in_sync_fields(assignment) -> dict:
    p = assignment.profile
    return {
        "FirstName": p["firstName"],
        "LastName": p["lastName"],
        "Department": p["department"],
        "Title": p["title"],
        "EmployeeNumber": p["employeeNumber"],
    }


def test_each_kind(config):
    names = ("keep", "stale", "inactive", "frozen", "new", "leaver")
    keep, stale, inactive, frozen, new, leaver = (make_assignment(f"{n}.x@acme.example.com") for n in names)
    users = [
        _sf("005a", keep.login, **_in_sync_fields(keep)),
        _sf("005b", stale.login, **{**_in_sync_fields(stale), "Title": "Old title"}),
        _sf("005c", inactive.login, active=False, **_in_sync_fields(inactive)),
        _sf("005d", frozen.login, frozen=True, **_in_sync_fields(frozen)),
        _sf("005e", leaver.login, **_in_sync_fields(leaver)),
    ]
    plan = build_plan([keep, stale, inactive, frozen, new], users, config, allow_mass_deactivation=True)
    assert _kinds(plan) == {
        keep.login: "skip",
        stale.login: "update",
        inactive.login: "activate",
        frozen.login: "unfreeze",
        new.login: "create",
        leaver.login: "deactivate",
    }
    update = next(a for a in plan.actions if a.kind is ActionKind.UPDATE)
    assert update.fields == {"Title": "Account Executive"}
    assert update.changes == {"Title": {"old": "Old title", "new": "Account Executive"}}
    activate = next(a for a in plan.actions if a.kind is ActionKind.ACTIVATE)
    assert activate.fields == {"IsActive": True}
    create = next(a for a in plan.actions if a.kind is ActionKind.CREATE)
    assert create.fields["ProfileId"] == "Standard User"
    assert len(create.fields["Alias"]) <= 8
    assert plan.summary()["create"] == 1


def test_freeze_mode(config):
    leaver = _sf("005e", "leaver@acme.example.com")
    frozen_config = replace(config, deprovisioning=replace(config.deprovisioning, mode="freeze"))
    plan = build_plan([], [leaver], frozen_config, allow_mass_deactivation=True)
    assert [a.kind for a in plan.actions] == [ActionKind.FREEZE]
    already = build_plan([], [replace(leaver, is_frozen=True)], frozen_config, allow_mass_deactivation=True)
    assert [a.kind for a in already.actions] == [ActionKind.SKIP]
    assert "already frozen" in already.actions[0].reason


def test_unmanaged_users_are_never_touched(config):
    admin = _sf("005x", "admin@acme.example.com", **{"Profile.Name": "System Administrator"})
    integration = _sf("005y", "integration@acme.example.com", FederationIdentifier=None)
    partner = _sf("005z", "partner@acme.example.com", UserType="PowerPartner")
    plan = build_plan(
        [make_assignment("admin@acme.example.com", title="Changed")], [admin, integration, partner], config
    )
    assert [a.kind for a in plan.actions] == [ActionKind.SKIP]
    assert "not managed" in plan.actions[0].reason


def test_unlinked_user_matched_by_username_is_adopted(config):
    okta = make_assignment("ava@acme.example.com")
    user = _sf("005a", okta.login, FederationIdentifier=None, **_in_sync_fields(okta))
    plan = build_plan([okta], [user], config)
    assert [a.kind for a in plan.actions] == [ActionKind.UPDATE]
    assert plan.actions[0].fields == {"FederationIdentifier": okta.login}
    raw = yaml.safe_load(CONFIG_PATH.read_text())
    raw["managed"]["adopt_unlinked"] = False
    assert [a.kind for a in build_plan([okta], [user], parse_config(raw)).actions] == [ActionKind.SKIP]


def test_out_of_scope_users_are_deprovisioned(config):
    suspended = replace(make_assignment("s@acme.example.com"), user_status="SUSPENDED")
    removed = replace(make_assignment("r@acme.example.com"), assigned=False)
    users = [_sf("005s", suspended.login), _sf("005r", removed.login)]
    plan = build_plan([suspended, removed], users, config, allow_mass_deactivation=True)
    assert {a.login: a.kind for a in plan.actions} == {
        suspended.login: ActionKind.DEACTIVATE,
        removed.login: ActionKind.DEACTIVATE,
    }
    assert "SUSPENDED" in plan.actions[0].reason or "SUSPENDED" in plan.actions[1].reason


def test_errors_name_the_record_and_field(config):
    bad = make_assignment("bad@acme.example.com", email="nope", lastName=None)
    plan = build_plan([bad], [], config)
    (action,) = plan.actions
    assert action.kind is ActionKind.ERROR
    assert {e.field for e in action.errors} == {"Email", "LastName"}
    assert "bad@acme.example.com" in action.reason


def test_taken_username_and_double_claims_are_errors(config):
    a = make_assignment("a@acme.example.com")
    b = replace(make_assignment("b@acme.example.com"), app_username="a@acme.example.com")
    plan = build_plan([a, b], [], config)
    assert {x.kind for x in plan.actions} == {ActionKind.ERROR}
    shared = _sf("005s", "s@acme.example.com", Email="shared@acme.example.com", FederationIdentifier="zz")
    one = make_assignment("one@acme.example.com", email="shared@acme.example.com")
    two = make_assignment("two@acme.example.com", email="shared@acme.example.com")
    plan = build_plan([one, two], [shared], config)
    assert [x.kind for x in plan.actions] == [ActionKind.ERROR, ActionKind.ERROR]


def test_guard_verdict_travels_with_the_plan_and_the_param_alone_does_not_pass_it(config):
    users = [_sf(f"005{i:03}", f"u{i}@acme.example.com") for i in range(30)]
    plan = build_plan([], users, config)
    assert plan.guard.blocked
    # The actions stay what they are: the writer, not a string in the reason, enforces the guard.
    assert plan.summary()["deactivate"] == 30
    assert build_plan([], users, config, allow_mass_deactivation=True).guard.blocked
    trusting = replace(config, guards=replace(config.guards, trust_allow_mass_deactivation_param=True))
    allowed = build_plan([], users, trusting, allow_mass_deactivation=True)
    assert allowed.summary()["deactivate"] == 30
    assert allowed.guard.tripped
    assert not allowed.guard.blocked


def test_incremental_considers_only_the_given_users(config):
    kept = make_assignment("kept@acme.example.com")
    users = [
        _sf("005k", kept.login, **_in_sync_fields(kept)),
        _sf("005g", "gone@acme.example.com"),
        _sf("005o", "other@acme.example.com"),
    ]
    plan = build_plan([kept], users, config, users=["kept@acme.example.com", "GONE@acme.example.com"])
    assert plan.incremental
    assert _kinds(plan) == {kept.login: "skip", "GONE@acme.example.com": "deactivate"}


def test_unknown_reference_is_an_error_with_directory_info(config, org_client):
    client, _ = org_client(users=5)
    snapshot = read_salesforce(client, config)
    raw = yaml.safe_load(CONFIG_PATH.read_text())
    raw["mapping"]["ProfileId"]["table"]["Sales"] = "No Such Profile"
    plan = build_plan(
        [make_assignment("new@acme.example.com")], [], parse_config(raw), directory=snapshot.directory
    )
    (action,) = plan.actions
    assert action.kind is ActionKind.ERROR
    assert action.errors[0].field == "ProfileId"


def test_plan_round_trips_through_json(config):
    users = [_sf("005e", "leaver@acme.example.com")]
    okta = [make_assignment("new@acme.example.com"), make_assignment("bad@x.example.com", email="x")]
    plan = build_plan(okta, users, config)
    data = json.loads(json.dumps(plan.to_dict()))
    assert Plan.from_dict(data) == plan
    assert data["summary"]["create"] == 1


def test_full_seeded_org_converges(config, org_client):
    client, seed = org_client(users=120)
    assignments = [person_assignment(p) for p in seed.people]
    snapshot = read_salesforce(client, config)
    plan = build_plan(
        assignments,
        snapshot.users,
        trusting(config),
        allow_mass_deactivation=True,
        directory=snapshot.directory,
    )
    expected_creates = sum(1 for p in seed.people if p.assigned and p.salesforce is SalesforceState.ABSENT)
    assert plan.summary()["create"] == expected_creates
    outcomes = apply_plan(client, plan, trusting(config), snapshot.directory)
    assert all(o.success for o in outcomes), [o for o in outcomes if not o.success]
    again = read_salesforce(client, config)
    assert build_plan(assignments, again.users, config).writes == []


_people_changes = st.lists(
    st.tuples(
        st.sampled_from(["keep", "unassign", "suspend", "department", "title", "last_name", "assign"]),
        st.sampled_from(["Sales", "Marketing", "Engineering", "Legal", "finance"]),
        st.text(min_size=1, max_size=20).filter(lambda s: s.strip()),
    ),
    min_size=30,
    max_size=30,
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(changes=_people_changes, mode=st.sampled_from(["deactivate", "freeze"]))
def test_applying_a_plan_then_planning_again_yields_nothing(config, org_client, changes, mode):
    """Property: whatever Okta says, one apply brings Salesforce in step (no writes left, no dupes)."""
    client, seed = org_client(
        users=30, scenario=Scenario(leavers_in_salesforce=0.9, inactive=0.2, frozen=0.1)
    )
    cfg = trusting(replace(config, deprovisioning=replace(config.deprovisioning, mode=mode)))
    assignments = []
    for person, (change, department, text) in zip(seed.people, changes, strict=True):
        a = person_assignment(person)
        if change == "unassign":
            a = replace(a, assigned=False)
        elif change == "suspend":
            a = replace(a, user_status="SUSPENDED")
        elif change == "assign":
            a = replace(a, assigned=True)
        elif change in ("department", "title", "last_name"):
            key = {"department": "department", "title": "title", "last_name": "lastName"}[change]
            a = replace(a, profile={**a.profile, key: department if change == "department" else text})
        assignments.append(a)
    snapshot = read_salesforce(client, cfg)
    plan = build_plan(
        assignments, snapshot.users, cfg, allow_mass_deactivation=True, directory=snapshot.directory
    )
    outcomes = apply_plan(client, plan, cfg, snapshot.directory)
    failed = {o.login for o in outcomes if not o.success}
    again = read_salesforce(client, cfg)
    replan = build_plan(
        assignments, again.users, cfg, allow_mass_deactivation=True, directory=again.directory
    )
    assert [a for a in replan.writes if a.login not in failed] == []
    usernames = [u.username for u in again.users]
    assert len(usernames) == len(set(usernames))


@pytest.mark.parametrize("size", [2_000])
def test_plan_cost_is_linear_enough(config, size):
    assignments = [make_assignment(f"user{i}@acme.example.com") for i in range(size)]
    users = [
        _sf(f"005{i:05}", f"user{i}@acme.example.com", **_in_sync_fields(assignments[i])) for i in range(size)
    ]
    started = time.perf_counter()
    plan = build_plan(assignments, users, config)
    assert plan.writes == []
    assert time.perf_counter() - started < 5


def trusting(config):
    """The config with the admin's switch on: the run's allow_mass_deactivation passes the guard."""
    return replace(config, guards=replace(config.guards, trust_allow_mass_deactivation_param=True))


def test_decisions_build_actions_as_the_dataclass_does():
    """decisions.action skips Action.__init__; the result is the same object, field for field."""
    from dataclasses import fields

    from okta_salesforce.sync.decisions import action
    from okta_salesforce.sync.models import Action, ActionKind, SalesforceUser

    assignment = make_assignment("ava@acme.example.com")
    user = SalesforceUser(id="005x", username="ava@acme.example.com", is_active=True, user_login_id="050x")
    for who in (user, None):
        built = action(ActionKind.UPDATE, assignment, who, fields={"Title": "Boss"}, reason="why")
        expected = Action(
            kind=ActionKind.UPDATE,
            login=assignment.login,
            okta_user_id=assignment.okta_user_id,
            salesforce_id=who.id if who else None,
            username=who.username if who else None,
            user_login_id=who.user_login_id if who else None,
            fields={"Title": "Boss"},
            reason="why",
        )
        assert built == expected
        assert list(vars(built)) == [f.name for f in fields(Action)]
        assert repr(built) == repr(expected)
    first, second = (action(ActionKind.SKIP, assignment, None) for _ in range(2))
    assert first.fields is not second.fields  # each its own dict, as default_factory gives
    with pytest.raises(TypeError):
        action(ActionKind.SKIP, assignment, None, nonsense=1)
