"""Users the sync creates stay managed: mapped profiles checked against the managed filter."""

from __future__ import annotations

import copy

import pytest
import yaml
from sync_helpers import CONFIG_PATH, make_assignment

from okta_salesforce.sync.config import ConfigError, parse_config
from okta_salesforce.sync.directory import read_salesforce
from okta_salesforce.sync.managed_profiles import (
    ExcludedProfile,
    check_mapped_profiles,
    excluded_mapped_profiles,
    mapped_profiles,
)
from okta_salesforce.sync.models import ActionKind, DirectoryInfo, SalesforceUser
from okta_salesforce.sync.plan import build_plan
from okta_salesforce.sync.writer import apply_plan
from okta_salesforce_testbed.sandbox.seed import DEPARTMENT_PROFILES, SalesforceState
from seeded_people import person_assignment

ORG_TYPES = {
    "Standard User": "Standard",
    "Marketing User": "Standard",
    "Chatter Free User": "CsnOnly",
    "System Administrator": "Standard",
    "Partner Community User": "PowerPartner",
}


@pytest.fixture
def raw() -> dict:
    return yaml.safe_load(CONFIG_PATH.read_text())


def _config(raw: dict, **managed):
    data = copy.deepcopy(raw)
    data["managed"].update(managed)
    return parse_config(data)


def test_shipped_mapping_gives_only_managed_profiles(config) -> None:
    assert set(mapped_profiles(config).names) == set(DEPARTMENT_PROFILES.values())
    assert not mapped_profiles(config).open
    assert "CsnOnly" in config.managed.user_types
    assert excluded_mapped_profiles(ORG_TYPES, config) == []


def test_mapping_a_profile_whose_user_type_is_not_managed_is_refused(raw) -> None:
    config = _config(raw, user_types=["Standard"])  # loads: the org's user types are unknown here
    assert excluded_mapped_profiles(ORG_TYPES, config) == [
        ExcludedProfile("Chatter Free User", "CsnOnly", "managed.user_types is ['Standard']")
    ]
    with pytest.raises(ConfigError) as caught:
        check_mapped_profiles(ORG_TYPES, config)
    message = str(caught.value)
    assert "'Chatter Free User' (user type CsnOnly)" in message
    assert "managed.user_types is ['Standard']" in message
    # The plan has the org's Profile -> UserType and refuses before planning anything.
    directory = DirectoryInfo(profiles=dict.fromkeys(ORG_TYPES, "00e"), profile_user_types=ORG_TYPES)
    with pytest.raises(ConfigError, match="Chatter Free User"):
        build_plan([make_assignment("a.b@acme.example.com")], [], config, directory=directory)


def test_mapping_an_excluded_profile_is_refused_at_load(raw) -> None:
    raw["mapping"]["ProfileId"]["table"]["IT"] = "System Administrator"
    with pytest.raises(ConfigError) as caught:
        parse_config(raw)
    assert "mapping.ProfileId: can give the profile 'System Administrator'" in str(caught.value)
    assert "managed.exclude_profiles is ['System Administrator'" in str(caught.value)


def test_a_required_federation_identifier_must_be_mapped(raw) -> None:
    del raw["mapping"]["FederationIdentifier"]
    with pytest.raises(ConfigError, match=r"managed\.require_federation_identifier: is true"):
        parse_config(raw)
    raw["managed"]["require_federation_identifier"] = False
    parse_config(raw)


def test_profiles_from_an_okta_attribute_are_checked_per_record(raw) -> None:
    raw["mapping"]["ProfileId"] = {"source": "attribute", "attribute": "sfProfile", "apply": "on_create"}
    config = _config(raw, user_types=["Standard"])
    assert mapped_profiles(config).open
    directory = DirectoryInfo(profiles=dict.fromkeys(ORG_TYPES, "00e"), profile_user_types=ORG_TYPES)
    good = make_assignment("good.one@acme.example.com", sfProfile="Standard User")
    chatter = make_assignment("chat.ty@acme.example.com", sfProfile="Chatter Free User")
    plan = build_plan([good, chatter], [], config, directory=directory)
    kinds = {a.login: a for a in plan.actions}
    assert kinds[good.login].kind is ActionKind.CREATE
    refused = kinds[chatter.login]
    assert refused.kind is ActionKind.ERROR
    assert refused.errors[0].field == "ProfileId"
    assert "the user would not be managed: its UserType 'CsnOnly' is not managed" in refused.errors[0].message


def test_a_profile_change_to_an_excluded_profile_is_refused(raw) -> None:
    raw["mapping"]["ProfileId"] = {"source": "attribute", "attribute": "sfProfile", "apply": "always"}
    config = parse_config(raw)
    directory = DirectoryInfo(profiles=dict.fromkeys(ORG_TYPES, "00e"), profile_user_types=ORG_TYPES)
    okta = make_assignment("pro.moted@acme.example.com", sfProfile="System Administrator")
    user = SalesforceUser(
        id="005000000000001AAA",
        username=okta.login,
        is_active=True,
        fields={"FederationIdentifier": okta.login, "Profile.Name": "Standard User", "UserType": "Standard"},
    )
    plan = build_plan([okta], [user], config, users=[okta.login], directory=directory)
    assert [(a.kind, a.errors[0].field) for a in plan.actions] == [(ActionKind.ERROR, "ProfileId")]
    assert "managed.exclude_profiles" in plan.actions[0].errors[0].message


def test_a_create_with_an_excluded_username_is_refused(raw) -> None:
    config = _config(raw, exclude_usernames=["x.y@acme.example.com"])
    directory = DirectoryInfo(profiles=dict.fromkeys(ORG_TYPES, "00e"), profile_user_types=ORG_TYPES)
    plan = build_plan([make_assignment("x.y@acme.example.com")], [], config, directory=directory)
    assert [(a.kind, a.errors[0].field) for a in plan.actions] == [(ActionKind.ERROR, "Username")]


def test_engineering_chatter_free_users_are_created_updated_and_deprovisioned(config, org_client) -> None:
    """Against an org that derives UserType from the license, as Salesforce does."""
    client, seed = org_client(users=60)
    engineering = [
        p for p in seed.people if p.department == "Engineering" and p.salesforce is SalesforceState.ACTIVE
    ]
    leaver, mover = engineering[:2]
    newcomer = next(
        p for p in seed.people if p.department == "Engineering" and p.salesforce is SalesforceState.ABSENT
    )
    assignments = [
        person_assignment(leaver, assigned=False),
        person_assignment(mover, profile={"title": "Staff Engineer"}),
        person_assignment(newcomer, assigned=True),
    ]
    logins = [a.login for a in assignments]
    snapshot = read_salesforce(client, config, assignments)
    assert snapshot.directory.profile_user_types["Chatter Free User"] == "CsnOnly"
    plan = build_plan(assignments, snapshot.users, config, users=logins, directory=snapshot.directory)
    assert {a.login: a.kind for a in plan.actions} == {
        leaver.login: ActionKind.DEACTIVATE,
        mover.login: ActionKind.UPDATE,
        newcomer.login: ActionKind.CREATE,
    }
    assert all(o.success for o in apply_plan(client, plan, config, snapshot.directory))
    after = {u.username: u for u in read_salesforce(client, config, assignments).users}
    assert after[newcomer.login.lower()].fields["UserType"] == "CsnOnly"
    assert after[mover.login.lower()].fields["Title"] == "Staff Engineer"
    assert not after[leaver.login.lower()].is_active
