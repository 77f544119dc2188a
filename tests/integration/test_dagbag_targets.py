"""A config with ``targets:`` loads one DAG set per target, each wired to its own names and connections.

The DagBag is built in a child process: the DAG modules read the config once, when first imported,
and this test process already imported them for the config without targets.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]

_PROBE = r"""
import json, sys
from okta_salesforce.version_compat import dagbag_class

bag = dagbag_class()(dag_folder=sys.argv[1])
out = {"errors": {k: str(v) for k, v in bag.import_errors.items()}, "dags": {}}
for dag_id, dag in bag.dags.items():
    tasks = {}
    for t in dag.tasks:
        keys = ("pool", "okta_conn_id", "salesforce_conn_id", "target", "cursor_key", "escrow_key",
                "trigger_dag_id", "app_id")
        tasks[t.task_id] = {k: getattr(t, k) for k in keys if isinstance(getattr(t, k, None), str)}
        tasks[t.task_id]["outlets"] = [o.name for o in t.outlets if getattr(o, "name", None)]
    found = []
    def walk(node):
        if node is None:
            return
        if hasattr(node, "objects"):
            for child in node.objects:
                walk(child)
        elif getattr(node, "name", None):  # Airflow 3.1: a _NullAsset for a time schedule
            found.append(node)
    walk(dag.timetable.asset_condition)
    assets = [a.name for a in found]
    triggers = [w.trigger.serialize()[1] for a in found for w in getattr(a, "watchers", [])]
    out["dags"][dag_id] = {
        "tasks": tasks, "assets": sorted(assets), "triggers": triggers, "tags": sorted(dag.tags)
    }
print("RESULT" + json.dumps(out, default=str))
"""


def load(dags_folder: Path, config: Path) -> dict[str, Any]:
    env = {**os.environ, "OKTA_SALESFORCE_CONFIG": str(config)}
    result = subprocess.run(
        [sys.executable, "-c", _PROBE, str(dags_folder)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    line = next(line for line in result.stdout.splitlines() if line.startswith("RESULT"))
    return json.loads(line[len("RESULT") :])


@pytest.fixture(scope="module")
def targets_config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    shipped = yaml.safe_load((REPO / "include" / "okta_salesforce.yaml").read_text(encoding="utf-8"))
    del shipped["okta"]["app_id"]
    config = {
        **shipped,
        "targets": [
            {"name": "emea", "okta": {"app_id": "0oaemea", "conn_id": "okta_emea"}},
            {
                "name": "apac",
                "okta": {"app_id": "0oaapac"},
                "salesforce": {"conn_id": "salesforce_apac", "pool": "sf_apac"},
            },
        ],
    }
    path = tmp_path_factory.mktemp("targets") / "okta_salesforce.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def bag(targets_config: Path) -> dict[str, Any]:
    return load(REPO / "dags", targets_config)


def test_one_dag_set_per_target(bag: dict[str, Any]) -> None:
    assert bag["errors"] == {}
    assert set(bag["dags"]) == {
        f"okta_salesforce_{kind}__{name}"
        for kind in ("reconcile", "sync", "events", "deprovision_approval")
        for name in ("emea", "apac")
    } | {"okta_salesforce_report_to_warehouse"}
    assert "target:emea" in bag["dags"]["okta_salesforce_sync__emea"]["tags"]


@pytest.mark.parametrize("kind", ["reconcile", "sync", "events"])
def test_each_target_has_its_connections_pool_asset_cursor_escrow_and_approval_dag(
    bag: dict[str, Any], kind: str
) -> None:
    emea = bag["dags"][f"okta_salesforce_{kind}__emea"]["tasks"]
    apac = bag["dags"][f"okta_salesforce_{kind}__apac"]["tasks"]
    assert emea["poll_okta"] | {"outlets": []} == {
        "pool": "default_pool",  # Okta reads take no Salesforce slot
        "okta_conn_id": "okta_emea",
        "target": "emea",
        "cursor_key": "okta_salesforce_log_cursor__emea",
        "escrow_key": "okta_salesforce_pending__emea",
        "app_id": "0oaemea",
        "outlets": [],
    }
    for task in ("plan", "create_users", "entitle_users", "deprovision_users"):
        assert emea[task]["pool"] == "salesforce_api__emea"
        assert apac[task]["pool"] == "sf_apac"
        assert (emea[task]["salesforce_conn_id"], apac[task]["salesforce_conn_id"]) == (
            "salesforce_oauth_default",
            "salesforce_apac",
        )
    assert emea["deprovision_users"]["okta_conn_id"] == "okta_emea"
    assert emea["report"]["outlets"] == ["okta_salesforce_user_report__emea"]
    assert (emea["report"]["target"], emea["report"]["escrow_key"]) == (
        "emea",
        "okta_salesforce_pending__emea",
    )
    assert (
        emea["request_deprovision_approval"]["trigger_dag_id"] == "okta_salesforce_deprovision_approval__emea"
    )


def test_approval_events_and_warehouse_dags_follow_their_target(bag: dict[str, Any]) -> None:
    approval = bag["dags"]["okta_salesforce_deprovision_approval__apac"]["tasks"]
    assert approval["deprovision_users"] | {"outlets": []} == {
        "pool": "sf_apac",
        "okta_conn_id": "okta_default",
        "salesforce_conn_id": "salesforce_apac",
        "target": "apac",
        "outlets": [],
    }
    assert approval["report"]["outlets"] == ["okta_salesforce_user_report__apac"]
    assert approval["approve_deactivations"]["target"] == "apac"

    events = bag["dags"]["okta_salesforce_events__emea"]
    assert events["assets"] == ["okta_salesforce_assignment_events__emea"]
    (trigger,) = events["triggers"]
    assert (trigger["okta_conn_id"], trigger["app_id"]) == ("okta_emea", "0oaemea")

    assert bag["dags"]["okta_salesforce_report_to_warehouse"]["assets"] == [
        "okta_salesforce_user_report__apac",
        "okta_salesforce_user_report__emea",
    ]


def test_a_thin_file_from_before_targets_says_how_to_update_it(tmp_path: Path, targets_config: Path) -> None:
    (tmp_path / "okta_salesforce_sync.py").write_text(
        "from okta_salesforce.dags.sync import dag  # noqa: F401 - Airflow finds the DAG here\n"
    )
    result = load(tmp_path, targets_config)
    (error,) = result["errors"].values()
    assert "okta-salesforce init --force" in error
    assert "okta_salesforce_sync__emea" in error
