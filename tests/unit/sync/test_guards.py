"""Deactivation threshold and API budget."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from okta_salesforce.sync.config import GuardsConfig
from okta_salesforce.sync.guards import (
    GUARD_TRIPPED,
    PLAN_EXPIRED,
    ApiBudget,
    ApiUsage,
    Approval,
    GuardTripped,
    check_deactivations,
    deprovision_refusal,
    plan_fingerprint,
    raise_for_guard,
)
from okta_salesforce.sync.models import Action, ActionKind, GuardResult, Plan

GUARDS = GuardsConfig(max_deactivations=25, max_deactivation_ratio=0.10, api_budget_share=0.8)


@pytest.mark.parametrize(
    ("deprovisions", "managed", "incremental", "tripped"),
    [
        (0, 0, False, False),
        (10, 100, False, False),
        (11, 100, False, True),  # ratio
        (25, 1000, False, False),
        (26, 1000, False, True),  # absolute
        (5, 5, True, False),  # the ratio does not apply to incremental runs
        (26, 26, True, True),
    ],
)
def test_thresholds(deprovisions, managed, incremental, tripped):
    result = check_deactivations(
        GUARDS, deprovisions, managed, incremental=incremental, allow_mass_deactivation=False
    )
    assert result.tripped is tripped
    assert result.blocked is tripped
    if tripped:
        assert "approval" in result.message


def test_the_param_alone_does_not_pass_the_guard():
    result = check_deactivations(GUARDS, 500, 600, incremental=False, allow_mass_deactivation=True)
    assert result.tripped
    assert result.blocked
    assert "trust_allow_mass_deactivation_param is false" in result.message


def test_the_param_passes_the_guard_when_the_admin_trusts_it():
    trusting = replace(GUARDS, trust_allow_mass_deactivation_param=True)
    result = check_deactivations(trusting, 500, 600, incremental=False, allow_mass_deactivation=True)
    assert result.tripped
    assert not result.blocked
    assert not check_deactivations(
        trusting, 500, 600, incremental=False, allow_mass_deactivation=False
    ).allowed


def test_disabled_limits():
    guards = GuardsConfig(max_deactivations=None, max_deactivation_ratio=None)
    assert not check_deactivations(
        guards, 10_000, 10, incremental=False, allow_mass_deactivation=False
    ).tripped


def test_raise_for_guard():
    blocked = Plan(actions=(), guard=GuardResult(True, False, 30, 100, "too many"))
    with pytest.raises(GuardTripped, match="too many"):
        raise_for_guard(blocked)
    raise_for_guard(Plan(actions=(), guard=GuardResult(True, True, 30, 100, "allowed")))


def test_api_usage_parsing():
    assert ApiUsage.from_header("api-usage=25/15000") == ApiUsage(25, 15000)
    assert ApiUsage.from_header("api-usage=25/15000; per-app-api-usage=1/100(appName=x)") == ApiUsage(
        25, 15000
    )
    assert ApiUsage.from_header(None) is None
    assert ApiUsage.from_header("garbage") is None


def test_budget_stops_before_the_share():
    budget = ApiBudget(0.8)
    assert budget.allows()  # unknown usage
    budget.observe(ApiUsage(79, 100))
    assert budget.allows(1)
    assert not budget.allows(2)
    budget.observe(ApiUsage(80, 100))
    assert not budget.allows()
    assert "80 of 100" in budget.message()


NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
HELD = GuardResult(True, False, 30, 100, "30 is over the guard.")
LEAVERS = tuple(
    Action(kind=ActionKind.DEACTIVATE, login=f"u{i}@acme.example.com", salesforce_id=f"005{i:03}")
    for i in range(30)
)


def _plan(guard: GuardResult = HELD, *, age: timedelta = timedelta(minutes=5)) -> Plan:
    planned_at = (NOW - age).isoformat()
    plan_id = plan_fingerprint(LEAVERS, run_id="run1", planned_at=planned_at)
    return Plan(actions=LEAVERS, guard=guard, plan_id=plan_id, planned_at=planned_at)


def _refusal(plan: Plan, approval: Approval | None):
    return deprovision_refusal(plan, approval, timedelta(hours=2), now=NOW)


def test_fingerprint_names_the_run_the_time_and_exactly_who_is_deprovisioned():
    at = NOW.isoformat()
    base = plan_fingerprint(LEAVERS, run_id="run1", planned_at=at)
    assert base == plan_fingerprint(tuple(reversed(LEAVERS)), run_id="run1", planned_at=at)
    assert base != plan_fingerprint(LEAVERS[1:], run_id="run1", planned_at=at)
    assert base != plan_fingerprint(LEAVERS, run_id="run2", planned_at=at)
    assert base != plan_fingerprint(
        LEAVERS, run_id="run1", planned_at=(NOW + timedelta(seconds=1)).isoformat()
    )
    creates = (Action(kind=ActionKind.CREATE, login="new@acme.example.com"),)
    assert base == plan_fingerprint(LEAVERS + creates, run_id="run1", planned_at=at)


def test_fingerprint_binds_when_the_snapshot_began_and_keeps_older_plans_ids():
    """The re-check reads the System Log from the snapshot's start: moving it later changes the id."""
    at = NOW.isoformat()
    base = plan_fingerprint(LEAVERS, run_id="run1", planned_at=at)
    assert base == plan_fingerprint(LEAVERS, run_id="run1", planned_at=at, snapshot_started="")
    started = (NOW - timedelta(minutes=3)).isoformat()
    bound = plan_fingerprint(LEAVERS, run_id="run1", planned_at=at, snapshot_started=started)
    assert bound != base
    later = (NOW - timedelta(minutes=1)).isoformat()
    assert bound != plan_fingerprint(LEAVERS, run_id="run1", planned_at=at, snapshot_started=later)


