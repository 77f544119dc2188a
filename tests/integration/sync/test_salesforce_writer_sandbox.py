"""The sync core against the HTTPS Salesforce sandbox: every action, batching, failures, reruns."""

from __future__ import annotations

from dataclasses import replace

import pytest

from okta_salesforce.sync.directory import read_salesforce
from okta_salesforce.sync.models import ActionKind, OktaAssignment
from okta_salesforce.sync.plan import build_plan
from okta_salesforce.sync.writer import apply_plan
from seeded_people import person_assignment

pytestmark = pytest.mark.integration


def _assignments(sb) -> list[OktaAssignment]:
    return [person_assignment(p) for p in sb.seed.people]


def _new_people(count: int, start: int = 0) -> list[OktaAssignment]:
    return [
        OktaAssignment(
            okta_user_id=f"00unew{i:014d}",
            login=f"new.hire.{i}@acme.example.com",
            app_username=f"new.hire.{i}@acme.example.com",
            assignment_status="ACTIVE",
            scope="USER",
            user_status="ACTIVE",
            profile={
                "login": f"new.hire.{i}@acme.example.com",
                "email": f"new.hire.{i}@acme.example.com",
                "firstName": "New",
                "lastName": f"Hire{i}",
                "department": ["Sales", "Marketing", "Engineering"][i % 3],
                "title": "Analyst",
                "locale": "en_US",
                "timezone": "America/Chicago",
                "employeeNumber": f"N{i}",
            },
        )
        for i in range(start, start + count)
    ]


def _sync(sf, config, assignments, **kwargs):
    if kwargs.get("allow_mass_deactivation"):  # the admin's switch that lets the param pass the guard
        config = replace(config, guards=replace(config.guards, trust_allow_mass_deactivation_param=True))
    snapshot = read_salesforce(sf, config)
    plan = build_plan(assignments, snapshot.users, config, directory=snapshot.directory, **kwargs)
    return plan, apply_plan(sf, plan, config, snapshot.directory)


def test_each_action_lands(sf_sandbox, sync_config):
    sb, sf = sf_sandbox
    plan, outcomes = _sync(sf, sync_config, _assignments(sb), allow_mass_deactivation=True)
    summary = plan.summary()
    for kind in ("create", "activate", "update", "deactivate", "unfreeze"):
        assert summary[kind] > 0, summary
    assert all(o.success for o in outcomes), [o for o in outcomes if not o.success]
    app = sb.salesforce_app
    for action in plan.actions:
        user = app.user(action.username or action.login)
        if action.kind is ActionKind.CREATE:
            assert user["IsActive"]
            assert user["FederationIdentifier"] == action.login
            assert (user["ProfileId"] == plan and False) or user["ProfileId"]  # resolved to an id
        elif action.kind is ActionKind.ACTIVATE:
            assert user["IsActive"]
        elif action.kind is ActionKind.DEACTIVATE:
            assert not user["IsActive"]
        elif action.kind is ActionKind.UNFREEZE:
            assert not user["IsFrozen"]
        elif action.kind is ActionKind.UPDATE:
            assert all(user[k] == v["new"] for k, v in action.changes.items())
    # Unmanaged users were never touched.
    for username in ("admin@acme.example.com", "integration@acme.example.com", "automation@acme.example.com"):
        assert app.user(username)["IsActive"]
    again, _ = _sync(sf, sync_config, _assignments(sb))
    assert again.writes == []


def test_created_user_gets_the_department_profile(sf_sandbox, sync_config):
    _, sf = sf_sandbox
    _, outcomes = _sync(sf, sync_config, _new_people(3))
    assert all(o.success for o in outcomes if o.action == "create")
    snapshot = read_salesforce(sf, sync_config)
    profiles = {u.username: u.fields["Profile.Name"] for u in snapshot.users}
    assert profiles["new.hire.0@acme.example.com"] == "Standard User"
    assert profiles["new.hire.1@acme.example.com"] == "Marketing User"
    assert profiles["new.hire.2@acme.example.com"] == "Chatter Free User"


def test_freeze_mode_freezes_through_userlogin(sf_sandbox, sync_config):
    sb, sf = sf_sandbox
    config = replace(sync_config, deprovisioning=replace(sync_config.deprovisioning, mode="freeze"))
    plan, outcomes = _sync(sf, config, _assignments(sb), allow_mass_deactivation=True)
    frozen = [a for a in plan.actions if a.kind is ActionKind.FREEZE]
    assert frozen
    assert all(o.success for o in outcomes)
    for action in frozen:
        user = sb.salesforce_app.user(action.username)
        assert user["IsFrozen"]
        assert user["IsActive"]


