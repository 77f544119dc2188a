"""Every file in dags/ loads with Airflow's DagBag, with the contracts users and the UI rely on."""

from __future__ import annotations

from pathlib import Path

import pytest

DAGS = Path(__file__).resolve().parents[2] / "dags"
SYNC_DAGS = ("okta_salesforce_reconcile", "okta_salesforce_sync", "okta_salesforce_events")


@pytest.fixture(scope="module")
def dagbag():
    from okta_salesforce.version_compat import dagbag_class

    DagBag = dagbag_class()

    return DagBag(dag_folder=str(DAGS))


def test_every_dag_file_imports_without_errors(dagbag) -> None:
    assert dagbag.import_errors == {}
    assert set(dagbag.dag_ids) == {
        *SYNC_DAGS,
        "okta_salesforce_report_to_warehouse",
        "okta_salesforce_deprovision_approval",
    }


@pytest.mark.parametrize("dag_id", SYNC_DAGS)
def test_sync_dags_follow_the_contract(dagbag, dag_id: str) -> None:
    dag = dagbag.dags[dag_id]
    assert dag.max_active_runs == 1
    assert dag.doc_md
    for name in ("dry_run", "users", "allow_mass_deactivation"):
        param = dag.params.get_param(name)
        assert param.schema.get("title"), f"{dag_id}.{name} has no title"
        assert param.description, f"{dag_id}.{name} has no description"
    writers = [t for t in dag.tasks if t.task_id in ("plan", "create_users", "deprovision_users")]
    assert {t.pool for t in writers} == {"salesforce_api"}
    assert dag.get_task("report").outlets
    # Provisioning runs never wait for a person: approvals happen in their own DAG.
    from airflow.providers.standard.operators.hitl import HITLOperator

    assert not any(isinstance(t, HITLOperator) for t in dag.tasks)
    assert dag.get_task("request_deprovision_approval").upstream_task_ids == {"deprovision_users"}


def test_the_approval_dag_gates_its_writer(dagbag) -> None:
    dag = dagbag.dags["okta_salesforce_deprovision_approval"]
    assert dag.max_active_runs == 1
    assert dag.schedule is None
    writer = dag.get_task("deprovision_users")
    assert writer.upstream_task_ids == {"approve_deactivations"}
    assert writer.approval_task_id == "approve_deactivations"
    assert writer.pool == "salesforce_api"
    assert dag.get_task("report").outlets


def test_schedules(dagbag) -> None:
    assert dagbag.dags["okta_salesforce_sync"].schedule == "*/15 * * * *"
    assert dagbag.dags["okta_salesforce_reconcile"].schedule == "@daily"


@pytest.mark.parametrize("dag_id", SYNC_DAGS)
def test_entitlements_run_after_the_user_writers(dagbag, dag_id: str) -> None:
    dag = dagbag.dags[dag_id]
    entitle = dag.get_task("entitle_users")
    assert entitle.pool == "salesforce_api"
    assert entitle.trigger_rule == "all_done"
    assert {"create_users", "activate_users", "update_users"} <= entitle.upstream_task_ids
    assert "report" in entitle.downstream_task_ids
