"""The measured work: one full reconcile, task by task, as the reconcile DAG runs it.

Run as a child process (``python -m benchmarks.reconcile --out result.json``) so that its peak
RSS is the work's alone. The connections come from ``AIRFLOW_CONN_*`` in the environment (the
parent points them at the sandboxes). Each task is the DAG's own operator, executed with a
minimal context: ``poll_okta`` (full snapshot, ``OktaHook.iter_assignments``), ``plan``
(``read_salesforce`` + ``build_plan``), the ``create``/``activate``/``update`` writers and the
guarded ``deprovision_users`` writer (re-check, ``apply_plan``), then ``report``. The per-process token cache
is cleared between tasks, because every task of a real run is its own process: the access token
reaches the next task only through the token store (``OKTA_SALESFORCE_TOKEN_STORE``, a file
store set by the parent), as it does between the task processes of a deployment.

Nothing from ``okta_salesforce`` or Airflow is imported before :func:`main` starts its clock, so
the parent can tell interpreter start-up from task start-up.
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

DAG_ID = "okta_salesforce_reconcile"
RUN_ID = "benchmark__2026-01-01T00:00:00+00:00"


def _context(task_id: str) -> dict[str, Any]:
    """The slice of an Airflow task context the operators read."""
    ti = SimpleNamespace(dag_id=DAG_ID, run_id=RUN_ID, task_id=task_id, map_index=-1, try_number=1)
    return {"ti": ti, "outlet_events": {}}


def _trusting_config() -> str:
    """A copy of the sync config with ``guards.trust_allow_mass_deactivation_param`` on; its path.

    The copy is removed when the process exits.
    """
    import atexit
    import os
    import tempfile

    import yaml

    from okta_salesforce.sync.config import default_config_path

    raw = yaml.safe_load(default_config_path().read_text(encoding="utf-8"))
    raw.setdefault("guards", {})["trust_allow_mass_deactivation_param"] = True
    fd, path = tempfile.mkstemp(prefix="okta-salesforce-bench-", suffix=".yaml")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        yaml.safe_dump(raw, fh)
    atexit.register(Path(path).unlink, missing_ok=True)  # one per run, not one left in /tmp per run
    return path


def peak_rss_mb() -> float:
    """This process's peak resident set size (``VmHWM`` from /proc, else ``ru_maxrss``), in MB."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def reset_peak_rss() -> bool:
    """Reset this process's ``VmHWM`` to its current RSS (Linux ``clear_refs``); False if impossible."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def run(*, allow_mass_deactivation: bool = True) -> dict[str, Any]:
    """Execute the reconcile DAG's tasks in order; return per-task seconds, peak RSS and the plan's counts."""
    started = time.monotonic()
    phases: dict[str, float] = {}
    task_rss: dict[str, float] = {}

    def timed(name: str, call: Any) -> Any:
        resettable = reset_peak_rss()
        t0 = time.monotonic()
        try:
            return call()
        finally:
            phases[name] = time.monotonic() - t0
            if resettable:
                task_rss[name] = round(peak_rss_mb(), 1)

    def fresh_task() -> None:
        from okta_salesforce.hooks.salesforce import clear_token_cache

        clear_token_cache()

    import airflow.sdk  # noqa: F401 - the Task SDK every task process has loaded before it runs

    phases["import_airflow"] = time.monotonic() - started
    airflow_ready = time.monotonic()
    from okta_salesforce.operators.okta import OktaAssignmentsOperator

    phases["import_operators"] = time.monotonic() - airflow_ready
    snapshot = timed(
        "poll_okta",
        lambda: OktaAssignmentsOperator(task_id="poll_okta", mode="full").execute(_context("poll_okta")),
    )

    from okta_salesforce.escrow_store import MemoryEscrowStore
    from okta_salesforce.operators.deprovision import DeprovisionUsersOperator
    from okta_salesforce.operators.plan import PlanSalesforceChangesOperator
    from okta_salesforce.operators.report import SyncReportOperator
    from okta_salesforce.operators.salesforce import WRITER_GROUPS, ApplySalesforceChangesOperator

    # Over the guard only by the admin's switch: a config that trusts the run's param.
    config_path = _trusting_config() if allow_mass_deactivation else None
    fresh_task()
    plan = timed(
        "plan",
        lambda: PlanSalesforceChangesOperator(
            task_id="plan",
            snapshot=snapshot,
            allow_mass_deactivation=allow_mass_deactivation,
            config_path=config_path,
        ).execute(_context("plan")),
    )
    outcomes = []
    for verb, actions in WRITER_GROUPS:
        task_id = f"{verb}_users"
        fresh_task()
        operator = ApplySalesforceChangesOperator(task_id=task_id, plan=plan, actions=list(actions))
        outcomes.append(timed(task_id, lambda op=operator, t=task_id: op.execute(_context(t))))
    fresh_task()
    deprovision = DeprovisionUsersOperator(
        task_id="deprovision_users",
        plan=plan,
        allow_mass_deactivation=allow_mass_deactivation,
        config_path=config_path,
    )
    held = timed("deprovision_users", lambda: deprovision.execute(_context("deprovision_users")))
    outcomes.append(held)
    report = timed(
        "report",
        # No Airflow API server behind this process: escrow lives in memory (one Variable write in a DAG).
        lambda: SyncReportOperator(
            task_id="report", plan=plan, outcomes=outcomes, escrow_store=MemoryEscrowStore()
        ).execute(_context("report")),
    )
    return {
        "seconds": time.monotonic() - started,
        "airflow_ready_monotonic": airflow_ready,
        "phases": {k: round(v, 4) for k, v in phases.items()},
        "task_peak_rss_mb": task_rss,
        "assignments": snapshot["count"],
        "plan_counts": plan["counts"],
        "guard": plan["guard"],
        "deprovisioned": not held.get("held"),
        "writers": {
            o["actions"][0]: {"success": o.get("success", 0), "failed": o.get("failed", 0)} for o in outcomes
        },
        "report_counts": report["counts"],
        "report_failed": report["failed"],
    }


def main(argv: list[str] | None = None) -> int:
    """Entry point of the child process: run, then write the result (with peak RSS) as JSON."""
    entered = time.monotonic()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="where to write the result JSON")
    parser.add_argument(
        "--no-mass-deactivation",
        action="store_true",
        help="leave the deactivation guard on (a tripped guard holds deprovisioning back)",
    )
    args = parser.parse_args(argv)
    result = run(allow_mass_deactivation=not args.no_mass_deactivation)
    result["main_entered_monotonic"] = entered
    # Per-task peaks reset VmHWM, so the whole run's peak is the largest of them.
    result["peak_rss_mb"] = max([round(peak_rss_mb(), 1), *result["task_peak_rss_mb"].values()])
    args.out.write_text(json.dumps(result, indent=2, sort_keys=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
