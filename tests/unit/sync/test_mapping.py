"""Mapping Okta profiles to Salesforce User fields, validated as Salesforce would."""

from __future__ import annotations

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from sync_helpers import CONFIG_PATH, make_assignment

from okta_salesforce.sync.config import parse_config
from okta_salesforce.sync.fields import utf16_len
from okta_salesforce.sync.mapping import IdentityAllocator, Mapper, fold_ascii


def _config(**mapping):
    raw = yaml.safe_load(CONFIG_PATH.read_text())
    raw["mapping"].update(mapping)
    return parse_config(raw)


def test_template_fields(config):
    mapped = Mapper(config).map(make_assignment("ava.smith@acme.example.com", department="Engineering"))
    assert not mapped.errors
    assert mapped.values["Username"] == "ava.smith@acme.example.com"
    assert mapped.values["FederationIdentifier"] == "ava.smith@acme.example.com"
    assert mapped.values["ProfileId"] == "Chatter Free User"
    assert mapped.values["EmailEncodingKey"] == "UTF-8"
    assert mapped.values["LanguageLocaleKey"] == "en_US"
    assert mapped.values["TimeZoneSidKey"] == "America/New_York"
    assert "Alias" not in mapped.values  # generated at plan time


def test_lookup_is_case_insensitive_and_falls_back_to_default(config):
    mapper = Mapper(config)
    assert mapper.map(make_assignment("a@x.example.com", department=" marketing ")).values["ProfileId"] == (
        "Marketing User"
    )
    assert (
        mapper.map(make_assignment("a@x.example.com", department="Legal")).values["ProfileId"]
        == "Standard User"
    )
    assert (
        mapper.map(make_assignment("a@x.example.com", department=None)).values["ProfileId"] == "Standard User"
    )


def test_template_defaults_when_okta_has_no_value_or_a_bad_one(config):
    mapper = Mapper(config, {"TimeZoneSidKey": ["America/Los_Angeles", "Europe/Paris"]})
    missing = mapper.map(make_assignment("a@x.example.com", timezone=None, locale=None))
    assert missing.values["TimeZoneSidKey"] == "America/Los_Angeles"
    assert missing.values["LocaleSidKey"] == "en_US"
    bad = mapper.map(
        make_assignment("a@x.example.com", timezone="Mars/Olympus_Mons", locale="xx-not-a-locale")
    )
    assert bad.values["TimeZoneSidKey"] == "America/Los_Angeles"
    assert bad.values["LocaleSidKey"] == "en_US"
    assert any("TimeZoneSidKey" in w for w in bad.warnings)
    assert not bad.errors
    assert mapper.map(make_assignment("a@x.example.com", timezone="Europe/Paris")).values[
        "TimeZoneSidKey"
    ] == ("Europe/Paris")


def test_org_picklist_narrows_the_builtin_list(config):
    mapper = Mapper(config, {"TimeZoneSidKey": ["America/Los_Angeles"]})
    mapped = mapper.map(make_assignment("a@x.example.com", timezone="Asia/Kathmandu"))
    assert mapped.values["TimeZoneSidKey"] == "America/Los_Angeles"


def test_locale_with_hyphen_is_normalised(config):
    assert (
        Mapper(config).map(make_assignment("a@x.example.com", locale="de-DE")).values["LocaleSidKey"]
        == "de_DE"
    )


def test_expression_in_a_sandbox():
    config = _config(
        Title={"source": "expression", "template": "{{ firstName[:1] ~ lastName }}"},
        Division={"source": "expression", "template": "{{ ''.__class__.__mro__[1].__subclasses__() }}"},
        Country={"source": "expression", "template": "{{ 1 / 0 }}"},
        CompanyName={"source": "expression", "template": "{{ department | upper }}-{{ missing.attr }}"},
    )
    mapped = Mapper(config).map(
        make_assignment("ava.smith@acme.example.com", firstName="Ava", lastName="Smith")
    )
    assert mapped.values["Title"] == "ASmith"
    assert mapped.values["CompanyName"] == "SALES-"
    assert "Division" not in mapped.values  # unsafe attributes: undefined or an error, never data
    assert {e.field for e in mapped.errors} == {"Division", "Country"}
    assert "expression failed" in mapped.errors[0].message


def test_field_errors_name_the_field(config):
    mapper = Mapper(config)
    mapped = mapper.map(make_assignment("a@x.example.com", email="not-an-email", title="x" * 81))
    fields = {e.field: e.message for e in mapped.errors}
    assert "not a valid email" in fields["Email"]
    assert "at most 80" in fields["Title"]
    missing = mapper.map(make_assignment("a@x.example.com", lastName="  "))
    assert [e.field for e in mapper.required_errors(missing)] == ["LastName"]


