"""SOQL built from data: escaping, and IN lists that respect Salesforce's request limits."""

from __future__ import annotations

from urllib.parse import quote_plus

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from okta_salesforce.sync.soql import STRING_MAX, SoqlValueError, escape, in_queries, quote
from okta_salesforce_testbed.sandbox import soql as sandbox_soql

HOSTILE = [
    "' OR Username LIKE '%",
    "x\\' OR '1'='1",
    "\\",
    "o'brien@x.example.com",
    'say "hi"',
    "line\nbreak",
    "山田 太郎",
    "😀",
    "مرحبا",
    "%_",
]


def _in_values(statement: str) -> list[str]:
    """The literal values of the IN list, as the sandbox's SOQL parser reads them."""
    parsed = sandbox_soql.parse(statement)
    condition = parsed.where
    return [v.value for v in condition.value]


def test_escape_rules():
    assert escape("a'b") == "a\\'b"
    assert escape("a\\b") == "a\\\\b"
    assert escape('a"b') == 'a\\"b'
    assert escape("a\nb\tc") == "a\\nb\\tc"
    with pytest.raises(SoqlValueError):
        escape("a\x00b")
    with pytest.raises(SoqlValueError):
        quote("x" * (STRING_MAX + 1))


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_values_stay_one_literal(value):
    statements = list(in_queries("SELECT Id FROM User", "Username", [value]))
    assert len(statements) == 1
    assert _in_values(statements[0]) == [value]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cs")), min_size=1, max_size=90),
        max_size=120,
    )
)
def test_every_value_lands_in_exactly_one_statement_under_the_uri_target(values):
    prefix = len("https://example.my.salesforce.com/services/data/v62.0/query/?q=")
    statements = list(in_queries("SELECT Id FROM User", "Username", values, uri_prefix_len=prefix))
    seen = []
    for statement in statements:
        assert prefix + len(quote_plus(statement, safe="")) <= 2000
        seen.extend(_in_values(statement))
    assert sorted(seen) == sorted(set(values))


def test_many_values_are_chunked():
    values = [f"user{i}@acme.example.com" for i in range(1000)]
    statements = list(in_queries("SELECT Id FROM User", "Username", values, uri_prefix_len=60))
    assert len(statements) > 10
    assert sum(len(_in_values(s)) for s in statements) == 1000


def test_values_that_cannot_fit_are_left_out():
    statements = list(in_queries("SELECT Id FROM User", "Username", ["山" * 500, "ok@x.example.com"]))
    assert [_in_values(s) for s in statements] == [["ok@x.example.com"]]
