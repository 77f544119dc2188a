"""Operators without Airflow's task runner: a fake task instance, run files under ``tmp_path``, plans."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from okta_salesforce.sync.models import Action, GuardResult, Plan

REPO = Path(__file__).resolve().parents[3]
CONFIG = str(REPO / "include" / "okta_salesforce.yaml")
NO_GUARD = GuardResult(tripped=False, allowed=False, deprovisions=0, managed_active=0)


class FakeTi:
    """The task instance methods the operators call, with what they were given kept for asserts."""

    def __init__(
        self,
        task_id: str = "task",
        *,
        dag_id: str = "okta_salesforce_sync",
        run_id: str = "manual__1",
        try_number: int = 1,
        pulls: dict[tuple[str, str], Any] | None = None,
        states: dict[str, str] | None = None,
        dr_count: int = 0,
    ) -> None:
        self.task_id, self.dag_id, self.run_id, self.try_number = task_id, dag_id, run_id, try_number
        self.map_index = -1
        self.pushed: dict[str, Any] = {}
        self.pulls = pulls or {}
        self.states = states or {}
        self.dr_count = dr_count

    def xcom_push(self, key: str, value: Any) -> None:
        self.pushed[key] = value

    def xcom_pull(self, task_ids: str, key: str = "return_value") -> Any:
        return self.pulls.get((task_ids, key))

    def get_task_states(
        self, dag_id: str, task_ids: list[str], run_ids: list[str]
    ) -> dict[str, dict[str, str]]:
        return {self.run_id: {t: s for t, s in self.states.items() if t in task_ids}}

    def get_dr_count(self, dag_id: str, states: list[str]) -> int:
        return self.dr_count


def context(task_id: str, **kwargs: Any) -> dict[str, Any]:
    return {"ti": FakeTi(task_id, **kwargs)}


@pytest.fixture
def run_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run files under ``tmp_path``, the repository's sync config."""
    monkeypatch.setenv("OKTA_SALESFORCE_STORAGE", (tmp_path / "files").as_uri())
    monkeypatch.setenv("OKTA_SALESFORCE_CONFIG", CONFIG)
    return tmp_path / "files"


def plan_handle(
    actions: list[Action], *, dry_run: bool = False, guard: GuardResult = NO_GUARD, incremental: bool = True
) -> dict[str, Any]:
    """The plan task's XCom for ``actions``, its files written as the plan task writes them."""
    from okta_salesforce.operators.plan import write_plan
    from okta_salesforce.storage import RunFiles
    from okta_salesforce.sync.directory import SalesforceSnapshot
    from okta_salesforce.sync.guards import plan_fingerprint
    from okta_salesforce.sync.models import DirectoryInfo

    ti = FakeTi("plan")
    planned_at = datetime.now(UTC).isoformat()
    plan = Plan(
        tuple(actions),
        incremental=incremental,
        guard=guard,
        plan_id=plan_fingerprint(actions, run_id=ti.run_id, planned_at=planned_at),
        planned_at=planned_at,
    )
    state = SalesforceSnapshot(users=[], directory=DirectoryInfo())
    return write_plan(RunFiles(ti), plan, state, run_id=ti.run_id, dry_run=dry_run).to_xcom()
