"""DeprovisionUsersOperator and RequestDeprovisionApprovalOperator with fake hooks: hold, request, refuse."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from okta_salesforce.operators.deprovision import (
    DeprovisionResult,
    DeprovisionUsersOperator,
    RequestDeprovisionApprovalOperator,
)
from okta_salesforce.operators.plan import PlanHandle
from okta_salesforce.sync.models import Action, ActionKind, GuardResult
from okta_salesforce.version_compat import AirflowSkipException

from .conftest import context, plan_handle

TRIPPED = GuardResult(tripped=True, allowed=False, deprovisions=30, managed_active=40, message="Too many.")


def leavers(count: int) -> list[Action]:
    return [
        Action(kind=ActionKind.DEACTIVATE, login=f"u{i}@x.com", salesforce_id=f"005{i:03}")
        for i in range(count)
    ]


@pytest.fixture
def no_connections(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to reach Okta or Salesforce fails the test."""
    import okta_salesforce.hooks.okta as okta_module
    import okta_salesforce.hooks.salesforce as sf_module

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("no connection expected")

    monkeypatch.setattr(sf_module.SalesforceOAuthHook, "get_conn", refuse)
    monkeypatch.setattr(okta_module.OktaHook, "__enter__", refuse)


def test_a_provisioning_run_holds_a_plan_over_the_guard(run_files: Path, no_connections: None) -> None:
    plan = plan_handle(leavers(30), guard=TRIPPED, incremental=False)
    operator = DeprovisionUsersOperator(task_id="deprovision_users", plan=plan, allow_mass_deactivation=True)

    result = DeprovisionResult.from_xcom(operator.execute(context("deprovision_users")))

    assert (result.held, result.success, result.failed) == (30, 0, 0)
    assert result.request is not None
    request = result.request
    assert request.plan_id == PlanHandle.from_xcom(plan).plan_id
    assert set(request.action_paths) == {"deactivate"}
    assert request.path == request.action_paths["deactivate"]
    assert not request.dry_run


def test_a_dry_run_describes_and_writes_nothing(run_files: Path, no_connections: None) -> None:
    plan = plan_handle(leavers(2), dry_run=True)
    result = DeprovisionUsersOperator(task_id="deprovision_users", plan=plan).execute(
        context("deprovision_users")
    )
    assert (result["dry_run"], result["held"], result["request"]) == (True, 0, None)


def test_nobody_to_deprovision_is_an_empty_result(run_files: Path, no_connections: None) -> None:
    plan = plan_handle([Action(kind=ActionKind.SKIP, login="a@x.com")])
    result = DeprovisionUsersOperator(task_id="deprovision_users", plan=plan).execute(
        context("deprovision_users")
    )
    assert (result["success"], result["failed"], result["held"]) == (0, 0, 0)


def test_the_request_skips_when_nothing_was_held() -> None:
    operator = RequestDeprovisionApprovalOperator(task_id="request_deprovision_approval", held=None)
    with pytest.raises(AirflowSkipException, match="Nothing held"):
        operator.execute(context("request_deprovision_approval"))  # type: ignore[arg-type]


def test_the_request_sends_the_held_plan_once(
    run_files: Path, no_connections: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from airflow.providers.standard.operators.trigger_dagrun import TriggerDagRunOperator

    held = DeprovisionUsersOperator(
        task_id="deprovision_users", plan=plan_handle(leavers(30), guard=TRIPPED, incremental=False)
    ).execute(context("deprovision_users"))
    sent: list[dict[str, Any]] = []
    monkeypatch.setattr(TriggerDagRunOperator, "execute", lambda self, ctx: sent.append(self.conf))

    operator = RequestDeprovisionApprovalOperator(task_id="request_deprovision_approval", held=held)
    operator.execute(context("request_deprovision_approval"))  # type: ignore[arg-type]
    (conf,) = sent
    assert conf["plan"] == held["request"]
    assert conf["source"] == {"dag_id": "okta_salesforce_sync", "run_id": "manual__1"}

    waiting = RequestDeprovisionApprovalOperator(task_id="request_deprovision_approval", held=held)
    with pytest.raises(AirflowSkipException, match="already has a run waiting"):
        waiting.execute(context("request_deprovision_approval", dr_count=1))  # type: ignore[arg-type]


def test_the_request_triggers_through_the_task_runner_exception(
    run_files: Path, no_connections: None
) -> None:
    """No mock: the standard provider's trigger raises the task SDK's DagRunTriggerException."""
    from airflow.providers.common.compat.sdk import DagRunTriggerException

    held = DeprovisionUsersOperator(
        task_id="deprovision_users", plan=plan_handle(leavers(30), guard=TRIPPED, incremental=False)
    ).execute(context("deprovision_users"))
    operator = RequestDeprovisionApprovalOperator(
        task_id="request_deprovision_approval",
        held=held,
        trigger_dag_id="okta_salesforce_deprovision_approval__emea",
        note="held by the guard",
    )
    assert {"held", "conf", "trigger_dag_id"} <= set(operator.template_fields)
    with pytest.raises(DagRunTriggerException) as raised:
        operator.execute(context("request_deprovision_approval"))  # type: ignore[arg-type]
    assert raised.value.trigger_dag_id == "okta_salesforce_deprovision_approval__emea"
    assert raised.value.conf["plan"] == held["request"]
    assert raised.value.wait_for_completion is False
    assert operator.trigger_run_id == raised.value.dag_run_id


def test_the_salesforce_writer_kinds_are_the_models_write_kinds_but_entitle() -> None:
    """Spelled out in the operator module (DAG parsing does not import the models): they must agree."""
    from okta_salesforce.operators.salesforce import ACTION_KINDS
    from okta_salesforce.sync.models import WRITE_KINDS, ActionKind

    assert tuple(sorted(str(kind) for kind in WRITE_KINDS - {ActionKind.ENTITLE})) == ACTION_KINDS
