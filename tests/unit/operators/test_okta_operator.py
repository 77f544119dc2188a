"""OktaAssignmentsOperator without a server: templated fields, parameters, validation."""

from __future__ import annotations

import inspect

import pytest

from okta_salesforce.operators.okta import OktaAssignmentsOperator
from okta_salesforce.operators.params import as_logins


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
        ("[\"o'brien@x.com\", 'b@x.com']", ["o'brien@x.com", "b@x.com"]),
    ],
)
def test_users_accepts_lists_and_rendered_strings(users: object, expected: list[str]) -> None:
    assert as_logins(users) == expected  # type: ignore[arg-type]


def test_unknown_mode_fails_before_any_call() -> None:
    operator = OktaAssignmentsOperator(task_id="read", app_id="0oa1", mode="everything")
    with pytest.raises(ValueError, match="mode must be one of"):
        operator.execute({})  # type: ignore[arg-type]
