"""The events Dag's wiring: the fast path in front of the full pipeline, and its threshold setting."""

from __future__ import annotations

import pendulum
import pytest
from airflow.sdk import DAG

from okta_salesforce.event_pipeline import MAX_USERS_ENV, event_pipeline, fast_path_max_users
from okta_salesforce.operators.event_sync import (
    DEFAULT_MAX_USERS,
    EventSyncOperator,
    EventVerdictOperator,
    _retry_left,
)
from okta_salesforce.operators.run_failures import RunFailed


@pytest.mark.parametrize(("value", "expected"), [(None, DEFAULT_MAX_USERS), ("0", 0), (" 7 ", 7)])
def test_the_threshold_comes_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, value: str | None, expected: int
) -> None:
    if value is None:
        monkeypatch.delenv(MAX_USERS_ENV, raising=False)
    else:
        monkeypatch.setenv(MAX_USERS_ENV, value)
    assert fast_path_max_users() == expected


@pytest.mark.parametrize("value", ["many", "-1"])
def test_a_bad_threshold_names_the_variable(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv(MAX_USERS_ENV, value)
    with pytest.raises(ValueError, match=MAX_USERS_ENV):
        fast_path_max_users()


def test_event_sync_is_the_only_root_and_the_full_pipeline_hangs_behind_it() -> None:
    with DAG("okta_salesforce_events", schedule=None, start_date=pendulum.datetime(2026, 1, 1)) as dag:
        task = event_pipeline(max_users=5)

    assert isinstance(task, EventSyncOperator)
    assert [t.task_id for t in dag.roots] == ["event_sync"]
    # poll_okta and plan both read the users event_sync hands over (the same ``users`` argument).
    assert task.downstream_task_ids == {"poll_okta", "plan", "event_request_approval", "event_check_run"}
    assert task.max_users == 5
    assert [outlet.name for outlet in task.outlets] == ["okta_salesforce_user_report__event_sync"]
    assert {"plan", "report", "check_run", "request_deprovision_approval"} <= set(dag.task_ids)


@pytest.mark.parametrize(
    ("try_number", "max_tries", "retries", "left"),
    [(1, 2, 2, True), (3, 2, 2, False), (1, 0, 0, False), (1, None, 1, True), (2, None, 1, False)],
)
def test_a_retry_is_left_while_the_try_is_within_max_tries(
    try_number: int, max_tries: int | None, retries: int, left: bool
) -> None:
    ti = type("Ti", (), {"try_number": try_number})()
    if max_tries is not None:
        ti.max_tries = max_tries
    assert _retry_left(ti, retries) is left


def test_the_verdict_fails_the_run_with_the_fast_paths_reason_and_passes_otherwise() -> None:
    verdict = EventVerdictOperator(task_id="event_check_run", result={"failure": "1 of 2 writes failed"})
    with pytest.raises(RunFailed, match="1 of 2 writes failed"):
        verdict.execute({})  # type: ignore[arg-type]
    EventVerdictOperator(task_id="event_check_run", result={"failure": None}).execute({})  # type: ignore[arg-type]
