"""A corpus of hostile and broken Okta profiles: each a clear per-record error or a valid value.

The rest of the batch lands, no SOQL is injected (every hostile login is read back as a literal),
and a rerun has nothing left to do for the valid ones.
"""

from __future__ import annotations

from typing import Any

import pytest

from okta_salesforce.sync.directory import read_salesforce
from okta_salesforce.sync.models import ActionKind, OktaAssignment
from okta_salesforce.sync.plan import build_plan
from okta_salesforce.sync.writer import apply_plan

pytestmark = pytest.mark.integration

_D = "corpus.acme.example.com"
# (label, profile overrides, expected: "ok" or the field named in the error)
CORPUS: list[tuple[str, dict[str, Any], str]] = [
    ("missing last name", {"lastName": None}, "LastName"),
    ("blank last name", {"lastName": "   "}, "LastName"),
    ("missing email", {"email": None}, "Email"),
    ("email without at", {"email": "no-at-sign"}, "Email"),
    ("email with space", {"email": "a b@x.example.com"}, "Email"),
    ("email double dot", {"email": "a..b@x.example.com"}, "Email"),
    ("email no tld", {"email": "a@localhost"}, "Email"),
    ("email unicode local", {"email": "山田@x.example.com"}, "Email"),
    ("email trailing dot", {"email": "a.@x.example.com"}, "Email"),
    ("email two ats", {"email": "a@b@x.example.com"}, "Email"),
    ("overlong last name", {"lastName": "L" * 81}, "LastName"),
    ("overlong first name", {"firstName": "F" * 41}, "FirstName"),
    ("overlong title", {"title": "T" * 81}, "Title"),
    ("overlong department", {"department": "D" * 81}, "Department"),
    ("overlong employee number", {"employeeNumber": "9" * 21}, "EmployeeNumber"),
    ("overlong email", {"email": "e" * 60 + "@" + "d" * 60 + ".example.com"}, "Email"),
    ("emoji overflow first name", {"firstName": "😀" * 21}, "FirstName"),
    ("nul in title", {"title": "a\x00b"}, "Title"),
    ("lone surrogate in title", {"title": "Lead \udc80"}, "Title"),
    ("lone surrogate in last name", {"lastName": "Smith\ud83d"}, "LastName"),
    ("bell in last name", {"lastName": "Smith\x07"}, "LastName"),
    ("list as department", {"department": ["Sales", "Marketing"]}, "Department"),
    ("dict as title", {"title": {"en": "Boss"}}, "Title"),
    ("boolean as title", {"title": True}, "Title"),
    ("japanese names", {"firstName": "太郎", "lastName": "山田"}, "ok"),
    ("japanese title", {"title": "営業部長", "department": "営業"}, "ok"),
    ("emoji names", {"firstName": "😀", "lastName": "Party 🎉"}, "ok"),
    ("zwj emoji", {"lastName": "👩‍👩‍👧‍👦 Family"}, "ok"),
    ("arabic rtl", {"firstName": "محمد", "lastName": "العربي"}, "ok"),
    ("hebrew rtl", {"firstName": "דוד", "lastName": "כהן"}, "ok"),
    ("rtl override mark", {"lastName": "\u202egnissim"}, "ok"),
    ("combining accents", {"firstName": "Zoe\u0308", "lastName": "Lefe\u0300vre"}, "ok"),
    ("apostrophe", {"lastName": "O'Brien"}, "ok"),
    ("double quotes", {"title": 'The "Closer"'}, "ok"),
    ("backslashes", {"lastName": "Back\\slash\\"}, "ok"),
    ("soql keywords", {"title": "' OR Username LIKE '%"}, "ok"),
    ("soql comment", {"department": "Sales' --"}, "ok"),
    ("html", {"title": "<script>alert(1)</script>"}, "ok"),
    ("jinja in data", {"title": "{{ 7*7 }}"}, "ok"),
    ("percent and underscore", {"title": "100%_sure"}, "ok"),
    ("leading and trailing spaces", {"lastName": "  Spaced  "}, "ok"),
    ("exactly 80 last name", {"lastName": "L" * 80}, "ok"),
    ("exactly 40 emoji units", {"firstName": "😀" * 20}, "ok"),
    ("numeric employee number", {"employeeNumber": 12345}, "ok"),
    ("unknown department", {"department": "Moon Base"}, "ok"),
    ("lowercase department", {"department": "engineering"}, "ok"),
    ("bad timezone falls back", {"timezone": "Mars/Olympus_Mons"}, "ok"),
    ("bad locale falls back", {"locale": "klingon"}, "ok"),
    ("unsupported timezone falls back", {"timezone": "Asia/Kathmandu"}, "ok"),
    ("null everything optional", {"title": None, "department": None, "employeeNumber": None}, "ok"),
    ("plus addressing email", {"email": "ava+sf@x.example.com"}, "ok"),
    ("uppercase email", {"email": "AVA.UPPER@X.EXAMPLE.COM"}, "ok"),
    ("quote in email local part", {"email": "o'neil@x.example.com"}, "ok"),
]
# Hostile logins: also the Username, FederationIdentifier and a SOQL literal in reads.
HOSTILE_LOGINS: list[tuple[str, str, str]] = [
    ("login with quote", f"o'brien.q@{_D}", "ok"),
    ("login soql injection", f"x'OR'Username'LIKE'%@{_D}", "ok"),
    ("login with backslash", f"back\\slash@{_D}", "Username"),
    ("login with percent", f"100%@{_D}", "ok"),
    ("login uppercase", f"UPPER.CASE@{_D}", "ok"),
]


