"""The sandbox's SOQL parser and evaluator: grammar, literals, errors as Salesforce words them."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from okta_salesforce_testbed.sandbox import soql
from okta_salesforce_testbed.sandbox.salesforce_org import Org
from okta_salesforce_testbed.sandbox.salesforce_seed import seed_org
from okta_salesforce_testbed.sandbox.seed import Seed


def test_select_fields_relationships_and_clauses() -> None:
    query = soql.parse(
        "select Id, Profile.Name, Profile.UserLicense.Name FROM User "
        "WHERE IsActive = TRUE AND Username LIKE 'a%' ORDER BY LastName DESC NULLS LAST, Id LIMIT 10 OFFSET 5"
    )
    assert query.sobject == "User"
    assert [f.path for f in query.fields] == [
        ("Id",),
        ("Profile", "Name"),
        ("Profile", "UserLicense", "Name"),
    ]
    assert isinstance(query.where, soql.BoolOp)
    assert query.where.operator == "AND"
    assert [(o.field.dotted, o.descending, o.effective_nulls_last) for o in query.order_by] == [
        ("LastName", True, True),
        ("Id", False, False),
    ]
    assert (query.limit, query.offset) == (10, 5)


def test_count_in_not_in_null_booleans_and_dates() -> None:
    query = soql.parse(
        "SELECT COUNT() FROM User WHERE (Department IN ('Sales', 'Support') OR Title != NULL) "
        "AND NOT Id NOT IN ('005000000000001') AND CreatedDate > 2024-01-31T10:00:00Z AND X <= 2024-02-01"
    )
    assert query.count
    assert not query.fields
    top = query.where
    assert isinstance(top, soql.BoolOp)
    grouped, negated, after, before = top.operands
    assert isinstance(grouped, soql.BoolOp)
    assert grouped.operator == "OR"
    assert isinstance(negated, soql.Not)
    assert negated.operand.operator == "NOT IN"
    assert after.value.value == datetime(2024, 1, 31, 10, tzinfo=UTC)
    assert before.value.value == date(2024, 2, 1)


@pytest.mark.parametrize(
    ("literal", "expected"),
    [
        (r"'O\'Brien'", "O'Brien"),
        (r"'say \"hi\"'", 'say "hi"'),
        (r"'back\\slash'", "back\\slash"),
        (r"'tab\there\nnew'", "tab\there\nnew"),
        (r"'100\%'", "100\\%"),  # kept escaped: only LIKE gives it meaning
        (r"'\u00e9'", "é"),
        ("'山田'", "山田"),
    ],
)
def test_string_escapes(literal: str, expected: str) -> None:
    query = soql.parse(f"SELECT Id FROM User WHERE LastName = {literal}")
    assert query.where.value.value == expected


def test_like_patterns() -> None:
    assert soql.like_to_regex("a%").fullmatch("Alice")
    assert soql.like_to_regex("_ob").fullmatch("Bob")
    assert not soql.like_to_regex("_ob").fullmatch("Boob")
    assert soql.like_to_regex(r"100\%").fullmatch("100%")
    assert not soql.like_to_regex(r"100\%").fullmatch("1000")
    assert soql.like_to_regex(r"a\_b").fullmatch("a_b")
    assert not soql.like_to_regex(r"a\_b").fullmatch("axb")


@pytest.mark.parametrize(
    ("text", "detail"),
    [
        ("SELECT Id FROM User WHERE", "unexpected token: '<EOF>'"),
        ("SELECT Id User", "unexpected token: 'User'"),
        ("SELECT Id FROM User WHERE A = 1 AND B = 2 OR C = 3", "unexpected token: 'OR'"),
        ("SELECT Id FROM User WHERE Name IN ()", "unexpected token: ')'"),
        ("SELECT Id FROM User WHERE Name = 'open", "no viable alternative at character '''"),
        (r"SELECT Id FROM User WHERE Name = 'bad \q'", "Illegal escape sequence '\\q'"),
        ("SELECT Id FROM User LIMIT 10 garbage", "unexpected token: 'garbage'"),
    ],
)
def test_malformed_queries(text: str, detail: str) -> None:
    with pytest.raises(soql.SoqlError) as caught:
        soql.parse(text)
    assert caught.value.error_code == "MALFORMED_QUERY"
    assert detail in caught.value.detail


def test_error_message_points_at_the_token() -> None:
    text = "SELECT Id FROM User WHERE"
    with pytest.raises(soql.SoqlError) as caught:
        soql.parse(text)
    assert caught.value.format(text) == (
        "\nSELECT Id FROM User WHERE\n                         ^\n"
        "ERROR at Row:1:Column:26\nunexpected token: '<EOF>'"
    )


def test_request_size_limits() -> None:
    with pytest.raises(soql.SoqlError, match="cannot be longer than 100000"):
        soql.parse("SELECT Id FROM User WHERE Username IN (" + ",".join(["'x@example.com'"] * 8000) + ")")
    with pytest.raises(soql.SoqlError, match="4000 characters"):
        soql.parse("SELECT Id FROM User WHERE Title = '" + "x" * 4001 + "'")
    soql.parse("SELECT Id FROM User WHERE Title = '" + "x" * 4000 + "'")


@pytest.fixture(scope="module")
def org() -> Org:
    org = Org()
    seed_org(org, Seed(users=120))
    return org


def test_evaluation_case_insensitive_ordering_and_relationships(org: Org) -> None:
    admin = org.query("SELECT Id, Profile.Name FROM User WHERE Username = 'ADMIN@acme.example.com'")
    assert admin.total_size == 1
    rendered = admin.render(admin.records[0], "62.0")
    assert rendered["Profile"]["Name"] == "System Administrator"
    assert rendered["attributes"]["url"].startswith("/services/data/v62.0/sobjects/User/005")

    names = org.query("SELECT LastName FROM User WHERE IsActive = true ORDER BY LastName DESC, Id")
    values = [r["LastName"].casefold() for r in names.records]
    assert values == sorted(values, reverse=True)
    assert org.query("SELECT Id FROM User WHERE Profile.Name LIKE 'chatter%'").total_size > 0
    counted = org.query("SELECT COUNT() FROM User WHERE UserRoleId = null")
    assert counted.count_only
    assert counted.total_size > 0
    limited = org.query("SELECT Id FROM User ORDER BY Username LIMIT 5 OFFSET 2")
    assert limited.total_size == 5


@pytest.mark.parametrize(
    ("text", "code", "detail"),
    [
        ("SELECT Foo FROM User", "INVALID_FIELD", "No such column 'Foo' on entity 'User'"),
        ("SELECT Id FROM Account", "INVALID_TYPE", "sObject type 'Account' is not supported"),
        ("SELECT Boss.Name FROM User", "INVALID_FIELD", "Didn't understand relationship 'Boss'"),
        ("SELECT Id FROM User WHERE IsActive = 'true'", "INVALID_FIELD", "must be of type boolean"),
        ("SELECT Id FROM User WHERE Username = 5", "INVALID_FIELD", "must be of type string"),
        ("SELECT Id FROM User WHERE Id = 'abc'", "INVALID_QUERY_FILTER_OPERATOR", "invalid ID field: abc"),
        (
            "SELECT Id FROM User OFFSET 2001",
            "NUMBER_OUTSIDE_VALID_RANGE",
            "Maximum SOQL offset allowed is 2000",
        ),
    ],
)
def test_schema_errors(org: Org, text: str, code: str, detail: str) -> None:
    with pytest.raises(soql.SoqlError) as caught:
        org.query(text)
    assert caught.value.error_code == code
    assert detail in caught.value.format(text)
