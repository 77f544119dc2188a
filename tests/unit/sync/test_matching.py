"""Matching Okta users to Salesforce users: precedence, case rules, ambiguity."""

from __future__ import annotations

from sync_helpers import make_assignment

from okta_salesforce.sync.config import MatchRule
from okta_salesforce.sync.matching import Matcher
from okta_salesforce.sync.models import SalesforceUser

RULES = (
    MatchRule("FederationIdentifier", "login", True),
    MatchRule("Username", "app_username", False),
    MatchRule("Email", "email", False),
)


def _user(uid: str, username: str, **fields) -> SalesforceUser:
    return SalesforceUser(id=uid, username=username, is_active=True, fields=fields)


def test_precedence_first_rule_with_a_match_wins(config):
    by_fed = _user("1", "other@x.example.com", FederationIdentifier="ava@x.example.com")
    by_name = _user("2", "ava@x.example.com")
    match = Matcher(RULES, [by_fed, by_name]).match(make_assignment("ava@x.example.com"))
    assert match.user is by_fed
    assert match.rule == "FederationIdentifier"


def test_username_and_email_are_case_insensitive_federation_id_is_not():
    user = _user(
        "1", "ava@x.example.com", FederationIdentifier="AVA@X.example.com", Email="AVA@x.example.com"
    )
    matcher = Matcher(RULES, [user])
    match = matcher.match(make_assignment("Ava@X.Example.com"))
    assert match.user is user
    assert match.rule == "Username"
    only_email = Matcher(RULES[2:], [user]).match(
        make_assignment("z@x.example.com", email="ava@X.EXAMPLE.COM")
    )
    assert only_email.user is user


def test_ambiguity_is_an_error_never_a_guess():
    users = [
        _user("1", "a@x.example.com", Email="shared@x.example.com"),
        _user("2", "b@x.example.com", Email="shared@x.example.com"),
    ]
    match = Matcher(RULES, users).match(make_assignment("c@x.example.com", email="shared@x.example.com"))
    assert match.user is None
    assert {u.id for u in match.ambiguous} == {"1", "2"}
    assert "2 Salesforce users have the same Email" in match.error


def test_no_value_skips_the_rule_and_no_match_is_none():
    user = _user("1", "a@x.example.com", Email="a@x.example.com")
    assert Matcher(RULES, [user]).match(make_assignment("n@x.example.com", email=None)).user is None