def _assignment(index: int, login: str, overrides: dict[str, Any]) -> OktaAssignment:
    profile: dict[str, Any] = {
        "login": login,
        "email": login,
        "firstName": "Corpus",
        "lastName": f"Case{index}",
        "department": "Sales",
        "title": "Tester",
        "locale": "en_US",
        "timezone": "America/Los_Angeles",
        "employeeNumber": f"C{index}",
    }
    profile.update(overrides)
    return OktaAssignment(
        okta_user_id=f"00ucorpus{index:011d}",
        login=login,
        app_username=login,
        assignment_status="ACTIVE",
        scope="USER",
        user_status="ACTIVE",
        profile=profile,
    )


def test_bad_input_corpus(sf_sandbox, sync_config):
    sb, sf = sf_sandbox
    cases = [
        (label, f"case{i}@{_D}", overrides, expected) for i, (label, overrides, expected) in enumerate(CORPUS)
    ]
    cases += [(label, login, {}, expected) for label, login, expected in HOSTILE_LOGINS]
    assert len(cases) >= 50
    assignments = [_assignment(i, login, overrides) for i, (_, login, overrides, _) in enumerate(cases)]
    logins = [a.login for a in assignments]
    users_before = len(sb.salesforce_app.users())

    snapshot = read_salesforce(sf, sync_config, assignments)
    assert snapshot.users == []  # none of the hostile logins matched anything by injection
    plan = build_plan(assignments, snapshot.users, sync_config, users=logins, directory=snapshot.directory)
    outcomes = {o.login: o for o in apply_plan(sf, plan, sync_config, snapshot.directory)}
    actions = {a.login: a for a in plan.actions}

    for label, login, _, expected in cases:
        action, outcome = actions[login], outcomes[login]
        if expected == "ok":
            assert action.kind is ActionKind.CREATE, (label, action.reason)
            assert outcome.success, (label, outcome)
            stored = sb.salesforce_app.user(login)
            assert stored is not None, label
            assert stored["FederationIdentifier"] == login
        else:
            assert action.kind is ActionKind.ERROR, (label, action)
            assert expected in {e.field for e in action.errors}, (label, action.errors)
            assert login in action.reason
            assert not outcome.success
            assert outcome.error_code == "INVALID_INPUT"
            assert expected in outcome.fields
            assert sb.salesforce_app.user(login) is None
    ok = sum(1 for *_, expected in cases if expected == "ok")
    assert len(sb.salesforce_app.users()) == users_before + ok

    # Reading back by the hostile values finds exactly the users created, and a rerun does nothing more.
    again = read_salesforce(sf, sync_config, assignments)
    assert {u.fields["FederationIdentifier"] for u in again.users} == {
        login for _, login, _, expected in cases if expected == "ok"
    }
    rerun = build_plan(assignments, again.users, sync_config, users=logins, directory=again.directory)
    assert rerun.writes == []
