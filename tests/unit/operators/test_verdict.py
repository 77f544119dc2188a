"""RunVerdictOperator reads the report's typed result: converged, failed writers, failures over the ratio."""

from __future__ import annotations

import pytest

from okta_salesforce.operators.report import EscrowSummary, RunReport, Verdict
from okta_salesforce.operators.run_failures import RunFailed, UpstreamFailed
from okta_salesforce.operators.verdict import RunVerdictOperator


def check(report: RunReport) -> None:
    RunVerdictOperator(task_id="check_run", report=report.to_xcom()).execute({})  # type: ignore[arg-type]


def test_a_converged_run_passes_with_users_pending() -> None:
    check(RunReport(path="r.jsonl", escrow=EscrowSummary(pending=2)))


def test_failures_over_the_ratio_fail_the_run_with_the_reports_reason() -> None:
    with pytest.raises(RunFailed, match="3 of 10 writes failed"):
        check(RunReport(path="r.jsonl", verdict=Verdict(failure_ratio="3 of 10 writes failed")))


def test_a_failed_writer_fails_the_run_without_a_second_alert() -> None:
    with pytest.raises(UpstreamFailed, match="deprovision_users; 4 users pending") as err:
        check(
            RunReport(
                path="r.jsonl",
                escrow=EscrowSummary(pending=4),
                verdict=Verdict(failed_writers=("deprovision_users",)),
            )
        )
    assert err.value.already_notified is True