def test_lengths_count_utf16_units_like_salesforce(config):
    mapper = Mapper(config)
    assert not mapper.map(make_assignment("a@x.example.com", firstName="😀" * 20)).errors
    assert [e.field for e in mapper.map(make_assignment("a@x.example.com", firstName="😀" * 21)).errors] == [
        "FirstName"
    ]


def test_truncate_option_cuts_without_splitting_characters():
    config = _config(Title={"source": "attribute", "attribute": "title", "truncate": True})
    mapped = Mapper(config).map(make_assignment("a@x.example.com", title="😀" * 50))
    assert utf16_len(mapped.values["Title"]) <= 80
    assert mapped.values["Title"] == "😀" * 40


def test_control_characters_and_structured_values_are_refused(config):
    mapped = Mapper(config).map(make_assignment("a@x.example.com", title="a\x00b", department=["Sales"]))
    assert {e.field for e in mapped.errors} == {"Title", "Department", "ProfileId"}


def test_username_is_lowercased(config):
    mapped = Mapper(config).map(make_assignment("Ava.Smith@Acme.example.com"))
    assert mapped.values["Username"] == "ava.smith@acme.example.com"


def test_permission_set_rules(config):
    raw = yaml.safe_load(CONFIG_PATH.read_text())
    raw["permission_sets"] = [
        {
            "name": "Sales_Operations",
            "when": [{"attribute": "department", "operator": "in", "values": ["sales"]}],
        },
        {"name": "Knowledge_User"},
    ]
    mapper = Mapper(parse_config(raw))
    assert mapper.map(make_assignment("a@x.example.com")).permission_sets == (
        "Sales_Operations",
        "Knowledge_User",
    )
    assert mapper.map(make_assignment("a@x.example.com", department="Finance")).permission_sets == (
        "Knowledge_User",
    )


def test_fold_ascii():
    assert fold_ascii("Søren Ø'Brien-Łukasz") == "SorenOBrienLukasz"
    assert fold_ascii("山田") == ""


def test_alias_and_nickname_are_unique_and_deterministic():
    taken_aliases = ["asmith"]
    values = {"FirstName": "Ava", "LastName": "Smith"}
    first = IdentityAllocator(taken_aliases, ["ava.smith"])
    again = IdentityAllocator(taken_aliases, ["ava.smith"])
    alias = first.alias("ava.smith@a.example.com", values)
    assert alias != "asmith"
    assert len(alias) <= 8
    assert again.alias("ava.smith@a.example.com", values) == alias
    assert first.nickname("ava.smith@a.example.com", values) != "ava.smith"
    assert (
        IdentityAllocator().alias("taro@x.example.com", {"FirstName": "太郎", "LastName": "山田"}) == "taro"
    )


@settings(max_examples=50, deadline=None)
@given(
    st.lists(
        st.tuples(st.text(max_size=12), st.text(max_size=30), st.from_regex(r"[a-z.]{1,10}", fullmatch=True)),
        max_size=60,
    )
)
def test_generated_identities_never_collide(people):
    allocator = IdentityAllocator(["asmith", "user"], ["user"])
    aliases, nicknames = set(), set()
    for i, (first, last, local) in enumerate(people):
        login = f"{local}{i}@x.example.com"
        values = {"FirstName": first, "LastName": last}
        alias = allocator.alias(login, values)
        nickname = allocator.nickname(login, values)
        assert 0 < len(alias) <= 8
        assert 0 < utf16_len(nickname) <= 40
        assert alias.casefold() not in aliases
        assert nickname.casefold() not in nicknames
        aliases.add(alias.casefold())
        nicknames.add(nickname.casefold())


class _CountingSet(set):
    """A set that counts membership checks (the work an allocator does)."""

    checks = 0

    def __contains__(self, key: object) -> bool:
        type(self).checks += 1
        return super().__contains__(key)


def test_aliases_past_the_hash_suffixes_cost_linear_work():
    # Every user shares the alias base "flast123" and every hash-suffixed candidate is taken, so
    # each alias comes from the counter: the allocator must not re-check the counters it already
    # handed out (that was quadratic: a million-user plan did not finish).
    from okta_salesforce.sync.identities import _candidates

    logins = [f"user{i}@x.example.com" for i in range(300)]
    values = {"FirstName": "First", "LastName": "Last123"}
    hashed = {c for login in logins for c in list(_candidates("flast123", login, 8))[1:]}
    allocator = IdentityAllocator(hashed)
    allocator._aliases = _CountingSet(allocator._aliases)
    _CountingSet.checks = 0
    aliases = [allocator.alias(login, values) for login in logins]
    # the same values as ever: the base, then the lowest free counter each time
    counters = dict.fromkeys("flast123"[: 8 - len(f"{c:x}")] + f"{c:x}" for c in range(1000))
    assert aliases == ["flast123", *[a for a in counters if a != "flast123"][: len(logins) - 1]]
    assert _CountingSet.checks <= 12 * len(logins)


