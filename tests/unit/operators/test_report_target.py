"""SyncReportOperator names the report's (DAG id, run id, target) in every line and in the Asset event."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import yaml

from okta_salesforce.escrow_store import MemoryEscrowStore
from okta_salesforce.operators.report import SyncReportOperator
from okta_salesforce.pipeline import REPORT_ASSET
from okta_salesforce.storage import read_jsonl, run_folder, write_jsonl
from okta_salesforce.sync.models import Action, ActionKind

CONFIG = Path(__file__).resolve().parents[3] / "include" / "okta_salesforce.yaml"


class _OutletEvents(dict):
    """Outlet event accessors keyed by the Asset's name (Airflow 3.1's Asset is not hashable here)."""

    def __getitem__(self, asset: Any) -> SimpleNamespace:
        return self.setdefault(asset.name, SimpleNamespace())


@pytest.mark.parametrize(("target", "expected"), [(None, "default"), ("emea", "emea")])
def test_lines_and_the_asset_event_carry_dag_run_and_target(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, target: str | None, expected: str
) -> None:
    monkeypatch.setenv("OKTA_SALESFORCE_STORAGE", tmp_path.as_uri())
    plan_path = run_folder("okta_salesforce_sync", "manual__1") / "plan.jsonl"
    write_jsonl(plan_path, [Action(kind=ActionKind.SKIP, login="ada@acme.example.com").to_dict()])
    outlet_events = _OutletEvents()
    context: Any = {
        "ti": SimpleNamespace(
            dag_id="okta_salesforce_sync", run_id="manual__1", task_id="report", try_number=1
        ),
        "outlet_events": outlet_events,
    }
    kwargs: dict[str, Any] = {}
    if target:  # a named target is an entry of the config's targets: list
        shipped = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))
        config = tmp_path / "targets.yaml"
        config.write_text(yaml.safe_dump({**shipped, "targets": [{"name": target}]}), encoding="utf-8")
        kwargs = {"target": target, "config_path": str(config)}
    operator = SyncReportOperator(
        task_id="report",
        plan={"path": str(plan_path), "guard": {"blocked": False}, "dry_run": False},
        outcomes=[],
        outlets=[REPORT_ASSET],
        escrow_store=MemoryEscrowStore(),  # escrow outside a task: not in Airflow Variables
        **kwargs,
    )

    result = operator.execute(context)

    (line,) = read_jsonl(result["path"])
    assert (line["dag_id"], line["run_id"], line["target"]) == ("okta_salesforce_sync", "manual__1", expected)
    extra = outlet_events[REPORT_ASSET].extra
    assert (extra["dag_id"], extra["run_id"], extra["target"]) == (
        "okta_salesforce_sync",
        "manual__1",
        expected,
    )
    assert extra["report"] == result["path"]
