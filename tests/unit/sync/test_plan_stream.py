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