def test_450_creates_take_three_collection_calls(sf_sandbox, sync_config):
    sb, sf = sf_sandbox
    sb.salesforce.reset_counters()
    plan, outcomes = _sync(
        sf, sync_config, _new_people(450), users=[f"new.hire.{i}@acme.example.com" for i in range(450)]
    )
    assert plan.summary()["create"] == 450
    assert sum(1 for o in outcomes if o.action == "create" and o.success) == 450
    assert sb.salesforce.counters["data.composite.create"] == 3
    assert sb.salesforce.counters["data.composite.update"] == 0


def test_mixed_per_record_failures_do_not_sink_the_batch(sf_sandbox, sync_config):
    sb, sf = sf_sandbox
    people = _new_people(10)
    app = sb.salesforce_app
    app.fail_record("new.hire.3@acme.example.com", "LICENSE_LIMIT_EXCEEDED", "License Limit Exceeded", [])
    app.fail_record(
        "new.hire.7@acme.example.com", "FIELD_CUSTOM_VALIDATION_EXCEPTION", "Blocked by rule", ["Title"]
    )
    _, outcomes = _sync(sf, sync_config, people, users=[p.login for p in people])
    by_login = {o.login: o for o in outcomes}
    assert by_login["new.hire.3@acme.example.com"].error_code == "LICENSE_LIMIT_EXCEEDED"
    assert by_login["new.hire.7@acme.example.com"].error_code == "FIELD_CUSTOM_VALIDATION_EXCEPTION"
    assert by_login["new.hire.7@acme.example.com"].fields == ("Title",)
    assert sum(1 for o in outcomes if o.success) == 8
    app.clear_failures()
    _, rerun = _sync(sf, sync_config, people, users=[p.login for p in people])
    assert {o.login for o in rerun if o.action == "create"} == {
        "new.hire.3@acme.example.com",
        "new.hire.7@acme.example.com",
    }
    assert all(o.success for o in rerun)


def test_applying_a_stale_plan_twice_links_instead_of_duplicating(sf_sandbox, sync_config):
    sb, sf = sf_sandbox
    people = _new_people(5)
    snapshot = read_salesforce(sf, sync_config)
    plan = build_plan(people, snapshot.users, sync_config, users=[p.login for p in people])
    first = apply_plan(sf, plan, sync_config, snapshot.directory)
    assert all(o.success for o in first)
    second = apply_plan(sf, plan, sync_config, snapshot.directory)  # as if the first response was lost
    assert all(o.success for o in second), second
    assert all("linked to existing user" in o.message for o in second)
    usernames = [u["Username"] for u in sb.salesforce_app.users()]
    assert len(usernames) == len(set(usernames))


def test_duplicate_username_of_an_unmanaged_user_fails_clearly(sf_sandbox, sync_config):
    sb, sf = sf_sandbox
    sneaky = replace(_new_people(1)[0], app_username="admin@acme.example.com")
    snapshot = read_salesforce(sf, sync_config)
    # Plan against a snapshot that lacks the admin (a stale or partial read): the create is attempted.
    users = [u for u in snapshot.users if u.username != "admin@acme.example.com"]
    plan = build_plan([sneaky], users, sync_config, users=[sneaky.login])
    (outcome,) = apply_plan(sf, plan, sync_config, snapshot.directory)
    assert not outcome.success
    assert outcome.error_code == "DUPLICATE_USERNAME"
    assert "not managed" in outcome.message
    assert sb.salesforce_app.user("admin@acme.example.com")["FederationIdentifier"] is None


def _no_wait(config):
    return replace(config, writer=replace(config.writer, retry_backoff_seconds=0.0))


def test_crash_between_batches_then_rerun(sf_sandbox, sync_config):
    sb, sf = sf_sandbox
    config = _no_wait(sync_config)
    people = _new_people(450)
    logins = [p.login for p in people]
    # Batch 2 loses its connection on every attempt: the retries are spent, the writer stops.
    sb.salesforce.inject("data.composite.create", "drop", after=1, times=config.writer.retries + 1)
    _, outcomes = _sync(sf, config, people, users=logins)
    codes = {o.error_code for o in outcomes if not o.success}
    assert codes == {"REQUEST_FAILED", "NOT_ATTEMPTED"}
    assert sum(1 for o in outcomes if o.success) == 200
    sb.salesforce.clear_faults()
    _, rerun = _sync(sf, config, people, users=logins)
    assert all(o.success for o in rerun), [o for o in rerun if not o.success][:3]
    created = [u for u in sb.salesforce_app.users() if u["Username"].startswith("new.hire.")]
    assert len(created) == 450
    assert len({u["Username"] for u in created}) == 450
    final, _ = _sync(sf, config, people, users=logins)
    assert final.writes == []


