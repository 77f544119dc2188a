"""The trigger form's ``users`` param: a documented maximum, enforced by Airflow's Param validation."""

from __future__ import annotations

import pytest

from okta_salesforce.pipeline import MAX_ON_DEMAND_USERS, sync_params


@pytest.mark.parametrize("incremental", [False, True])
def test_users_param_has_a_maximum(incremental: bool) -> None:
    from airflow.sdk.definitions.param import ParamsDict

    from okta_salesforce.version_compat import ParamValidationError

    params = sync_params(incremental=incremental)
    users = params["users"]
    assert users.schema["maxItems"] == MAX_ON_DEMAND_USERS
    assert f"at most {MAX_ON_DEMAND_USERS}" in users.description
    logins = [f"u{i}@acme.example.com" for i in range(MAX_ON_DEMAND_USERS)]
    assert users.resolve(logins) == logins
    with pytest.raises(ParamValidationError):
        users.resolve([*logins, "one.more@acme.example.com"])
    ParamsDict(params).validate()  # the defaults stay valid


def test_plan_gets_the_users_the_poll_gets() -> None:
    from airflow.sdk import DAG

    from okta_salesforce.pipeline import sync_pipeline

    with DAG("contracts_check", schedule=None, render_template_as_native_obj=True) as dag:
        sync_pipeline(mode="full", app_id="0oa1", users=["ada@acme.example.com"])
    poll, plan = dag.get_task("poll_okta"), dag.get_task("plan")
    assert plan.users is poll.users  # type: ignore[attr-defined]
    assert plan.dry_run is False  # type: ignore[attr-defined]  # it comes with the snapshot


@pytest.mark.parametrize("module", ["reconcile", "sync", "events", "deprovision_approval"])
def test_the_provisioning_dags_render_params_as_native_objects(module: str) -> None:
    """``{{ params.users }}`` must reach the operators as a list and ``{{ params.dry_run }}`` as a bool."""
    import importlib

    dags = list(importlib.import_module(f"okta_salesforce.dags.{module}").dags.values())  # one per target
    assert dags
    assert all(dag.render_template_as_native_obj for dag in dags)


def test_native_rendering_gives_the_operators_typed_params() -> None:
    from airflow.sdk import DAG

    from okta_salesforce.pipeline import sync_pipeline

    with DAG("contracts_render", schedule=None, render_template_as_native_obj=True) as dag:
        sync_pipeline(mode="incremental", app_id="0oa1")
    poll = dag.get_task("poll_okta")
    params = {"users": ["ada@acme.example.com"], "dry_run": True, "full_resync": False}
    poll.render_template_fields({"params": params, "dag": dag})  # type: ignore[arg-type]
    assert poll.users == ["ada@acme.example.com"]  # type: ignore[attr-defined]
    assert poll.dry_run is True  # type: ignore[attr-defined]
    assert poll.mode == "incremental"  # type: ignore[attr-defined]


def test_the_approval_dag_is_unpaused_when_created() -> None:
    """A paused approval DAG would keep every held plan queued: nobody deprovisioned, nothing visible.

    Airflow pauses new DAGs by default (``dags_are_paused_at_creation``); the provisioning DAGs keep
    that default (an admin turns them on), the approval DAG only ever runs when one of them asks.
    """
    import importlib

    dags = list(importlib.import_module("okta_salesforce.dags.deprovision_approval").dags.values())
    assert dags
    assert all(dag.is_paused_upon_creation is False for dag in dags)
