"""DeprovisionApprovalOperator: approvers and notifier from the config, a body listing who, the plan id."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import yaml

from okta_salesforce.operators.approval import DeprovisionApprovalOperator, approval_body

REPO = Path(__file__).resolve().parents[3]


def held_plan(tmp_path: Path, count: int, *, age: timedelta = timedelta(minutes=5)) -> dict[str, Any]:
    listing = tmp_path / "deprovisions_try1.jsonl"
    rows = [
        {"login": f"user{i:03}@acme.example.com", "name": f"User {i:03}", "action": "deactivate"}
        for i in range(count)
    ]
    listing.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return {
        "path": listing.as_uri(),
        "plan_id": "a1b2c3d4e5f6a1b2c3d4e5f6",
        "planned_at": (datetime.now(UTC) - age).isoformat(),
        "run_id": "scheduled__2026-11-30",
        "deprovisions": {"count": count, "path": listing.as_uri()},
        "guard": {"message": "The plan would deactivate or freeze many users."},
    }


def test_body_lists_the_first_50_logins_and_names_the_count_and_the_full_list(tmp_path: Path) -> None:
    plan = held_plan(tmp_path, 60)
    body = approval_body(plan)
    assert "**60**" in body
    assert "`user000@acme.example.com` (User 000)" in body
    assert "`user049@acme.example.com` (User 049)" in body
    assert "user050@" not in body
    assert "… and 10 more" in body
    assert plan["deprovisions"]["path"] in body
    assert plan["plan_id"] in body


@pytest.fixture
def approval_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, webhook_receiver) -> list[dict]:
    raw = yaml.safe_load((REPO / "include" / "okta_salesforce.yaml").read_text(encoding="utf-8"))
    raw["guards"]["approval"] = {
        "assigned_users": [{"id": "ada", "name": "Ada Admin"}],
        "notify_conn_id": "approvals_chat",
    }
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    monkeypatch.setenv("OKTA_SALESFORCE_CONFIG", str(path))
    url = webhook_receiver.pop()["url"]
    monkeypatch.setenv("AIRFLOW_CONN_APPROVALS_CHAT", json.dumps({"conn_type": "http", "host": url}))
    return webhook_receiver


def test_request_names_the_approvers_notifies_them_and_expires_with_the_plan(
    tmp_path: Path, approval_config: list[dict], monkeypatch: pytest.MonkeyPatch
) -> None:
    import airflow.providers.standard.operators.hitl as hitl

    requests: list[dict] = []
    monkeypatch.setattr(hitl, "upsert_hitl_detail", lambda **kwargs: requests.append(kwargs))
    plan = held_plan(tmp_path, 3, age=timedelta(minutes=30))
    operator = DeprovisionApprovalOperator(task_id="approve_deactivations", plan=plan)
    context = {"task_instance": SimpleNamespace(id="ti-1"), "run_id": "manual__1"}
    with pytest.raises(BaseException) as waiting:  # the task parks until a person answers
        operator.execute(context)
    assert type(waiting.value).__name__ in ("TaskAwaitingInput", "TaskDeferred")
    (request,) = requests
    assert request["assigned_users"] == [{"id": "ada", "name": "Ada Admin"}]
    assert request["defaults"] == ["Reject"]
    assert "`user002@acme.example.com` (User 002)" in request["body"]
    # The request times out (answer: Reject) when the plan reaches guards.max_plan_age_minutes (120).
    assert timedelta(minutes=89) < operator.response_timeout <= timedelta(minutes=90)
    (message,) = approval_config
    assert "3 Salesforce users would be deprovisioned" in message["text"]
    assert "Ada Admin" in message["text"]
    assert "user000@acme.example.com (User 000)" in message["text"].replace("`", "")


def test_an_expired_plan_is_not_put_to_anyone(tmp_path: Path, approval_config: list[dict]) -> None:
    from airflow.sdk.exceptions import AirflowException

    operator = DeprovisionApprovalOperator(
        task_id="approve_deactivations", plan=held_plan(tmp_path, 3, age=timedelta(hours=3))
    )
    with pytest.raises(AirflowException, match=r"older than guards\.max_plan_age_minutes"):
        operator.execute({"task_instance": SimpleNamespace(id="ti-1")})
    assert approval_config == []


def test_the_answer_carries_the_plan_id_it_was_given_for(tmp_path: Path) -> None:
    plan = held_plan(tmp_path, 3)
    operator = DeprovisionApprovalOperator(task_id="approve_deactivations", plan=plan)
    at = datetime.now(UTC)
    event = {
        "chosen_options": ["Approve"],
        "params_input": {},
        "responded_at": at,
        "responded_by_user": {"id": "ada", "name": "Ada Admin"},
    }
    pushed: dict[str, Any] = {}
    ti = SimpleNamespace(xcom_push=lambda key, value: pushed.update({key: value}))
    answer = operator.execute_complete({"ti": ti}, event)
    assert pushed == {"approval": answer}
    assert answer == {
        "plan_id": plan["plan_id"],
        "chosen_options": ["Approve"],
        "responded_by_user": {"id": "ada", "name": "Ada Admin"},
        "responded_at": at.isoformat(),
    }


def test_a_reject_is_recorded_with_its_plan_id_too(tmp_path: Path) -> None:
    plan = held_plan(tmp_path, 3)
    operator = DeprovisionApprovalOperator(task_id="approve_deactivations", plan=plan)
    pushed: dict[str, Any] = {}
    ti = SimpleNamespace(xcom_push=lambda key, value: pushed.update({key: value}))
    event = {
        "chosen_options": ["Reject"],
        "params_input": {},
        "responded_at": datetime.now(UTC),
        "responded_by_user": None,
    }
    operator.execute_complete({"ti": ti}, event)
    assert pushed["approval"]["plan_id"] == plan["plan_id"]
    assert pushed["approval"]["chosen_options"] == ["Reject"]
    assert pushed["approval"]["responded_by_user"] is None  # the timeout's default answer