def test_1100_creates_converge_through_a_lost_answer_and_a_503_without_duplicates(sf_sandbox, sync_config):
    sb, sf = sf_sandbox
    config = _no_wait(sync_config)
    people = _new_people(1_100)
    logins = [p.login for p in people]
    sb.salesforce.reset_counters()
    # Batch 2 lands but its answer is lost (the retry must not create those 200 again); batch 4
    # gets a 503 (nothing landed; re-sent as is).
    sb.salesforce.inject("data.composite.create", "lose_answer", after=1)
    sb.salesforce.inject("data.composite.create", "server_error", after=3, status=503)
    plan, outcomes = _sync(sf, config, people, users=logins)

    assert plan.summary()["create"] == 1_100
    failed = [o for o in outcomes if not o.success]
    assert failed == []
    assert {o.login for o in outcomes if o.action == "create"} == set(logins)
    linked = [o for o in outcomes if "linked to existing user" in o.message]
    assert len(linked) == 200  # the batch whose answer was lost, read back instead of re-sent
    created = [u for u in sb.salesforce_app.users() if u["Username"].startswith("new.hire.")]
    assert len(created) == 1_100
    assert len({u["Username"] for u in created}) == 1_100
    # 6 batches and the 503 re-sent; the lost batch was read back and linked, never re-sent.
    assert sb.salesforce.counters["data.composite.create"] == 6 + 1


def test_salesforce_down_for_the_whole_run_fails_every_write(sf_sandbox, sync_config):
    sb, sf = sf_sandbox
    config = _no_wait(sync_config)
    people = _new_people(450)
    snapshot = read_salesforce(sf, config)
    plan = build_plan(people, snapshot.users, config, users=[p.login for p in people])
    sb.salesforce.reset_counters()
    sb.salesforce.inject("*", "server_error", times=1_000, status=503)
    outcomes = apply_plan(sf, plan, config, snapshot.directory)
    assert not any(o.success for o in outcomes)
    assert {o.error_code for o in outcomes} == {"REQUEST_FAILED", "NOT_ATTEMPTED"}
    # One create, then every retry first reads the batch's usernames back (and fails there).
    attempts = sb.salesforce.counters["data.composite.create"] + sb.salesforce.counters["data.query"]
    assert sb.salesforce.counters["data.composite.create"] == 1
    assert attempts == config.writer.retries + 1
    assert "HTTP 503" in outcomes[0].message


def test_dry_run_writes_nothing(sf_sandbox, sync_config):
    sb, sf = sf_sandbox
    sb.salesforce.reset_counters()
    snapshot = read_salesforce(sf, sync_config)
    plan = build_plan(_assignments(sb), snapshot.users, sync_config, allow_mass_deactivation=True)
    outcomes = apply_plan(sf, plan, sync_config, snapshot.directory, dry_run=True)
    assert all(o.success for o in outcomes)
    assert sb.salesforce_app.write_requests == 0
    assert not any(name.startswith("data.composite") for name in sb.salesforce.counters)


def test_api_budget_stops_writing(sf_sandbox, sync_config):
    sb, sf = sf_sandbox
    config = replace(sync_config, guards=replace(sync_config.guards, api_budget_share=0.5))
    sb.salesforce_app.daily_api_limit = 40
    people = _new_people(450)
    snapshot = read_salesforce(sf, config)  # ~10 calls
    sb.salesforce_app.api_usage = 19
    plan = build_plan(people, snapshot.users, config, users=[p.login for p in people])
    outcomes = apply_plan(sf, plan, config, snapshot.directory)
    assert sum(1 for o in outcomes if o.success) == 200  # one call fits under 50% of 40
    stopped = [o for o in outcomes if not o.success]
    assert {o.error_code for o in stopped} == {"API_BUDGET"}
    assert "api_budget_share=50%" in stopped[0].message


def test_guard_blocks_mass_deactivation(sf_sandbox, sync_config):
    sb, sf = sf_sandbox
    nobody = [replace(a, assigned=False) for a in _assignments(sb)]
    plan, outcomes = _sync(sf, sync_config, nobody)
    assert plan.guard.blocked
    # The plan keeps the deactivations; the writer refuses every one of them (no approval).
    assert plan.summary()["deactivate"] == 134
    refused = [o for o in outcomes if not o.success]
    assert {o.error_code for o in refused} == {"GUARD_TRIPPED"}
    assert len(refused) == 134
    assert sum(1 for u in sb.salesforce_app.users() if u["IsActive"]) > 100


def test_incremental_read_and_plan(sf_sandbox, sync_config):
    sb, sf = sf_sandbox
    people = [p for p in sb.seed.people if p.assigned][:5]
    assignments = [person_assignment(p, profile={"title": "Promoted"}) for p in people]
    snapshot = read_salesforce(sf, sync_config, assignments)
    assert snapshot.partial
    assert len(snapshot.users) <= 5
    plan = build_plan(assignments, snapshot.users, sync_config, users=[p.login for p in people])
    outcomes = apply_plan(sf, plan, sync_config, snapshot.directory)
    assert all(o.success for o in outcomes)
    for person in people:
        assert sb.salesforce_app.user(person.login)["Title"] == "Promoted"
