"""OktaAssignmentsOperator with a fake Okta hook: templated fields, parameters, the snapshot it returns."""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from pathlib import Path

import pytest

from okta_salesforce.escrow_store import MemoryEscrowStore, load_escrow
from okta_salesforce.operators.okta import OktaAssignmentsOperator
from okta_salesforce.operators.params import as_bool, as_logins
from okta_salesforce.storage import read_jsonl
from okta_salesforce.sync.models import OktaAssignment
from okta_salesforce.sync.snapshot import OktaSnapshot

from .conftest import context


def test_template_fields_are_constructor_parameters_assigned_unchanged() -> None:
    params = inspect.signature(OktaAssignmentsOperator.__init__).parameters
    values = {
        "app_id": "{{ params.app_id }}",
        "mode": "{{ params.mode }}",
        "users": "{{ params.users }}",
        "output_path": "{{ var.value.okta_out }}",
        "cursor_key": "okta_cursor_{{ dag.dag_id }}",
        "dry_run": "{{ params.dry_run }}",
        "escrow_key": "pending_{{ dag.dag_id }}",
    }
    operator = OktaAssignmentsOperator(task_id="read", **values)
    for name in OktaAssignmentsOperator.template_fields:
        assert name in params
        assert params[name].kind is inspect.Parameter.KEYWORD_ONLY
        assert getattr(operator, name) == values[name]


@pytest.mark.parametrize(
    ("users", "expected"),
    [
        (None, []),
        ("", []),
        ([], []),
        (["a@x.com", " b@x.com ", "a@x.com"], ["a@x.com", "b@x.com"]),
        ("a@x.com, b@x.com c@x.com", ["a@x.com", "b@x.com", "c@x.com"]),
        ('["a@x.com", "b@x.com"]', ["a@x.com", "b@x.com"]),
        ('["o\'brien@x.com", "b@x.com"]', ["o'brien@x.com", "b@x.com"]),
    ],
)
def test_users_accepts_lists_and_rendered_strings(users: object, expected: list[str]) -> None:
    assert as_logins(users) == expected  # type: ignore[arg-type]


def test_a_list_rendered_as_python_text_is_refused_with_the_fix() -> None:
    """What a DAG without native rendering makes of a list param: not guessed at, named."""
    with pytest.raises(ValueError, match="render_template_as_native_obj=True"):
        as_logins("['a@x.com', 'b@x.com']")


@pytest.mark.parametrize(
    ("value", "expected"), [(True, True), ("False", False), (" true ", True), (None, False)]
)
def test_bools_accept_real_and_spelled_values(value: object, expected: bool) -> None:
    assert as_bool(value, name="dry_run") is expected  # type: ignore[arg-type]


def test_a_bool_that_is_neither_is_an_error_naming_the_param() -> None:
    with pytest.raises(ValueError, match="allow_mass_deactivation: expected true or false"):
        as_bool("perhaps", name="allow_mass_deactivation")


def test_unknown_mode_fails_before_any_call() -> None:
    operator = OktaAssignmentsOperator(task_id="read", app_id="0oa1", mode="everything")
    with pytest.raises(ValueError, match="mode must be one of"):
        operator.execute({})  # type: ignore[arg-type]


class FakeOktaHook:
    """The OktaHook calls ``poll_okta`` makes, answered from a dict of login → assigned."""

    def __init__(self, people: dict[str, bool], **kwargs: object) -> None:
        self.people = people

    def __enter__(self) -> FakeOktaHook:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def _record(self, login: str) -> OktaAssignment:
        assigned = self.people.get(login, False)
        return OktaAssignment(
            okta_user_id=f"00u_{login}",
            login=login,
            app_username=login,
            assignment_status="ACTIVE" if assigned else "UNASSIGNED",
            scope="USER",
            user_status="ACTIVE",
            profile={"login": login},
            assigned=assigned,
        )

    def iter_assignments(self, app_id: str, *, attributes: object = None) -> Iterator[OktaAssignment]:
        return (self._record(login) for login, assigned in self.people.items() if assigned)

    def iter_assignment_rows(self, app_id: str, *, attributes: object = None) -> Iterator[dict[str, object]]:
        return (record.to_dict() for record in self.iter_assignments(app_id, attributes=attributes))

    def iter_assignments_for_logins(self, app_id: str, logins: list[str]) -> Iterator[OktaAssignment]:
        return (self._record(login) for login in logins)

    def get_assignments(self, app_id: str, by_id: dict[str, str]) -> list[OktaAssignment]:
        return [self._record(login) for login in by_id.values()]


@pytest.fixture
def okta(monkeypatch: pytest.MonkeyPatch) -> dict[str, bool]:
    import okta_salesforce.hooks.okta as hook_module

    people = {"ada@x.com": True, "bob@x.com": True, "cy@x.com": False}
    monkeypatch.setattr(hook_module, "OktaHook", lambda **kwargs: FakeOktaHook(people, **kwargs))
    return people


def poll(**kwargs: object) -> OktaSnapshot:
    operator = OktaAssignmentsOperator(task_id="poll_okta", app_id="0oa1", groups=[], **kwargs)  # type: ignore[arg-type]
    return OktaSnapshot.from_xcom(operator.execute(context("poll_okta")))  # type: ignore[arg-type]


def test_a_full_read_is_a_complete_snapshot(run_files: Path, okta: dict) -> None:
    snapshot = poll(dry_run=True)
    assert (snapshot.mode, snapshot.complete, snapshot.dry_run) == ("full", True, True)
    assert (snapshot.count, snapshot.assigned, snapshot.unassigned) == (2, 2, 0)
    assert snapshot.path.endswith("/okta_full_poll_okta_try1.jsonl")
    assert [row["login"] for row in read_jsonl(snapshot.path)] == ["ada@x.com", "bob@x.com"]
    assert OktaSnapshot.from_xcom(snapshot.to_xcom()) == snapshot


def test_an_on_demand_read_writes_its_users_ahead_into_escrow(run_files: Path, okta: dict) -> None:
    store = MemoryEscrowStore()
    snapshot = poll(users=["ada@x.com", "cy@x.com"], escrow_store=store, escrow_key="pending")

    assert (snapshot.mode, snapshot.complete, snapshot.requested) == ("users", False, 2)
    assert (snapshot.assigned, snapshot.unassigned) == (1, 1)
    assert snapshot.escrow is not None
    assert (snapshot.escrow.key, snapshot.escrow.written_ahead) == ("pending", 2)
    assert sorted(u.login for u in load_escrow(store, "pending")) == ["ada@x.com", "cy@x.com"]


def test_a_dry_run_leaves_escrow_alone(run_files: Path, okta: dict) -> None:
    store = MemoryEscrowStore()
    snapshot = poll(users="ada@x.com", dry_run=True, escrow_store=store, escrow_key="pending")
    assert (snapshot.dry_run, snapshot.escrow) == (True, None)
    assert store.load("pending") is None