_TEXTS = st.one_of(
    st.text(alphabet=st.characters(max_codepoint=0x7F), max_size=90),
    st.from_regex(r"[ \t]?[A-Za-z0-9._%+-]{1,20}@[a-z]{1,10}\.(com|example\.org)[ \n]?", fullmatch=True),
    st.text(max_size=50),
    st.none(),
    st.integers(),
    st.booleans(),
)


@settings(max_examples=300, deadline=None)
@given(raw=_TEXTS)
def test_the_fast_check_of_plain_text_agrees_with_the_full_one(raw):
    from okta_salesforce.sync.plain_text import PlainText

    mapper = Mapper(_config(Title={"source": "attribute", "attribute": "title", "max_length": 12}))
    checked = 0
    for mapping in mapper.config.mapping:
        plain = PlainText.of(mapping, mapper._few)
        if plain is None:
            continue
        checked += 1
        fast = plain(raw)
        if fast is not None:
            assert fast == mapper._validate(mapping, raw), mapping.target
    assert checked >= 6  # Username, FederationIdentifier, names, Email, Department, Title, ...


@settings(max_examples=200, deadline=None)
@given(raw=_TEXTS, department=_TEXTS)
def test_map_gives_each_field_what_the_full_check_gives(raw, department):
    """Mapper.map takes fast paths inline (plain text, remembered values); field by field they agree
    with field_value, the full path."""
    from okta_salesforce.sync.expressions import assignment_context

    mapper = Mapper(_config(Title={"source": "attribute", "attribute": "title", "max_length": 12}))
    profile = {"title": raw, "firstName": raw, "email": raw, "department": department, "lastName": raw}
    for _ in range(2):  # the second time from the memo
        assignment = make_assignment("a@x.example.com", **profile)
        mapped = mapper.map(assignment)
        context = assignment_context(assignment)
        errors = {e.field: e.message for e in mapped.errors}
        for mapping in mapper.config.mapping:
            if mapping.source.value == "generated" or mapping.target == "ManagerId":
                continue
            value, error, _ = mapper.field_value(mapping, context)
            assert errors.get(mapping.target) == error, mapping.target
            assert mapped.values.get(mapping.target) == (None if error else value), mapping.target


def _reference_alias(base, login, taken):
    """The allocator's rule, spelled naively: the hash candidates, then the lowest free counter."""
    from okta_salesforce.sync.fields import truncate_utf16
    from okta_salesforce.sync.identities import _candidates

    for candidate in _candidates(base, login, 8):
        if candidate not in taken:
            taken.add(candidate)
            return candidate
    counter = 0
    while (candidate := truncate_utf16(base, 8 - len(f"{counter:x}")) + f"{counter:x}") in taken:
        counter += 1
    taken.add(candidate)
    return candidate


def test_aliases_of_bases_sharing_a_prefix_cost_linear_work():
    # "flast100".."flast999" all count into the same shorter prefixes ("flast1" + 2 hex digits,
    # "flast" + 3...): each base must not walk again over what the others took.
    from okta_salesforce.sync.identities import _candidates

    people = [(f"user{i}@x.example.com", f"Last{i}") for i in range(100, 1600)]
    hashed = {c for login, last in people for c in list(_candidates(f"f{last}"[:8].lower(), login, 8))[1:]}
    allocator = IdentityAllocator(hashed)
    allocator._aliases = _CountingSet(allocator._aliases)
    _CountingSet.checks = 0
    aliases = [allocator.alias(login, {"FirstName": "First", "LastName": last}) for login, last in people]
    taken = set(hashed)
    expected = [_reference_alias(f"f{last}"[:8].lower(), login, taken) for login, last in people]
    assert aliases == expected
    assert _CountingSet.checks <= 12 * len(people)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from(["a", "b"]), st.sampled_from(["Ab", "Abc", "Abcdefgh"])), max_size=80),
    st.sets(st.from_regex(r"(ab|aab|babc)[0-9a-f]{1,4}", fullmatch=True), max_size=200),
)
def test_aliases_are_the_lowest_free_counter_as_before(people, taken):
    from okta_salesforce.sync.identities import _candidates

    logins = [f"u{i}@x.example.com" for i in range(len(people))]
    bases = [(first + last)[:8].lower() for first, last in people]
    # every hash candidate taken: each alias comes from the counter
    hashed = {
        c for login, base in zip(logins, bases, strict=False) for c in list(_candidates(base, login, 8))[1:]
    }
    allocator = IdentityAllocator(taken | hashed)
    reference = set(taken | hashed)
    for login, (first, last), base in zip(logins, people, bases, strict=False):
        got = allocator.alias(login, {"FirstName": first, "LastName": last})
        assert got == _reference_alias(base, login, reference)
