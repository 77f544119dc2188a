"""What parsing the package's DAG files imports: no pydantic config models, no ORM, no standard-provider
operators (docs/benchmarks.md, "DAG parse against a same-shape DAG"). Checked in a fresh process."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

#: Modules a DAG file's parse must not import (each cost milliseconds to tens of them).
HEAVY = (
    "okta_salesforce.sync.config_model",
    "okta_salesforce.sync.config_reader",
    "okta_salesforce.sync.models",
    "okta_salesforce.sync.outcomes",
    "okta_salesforce.sync.snapshot",
    "airflow.providers.standard.operators.trigger_dagrun",
    "airflow.providers.standard.operators.hitl",
    "airflow.models.dagrun",
)

_PROBE = r"""
import json, os, sys
import airflow.sdk
from okta_salesforce.version_compat import dagbag_class
DagBag = dagbag_class()
before = set(sys.modules)
path = sys.argv[1]
bag = DagBag(dag_folder=os.path.dirname(path), collect_dags=False)
dags = bag.process_file(path, only_if_updated=False, safe_mode=False)
print("RESULT" + json.dumps({
    "dags": [d.dag_id for d in dags],
    "errors": {k: str(v)[-500:] for k, v in bag.import_errors.items()},
    "new": sorted(set(sys.modules) - before),
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
    found = json.loads(line[len("RESULT") :])
    assert found["errors"] == {}
    assert found["dags"] == [name]
    assert [m for m in HEAVY if m in found["new"] and m not in needed] == []