def test_a_blocked_plan_needs_an_approve_of_this_very_plan():
    plan = _plan()
    approve = {
        "plan_id": plan.plan_id,
        "chosen_options": ["Approve"],
        "responded_by_user": {"id": "a", "name": "A"},
    }
    assert _refusal(plan, Approval.from_response(approve)) is None
    for answer in (
        None,  # no approval task, or it was cleared / never answered
        {"chosen_options": ["Approve"], "responded_by_user": {"id": "a"}},  # names no plan
        {**approve, "plan_id": "another-plan"},  # approved a different plan (e.g. before a re-plan)
        {**approve, "chosen_options": ["Reject"]},
        {**approve, "chosen_options": ["Reject"], "responded_by_user": None},  # the timeout's default
    ):
        refusal = _refusal(plan, Approval.from_response(answer))
        assert refusal is not None, answer
        assert refusal.code == GUARD_TRIPPED


def test_an_approve_without_a_person_is_no_approval():
    plan = _plan()
    forged = Approval.from_response({"plan_id": plan.plan_id, "chosen_options": ["Approve"]})
    assert forged is not None
    assert not forged.approved
    assert _refusal(plan, forged).code == GUARD_TRIPPED


def test_a_plan_within_the_guard_needs_no_approval_but_expires():
    fine = GuardResult(False, False, 3, 100)
    assert _refusal(_plan(fine), None) is None
    refusal = _refusal(_plan(fine, age=timedelta(hours=2, seconds=1)), None)
    assert refusal is not None
    assert refusal.code == PLAN_EXPIRED
    assert "max_plan_age_minutes=120" in refusal.message


def test_an_approved_plan_past_its_age_is_refused():
    plan = _plan(age=timedelta(hours=3))
    approve = Approval(plan.plan_id, True, "admin", NOW.isoformat())
    assert _refusal(plan, approve).code == PLAN_EXPIRED


def test_a_plan_without_a_guard_verdict_deprovisions_nobody():
    # e.g. actions read back from a file into a bare Plan: nobody decided whether they may go ahead.
    bare = Plan(actions=LEAVERS, planned_at=(NOW - timedelta(minutes=1)).isoformat())
    refusal = _refusal(bare, None)
    assert refusal is not None
    assert refusal.code == GUARD_TRIPPED
