"""Deactivation threshold and API budget."""

from __future__ import annotations

import pytest

from okta_salesforce.sync.config import GuardsConfig
from okta_salesforce.sync.guards import (
    ApiBudget,
    ApiUsage,
    GuardTripped,
    check_deactivations,
    raise_for_guard,
)
from okta_salesforce.sync.models import GuardResult, Plan

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
        assert "allow_mass_deactivation" in result.message


def test_allow_mass_deactivation_lets_it_through():
    result = check_deactivations(GUARDS, 500, 600, incremental=False, allow_mass_deactivation=True)
    assert result.tripped
    assert not result.blocked


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
