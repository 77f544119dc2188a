"""What parsing the package's DAG files imports: no pydantic config models, no ORM, no standard-provider
operators (docs/performance-history.md, "DAG parse against a same-shape DAG"). Checked in a fresh process."""

from __future__ import annotations

import functools
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]

#: Modules a DAG file's parse must not import (each cost milliseconds to tens of them).
HEAVY = (
    "okta_salesforce.sync.config_model",
    "okta_salesforce.sync.config_reader",
    "okta_salesforce.sync.models",
    "okta_salesforce.sync.outcomes",
    "okta_salesforce.sync.snapshot",
    "airflow.providers.standard.operators.hitl",
)
# Not listed: the standard provider's TriggerDagRunOperator (and the ORM it imports). The approval
# request subclasses it on purpose (Airflow draws the DAG dependency and the "Triggered DAG" link only
# for it), and the DAG processor imports it anyway when it serializes any DAG.

PROVISIONING = ["okta_salesforce_reconcile", "okta_salesforce_sync", "okta_salesforce_events"]

_PROBE = r"""
import json, os, sys
import airflow.sdk
from okta_salesforce.version_compat import dagbag_class
DagBag = dagbag_class()
before = set(sys.modules)
path = sys.argv[1]
bag = DagBag(dag_folder=os.path.dirname(path), collect_dags=False)
dags = bag.process_file(path, only_if_updated=False, safe_mode=False)
new = sorted(set(sys.modules) - before)
try:
    from airflow.serialization.serialized_objects import DagSerialization
except ImportError:  # Airflow 3.1
    from airflow.serialization.serialized_objects import SerializedDAG as DagSerialization
deps = [
    [d["dependency_type"], d["target"], d["dependency_id"]]
    for dag in dags
    for d in DagSerialization.to_dict(dag)["dag"].get("dag_dependencies", [])
]
print("RESULT" + json.dumps({
    "dags": [d.dag_id for d in dags],
    "errors": {k: str(v)[-500:] for k, v in bag.import_errors.items()},
    "new": new,
    "deps": deps,
}))
"""


@pytest.mark.parametrize(
    ("name", "needed"),
    [
        ("okta_salesforce_reconcile", ()),
        ("okta_salesforce_sync", ()),
        ("okta_salesforce_events", ()),
        # Its approval task is the standard provider's human-in-the-loop ApprovalOperator.
        ("okta_salesforce_deprovision_approval", ("airflow.providers.standard.operators.hitl",)),
        ("okta_salesforce_report_to_warehouse", ()),
    ],
)
def test_parsing_a_dag_file_imports_nothing_heavy(name: str, needed: tuple[str, ...]) -> None:
    found = probe(name)
    assert found["errors"] == {}
    assert found["dags"] == [name]
    assert [m for m in HEAVY if m in found["new"] and m not in needed] == []


@pytest.mark.parametrize("name", PROVISIONING)
def test_the_provisioning_dags_still_show_their_dependency_on_the_approval_dag(name: str) -> None:
    """Airflow records a "trigger" dependency only for TriggerDagRunOperator tasks (see HEAVY)."""
    deps = probe(name)["deps"]
    assert ["trigger", "okta_salesforce_deprovision_approval", "request_deprovision_approval"] in deps


@functools.cache
def probe(name: str) -> dict[str, Any]:
    """Parse ``dags/<name>.py`` as the DAG processor does, in a fresh process."""
    result = subprocess.run(
        [sys.executable, "-c", _PROBE, str(REPO / "dags" / f"{name}.py")],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=REPO,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    line = next(line for line in result.stdout.splitlines() if line.startswith("RESULT"))
    found: dict[str, Any] = json.loads(line[len("RESULT") :])
    return found
