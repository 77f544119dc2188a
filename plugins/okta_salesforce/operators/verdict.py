"""The run's verdict: the last task, failing the run when the report says it did not converge."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

from okta_salesforce.operators.run_failures import RunFailed, UpstreamFailed

if TYPE_CHECKING:
    from airflow.sdk import Context

    from okta_salesforce.operators.run_report import RunReport


class RunVerdictOperator(BaseOperator):
    """Fail the run when a writer failed or per-record failures exceeded the ratio; else succeed.

    Runs after the report (trigger rule ``all_done``), so the report and its Asset event are
    published for failed runs too, and the run's state says whether it converged.

    :param report: the ``report`` task's result (``None`` when the report did not finish).
    """

    template_fields: Sequence[str] = ("report",)

    def __init__(self, *, report: RunReport | dict[str, Any] | None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.report = report

    def execute(self, context: Context) -> None:
        from okta_salesforce.operators.run_report import RunReport

        if not self.report:
            raise UpstreamFailed("No report: an upstream task failed (see its alert).")
        report = RunReport.from_xcom(self.report)
        failed, pending = report.verdict.failed_writers, report.escrow.pending
        if failed:
            raise UpstreamFailed(
                f"These writer tasks failed: {', '.join(failed)}; {pending} users pending. "
                f"Report: {report.path}"
            )
        if report.verdict.failure_ratio:
            raise RunFailed(report.verdict.failure_ratio)
        self.log.info("The run converged (%d users pending for later runs).", pending)
