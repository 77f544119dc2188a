"""The streaming plan: the same plan as ``build_plan`` from inputs read once, kept on disk, then removed."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

from sync_helpers import make_assignment

from okta_salesforce.sync.directory import frozen_user_logins, iter_users, read_salesforce, resolve_directory
from okta_salesforce.sync.models import DEPROVISION_KINDS, ActionKind, SalesforceUser
from okta_salesforce.sync.plan import build_plan, stream_plan
from okta_salesforce.sync.writer import SalesforceWriter
from seeded_people import person_assignment


def _once(items):
    """An iterator that fails if it is read twice (the stream reads each input once)."""
    consumed = False

    def gen():
        nonlocal consumed
        assert not consumed, "read twice"
        consumed = True
        yield from items

    return gen()


def test_streamed_plan_on_disk_equals_build_plan_and_is_removed(config, org_client, tmp_path: Path):
    client, seed = org_client(users=150)
    assignments = [person_assignment(p) for p in seed.people]
    # Duplicates and case variants of a login: one assignment per login, an assigned one winning.
    assignments += [replace(assignments[0], login=assignments[0].login.upper(), assigned=False)]
    snapshot = read_salesforce(client, config)
    expected = build_plan(assignments, snapshot.users, config, directory=snapshot.directory)
    directory = resolve_directory(client, config)
    streamed = stream_plan(
        _once(assignments),
        _once(iter_users(client, config, directory)),
        config,
        directory=directory,
        frozen=lambda: frozen_user_logins(client),
        folder=str(tmp_path),
    )
    with streamed:
        (store_dir,) = os.listdir(tmp_path)
        assert oct((tmp_path / store_dir).stat().st_mode & 0o777) == "0o700"
        assert oct((tmp_path / store_dir / "plan.sqlite").stat().st_mode & 0o777) == "0o600"
        assert streamed.to_plan() == expected
        assert streamed.summary() == expected.summary()
        assert list(streamed.actions(DEPROVISION_KINDS)) == [
            a for a in expected.actions if a.kind in DEPROVISION_KINDS
        ]
        assert streamed.users_read == len(snapshot.users)
        assert streamed.assignments_read == len(assignments)
    assert os.listdir(tmp_path) == []


def test_freeze_state_read_after_the_users_is_applied(config):
    frozen_user = SalesforceUser(
        id="005f",
        username="frozen@acme.example.com",
        is_active=True,
        fields={
            "FederationIdentifier": "frozen@acme.example.com",
            "Email": "frozen@acme.example.com",
            "UserType": "Standard",
        },
    )
    assignment = make_assignment("frozen@acme.example.com")
    with stream_plan([assignment], [frozen_user], config, frozen=lambda: {"005f": "050f"}) as plan:
        unfreeze = next(plan.actions([ActionKind.UNFREEZE]))
    assert unfreeze.user_login_id == "050f"


def test_a_stop_in_one_batch_carries_to_the_next(config, org_client):
    """The writer streams batches with one transport: a failed request leaves later batches unattempted."""
    client, _ = org_client(users=5)
    directory = read_salesforce(client, config).directory
    creates = build_plan(
        [make_assignment(f"new{i}.x@acme.example.com") for i in range(3)], [], config
    ).actions

    def broken(*args, **kwargs):
        raise ConnectionError("connection reset")

    client.restful = broken  # type: ignore[method-assign]
    writer = SalesforceWriter(client, config, directory, sleep=lambda _: None)
    header = build_plan([], [], config)
    batches = list(writer.apply_batches(header, [creates[:2], creates[2:]]))
    assert [len(b) for b in batches] == [2, 1]
    assert {o.error_code for o in batches[0]} == {"REQUEST_FAILED"}
    assert {o.error_code for o in batches[1]} == {"NOT_ATTEMPTED"}


def test_an_action_as_a_dict_has_every_field_in_order():
    from dataclasses import fields

    from okta_salesforce.sync.models import Action, FieldError

    action = Action(kind=ActionKind.ERROR, login="a@x.example.com", errors=(FieldError("Email", "bad"),))
    data = action.to_dict()
    assert list(data) == [f.name for f in fields(Action)]
    assert data["kind"] == "error"
    assert data["errors"] == [{"field": "Email", "message": "bad"}]
    assert Action.from_dict(data) == action


def test_stored_rows_read_back_equal():
    from okta_salesforce.sync import row_codec

    assignment = replace(make_assignment("a@x.example.com"), groups=("Sales",), assigned=False)
    user = SalesforceUser(id="005a", username="a@x.example.com", is_active=True, fields={"Title": "X"})
    frozen = replace(user, is_frozen=True, user_login_id="050a")
    for record, pack, unpack in (
        (assignment, row_codec.pack_assignment, row_codec.unpack_assignment),
        (user, row_codec.pack_user, row_codec.unpack_user),
        (frozen, row_codec.pack_user, row_codec.unpack_user),
    ):
        again = unpack(pack(record))
        assert again == record
        assert type(again) is type(record)
        assert vars(again) == vars(record)


def test_every_matching_statement_looks_keys_up_by_key(config):
    """A join that searches ``sf_key`` by rule alone reads every key of that rule for each row: the
    claims of ambiguous matches did, quadratic in the number of users sharing an Email."""
    from okta_salesforce.sync.plan_store import PlanStore
    from okta_salesforce.sync.plan_store_sql import INDEXES, MATCH
    from okta_salesforce.sync.scoping import ManagedFilter

    with PlanStore(config.matching, ManagedFilter(config.managed), folder=":memory:") as store:
        store.db.executescript(INDEXES)
        plans = []
        for statement in (s.strip() for s in MATCH.split(";")):
            if statement.startswith("INSERT"):
                select = statement[statement.index("SELECT") :]
                plans.append([row[3] for row in store.db.execute(f"EXPLAIN QUERY PLAN {select}")])
            store.db.execute(statement) if statement else None
    assert plans
    for plan in plans:
        for step in plan[1:]:  # the rows a join looks up for each row of the first
            if "sf_key" in step or " sk " in f" {step} ":
                assert "key=?" in step, plan


def _sf_user(n: int, login: str, **fields: str) -> SalesforceUser:
    base = {"FederationIdentifier": login, "Email": login, "UserType": "Standard"}
    base.update(fields)
    return SalesforceUser(id=f"005{n:015d}", username=login, is_active=True, fields=base)


def test_a_lone_surrogate_in_a_login_or_email_fails_only_its_record(config, tmp_path: Path):
    """UTF-8 cannot hold a lone surrogate; the store must not crash on one: a per-record error naming it."""
    good = [make_assignment(f"good{i}@acme.example.com") for i in range(3)]
    bad_login = make_assignment("bad\ud800@acme.example.com")
    bad_email = make_assignment("mail@acme.example.com", email="mail\udc80@acme.example.com")
    users = [
        _sf_user(1, "good1@acme.example.com"),
        _sf_user(2, "sf\ud83d@acme.example.com"),  # a Salesforce Username with one
        _sf_user(3, "other@acme.example.com", Email="other\udfff@acme.example.com"),
        _sf_user(4, "fed@acme.example.com", FederationIdentifier="fed\ud800@acme.example.com"),
    ]
    assignments = [good[0], bad_login, good[1], bad_email, good[2]]
    with stream_plan(assignments, users, config, folder=str(tmp_path)) as plan:
        actions = list(plan.actions())
    by_login = {a.login: a for a in actions}
    # the good users are planned as without the bad ones
    with stream_plan(good, users, config, folder=str(tmp_path)) as clean:
        expected = {a.login: a for a in clean.actions()}
    for assignment in good:
        assert by_login[assignment.login] == expected[assignment.login]
    # each bad Okta record is an error that names its field and says why
    error = by_login["bad\ud800@acme.example.com"]
    assert error.kind is ActionKind.ERROR
    assert "surrogate" in error.reason
    assert "Username" in error.reason
    error = by_login["mail@acme.example.com"]
    assert error.kind is ActionKind.ERROR
    assert "surrogate" in error.reason
    assert "Email" in error.reason
    # nothing is lost: every assignment and every Salesforce user has its outcome
    assert {a.login for a in assignments} <= set(by_login)
    assert plan.users_read == len(users)
    # the Salesforce users with one (no longer assigned) are deprovisioned like any other
    deprovisioned = {a.salesforce_id for a in actions if a.kind in DEPROVISION_KINDS}
    assert deprovisioned == {"005000000000000002", "005000000000000003", "005000000000000004"}


def test_a_key_with_a_lone_surrogate_still_matches_exactly(config, tmp_path: Path):
    """Stored as bytes, such a key matches the same key (so its user is not deprovisioned) and no other."""
    login = "twin\ud800@acme.example.com"
    users = [_sf_user(1, login), _sf_user(2, "twin\ud801@acme.example.com")]
    with stream_plan([make_assignment(login)], users, config, folder=str(tmp_path)) as plan:
        actions = list(plan.actions())
    (error,) = [a for a in actions if a.login == login]
    assert error.kind is ActionKind.ERROR
    assert error.salesforce_id == "005000000000000001"
    deprovisioned = {a.salesforce_id for a in actions if a.kind in DEPROVISION_KINDS}
    assert deprovisioned == {"005000000000000002"}
