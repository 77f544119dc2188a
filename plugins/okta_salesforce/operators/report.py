"""The run's report: a JSON line per user, a summary table in the log, counts in XCom and the Asset.

:class:`RunReport` is what the report task hands the verdict (``check_run``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

if TYPE_CHECKING:
    from airflow.sdk import Context, ObjectStoragePath

    from okta_salesforce.escrow_store import EscrowStore
    from okta_salesforce.operators.plan_handle import PlanHandle
    from okta_salesforce.operators.run_report import RunReport
    from okta_salesforce.storage import RunFiles
    from okta_salesforce.sync.config import SyncConfig
    from okta_salesforce.sync.escrow import Escrow
    from okta_salesforce.sync.outcomes import WriteResult
    from okta_salesforce.sync.report import ReportTally
    from okta_salesforce.sync.report_store import ReportStore

#: A writer's outcomes file (:meth:`~okta_salesforce.storage.RunFiles.outcomes`).
_OUTCOMES_FILE = re.compile(r"outcomes_.+_try(\d+)\.jsonl")
#: How many quarantined logins the Asset event and the alert list (the report has them all).
LISTED = 50


#: Moved out of this module (DAG parsing imports it): the report's result.
_MOVED = {
    "EscrowSummary": "okta_salesforce.operators.run_report",
    "Verdict": "okta_salesforce.operators.run_report",
    "RunReport": "okta_salesforce.operators.run_report",
}


def __getattr__(name: str) -> Any:
    """The names that moved out of this module, still importable from here (imported when asked for)."""
    if name in _MOVED:
        import importlib

        return getattr(importlib.import_module(_MOVED[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _escrow_state(escrow: Escrow) -> Callable[[str], dict[str, Any] | None]:
    """A pending user's escrow state in the report (by case-folded login); None for a user not pending."""

    def state(key: str) -> dict[str, Any] | None:
        pending = escrow.users.get(key)
        if pending is None:
            return None
        return {"pending": True, "quarantined": escrow.is_quarantined(pending), "failures": pending.failures}

    return state


class SyncReportOperator(BaseOperator):
    """Merge the plan with the writers' outcomes into the run's report and publish it.

    Every user of the plan gets one line: ``action`` (create, activate, update, deactivate,
    freeze, unfreeze, skip, error), ``outcome`` (success, failed, dry_run, not_approved,
    not_run, unchanged), ``changed_fields``, and for failures ``error_code``, ``message`` and
    ``fields``. The report is written to object storage beside the plan, summarised as a table
    in the task log, returned as counts through XCom, and attached (counts and location) to the
    event of the Asset in ``outlets``.

    A real run then settles escrow (:mod:`okta_salesforce.sync.escrow`): converged users leave
    it, the others stay pending (per-record failures counted towards quarantine). Each line says
    whether its user is ``pending`` or ``quarantined``; the Asset event lists the quarantined; users
    newly quarantined are announced through the configured failure notifiers. Dry runs leave
    escrow unchanged. The report itself succeeds (so the Asset event is published for failed runs
    too); its ``verdict`` (writer tasks that failed, per-record failures over
    ``failures.max_failure_ratio``) is enforced by :class:`~.verdict.RunVerdictOperator` after it.

    :param plan: the ``plan`` task's result (``None`` when it did not finish: the report fails).
    :param outcomes: the writers' results (``None`` for a writer that was skipped or failed).
    :param writer_task_ids: the writer tasks whose state decides the run's outcome.
    :param target: the config target the run synchronised (``default`` for a single-target config);
        every line and the Asset event carry it, so downstream loads key on (DAG id, run id, target).
        Its config is the ``targets:`` entry of that name.
    :param config_path: the sync config file (default: ``OKTA_SALESFORCE_CONFIG``).
    :param escrow_key: the escrow Variable (default: per Okta app).
    :param escrow_store: where escrow lives (default: Airflow Variables).
    """

    template_fields: Sequence[str] = ("plan", "outcomes", "config_path", "escrow_key")

    def __init__(
        self,
        *,
        plan: PlanHandle | dict[str, Any] | None,
        outcomes: Sequence[WriteResult | dict[str, Any] | None],
        writer_task_ids: Sequence[str] = (),
        target: str = "default",
        config_path: str | None = None,
        escrow_key: str | None = None,
        escrow_store: EscrowStore | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.plan = plan
        self.outcomes = outcomes
        self.writer_task_ids = writer_task_ids
        self.target = target
        self.config_path = config_path
        self.escrow_key = escrow_key
        self.escrow_store = escrow_store

    def execute(self, context: Context) -> dict[str, Any]:
        from okta_salesforce.hooks.okta_response import paused_gc
        from okta_salesforce.operators.plan_handle import PlanHandle
        from okta_salesforce.operators.run_report import EscrowSummary, RunReport, Verdict
        from okta_salesforce.storage import RunFiles, json_line, loads_line, read_jsonl, write_lines
        from okta_salesforce.sync.config import load_config
        from okta_salesforce.sync.report import ReportTally, joined_lines, with_earlier_writes
        from okta_salesforce.sync.report_store import ReportStore
        from okta_salesforce.sync.target_names import config_target

        if not self.plan:
            from okta_salesforce.operators.run_failures import UpstreamFailed

            raise UpstreamFailed("No plan to report on: the plan task did not finish.")
        plan = PlanHandle.from_xcom(self.plan)
        config = load_config(self.config_path, target=config_target(self.target))
        tally = ReportTally()
        # Streamed, like the plan: outcomes and lines wait in a disk-backed store, never all in memory.
        # Lines are stored as the report's JSON lines; only a pending user's are encoded again. The
        # rows and lines are acyclic and short-lived: the cyclic collector, which would scan the task's
        # whole heap about every 7,000 lines (half the CPU at 100k), waits until the report is written.
        with paused_gc(), ReportStore(encode=json_line, decode=loads_line) as store:
            files = RunFiles(context["ti"])
            current = self._outcome_paths()
            store.add_outcomes(row for path in current for row in read_jsonl(path))
            lines = joined_lines(
                read_jsonl(plan.path), store, dry_run=plan.dry_run, guard_blocked=plan.guard.blocked
            )
            if not plan.dry_run and store.add_earlier(self._earlier_writes(files, current)):
                lines = with_earlier_writes(lines, store)
            store.add_lines(self._annotate(context, map(tally.add, lines)))
            escrow, settled, newly = self._settle(config, store, dry_run=plan.dry_run)
            report_path = files.report()
            write_lines(report_path, store.encoded(_escrow_state(escrow) if len(escrow) else None))
        self._log_lines(report_path, tally)
        quarantined = sorted(u.login for u in escrow.quarantined())
        failure_ratio = None if plan.dry_run else self._failure_ratio(config, tally, len(escrow), report_path)
        report = RunReport(
            path=str(report_path),
            users=tally.users,
            counts=tally.counts(),
            failed=tally.failed,
            dry_run=plan.dry_run,
            guard=plan.guard,
            escrow=EscrowSummary(len(escrow), len(quarantined), tuple(quarantined[:LISTED]), settled),
            verdict=Verdict(tuple(self._failed_writers(context)), failure_ratio),
        )
        self._publish_asset(context, report)
        if newly:
            self._announce_quarantine(context, config, newly, report_path)
        return report.to_xcom()

    def _outcome_paths(self) -> list[str]:
        """The outcomes files of the writers that published a result (``None``: it did not finish)."""
        from okta_salesforce.sync.outcomes import WriteResult

        return [WriteResult.from_xcom(result).path for result in self.outcomes or () if result]

    def _earlier_writes(self, files: RunFiles, current: list[str]) -> Iterator[dict[str, Any]]:
        """Successful writes in the run's outcomes files other than the writers' current results: what
        earlier tries wrote (the events fast path plans again in its next try; a cleared run re-plans).
        The latest try comes first: of one user's writes of one kind, the store keeps the first."""
        from okta_salesforce.storage import read_jsonl
        from okta_salesforce.sync.models import WRITE_KINDS

        kinds = {str(kind) for kind in WRITE_KINDS}
        names = {path.rsplit("/", 1)[-1] for path in current}
        found = []
        for path in files.folder.iterdir():
            match = _OUTCOMES_FILE.fullmatch(path.name)
            if match and path.name not in names:
                found.append((-int(match[1]), path.name, path))
        for _, name, path in sorted(found):
            try:
                for row in read_jsonl(path):
                    if row.get("success") and row.get("action") in kinds:
                        yield {**row, "source": name}
            except ValueError:  # a try that crashed while writing: its last line is cut
                self.log.warning("%s ends in a cut line (its try crashed); read up to it.", name)

    def _annotate(self, context: Context, lines: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        """Key every line by (DAG id, run id, target), its user not pending in escrow (the store's
        :meth:`~okta_salesforce.sync.report_store.ReportStore.encoded` changes a pending user's lines)."""
        ti = context["ti"]
        keys: dict[str, Any] = {"dag_id": ti.dag_id, "run_id": ti.run_id, "target": self.target}
        keys.update(pending=False, quarantined=False, failures=0)
        for line in lines:
            line.update(keys)
            yield line

    def _log_lines(self, report_path: ObjectStoragePath, tally: ReportTally) -> None:
        from okta_salesforce.sync.report import summary_table

        self.log.info("Report: %s\n%s", report_path, summary_table(tally.counts()))
        for line in tally.first_failures:
            self.log.warning(
                "%s %s failed: %s %s %s",
                line["action"],
                line["login"],
                line["error_code"],
                line["message"],
                line["fields"] or "",
            )

    def _publish_asset(self, context: Context, report: RunReport) -> None:
        """Attach the report's location and counts to the event of every Asset in ``outlets``."""
        ti = context["ti"]
        for outlet in self.outlets:
            context["outlet_events"][outlet].extra = {
                "report": report.path,
                "dag_id": ti.dag_id,
                "run_id": ti.run_id,
                "target": self.target,
                "users": report.users,
                "failed": report.failed,
                "counts": {action: dict(c) for action, c in report.counts.items()},
                "dry_run": report.dry_run,
                "pending": report.escrow.pending,
                "quarantined": report.escrow.quarantined,
                "quarantined_logins": list(report.escrow.quarantined_logins),
            }

    def _settle(
        self, config: SyncConfig, lines: ReportStore, *, dry_run: bool
    ) -> tuple[Escrow, dict[str, int], list[str]]:
        """Settle escrow from the stored lines (read-only for a dry run); returns it, counts, newly
        quarantined."""
        from datetime import UTC, datetime

        from okta_salesforce.escrow_store import VariableEscrowStore, change_escrow, escrow_key, load_escrow

        store = self.escrow_store or VariableEscrowStore()
        key = self.escrow_key or escrow_key(config.okta_app_id, config.target)
        if dry_run:
            return load_escrow(store, key, config.failures), {}, []
        before = {u.login.casefold() for u in load_escrow(store, key, config.failures).quarantined()}
        escrow, settled = change_escrow(
            store, key, lambda e: e.settle_users(lines.settlements(), datetime.now(UTC)), config.failures
        )
        newly = sorted(u.login for u in escrow.quarantined() if u.login.casefold() not in before)
        self.log.info(
            "Escrow %s: %s; %d users pending, %d quarantined.",
            key,
            settled,
            len(escrow),
            len(escrow.quarantined()),
        )
        return escrow, settled, newly

    def _announce_quarantine(
        self, context: Context, config: SyncConfig, logins: list[str], report_path: ObjectStoragePath
    ) -> None:
        from okta_salesforce.alerts import FailureAlert

        listed = ", ".join(logins[:LISTED]) + (
            f" and {len(logins) - LISTED} more" if len(logins) > LISTED else ""
        )
        message = (
            f"{len(logins)} users quarantined after {config.failures.quarantine_after} failed writes in a "
            f"row (retried with backoff): {listed}. Report: {report_path}"
        )
        self.log.warning(message)
        if config.notifications.on_failure:
            FailureAlert(config.notifications.on_failure).send(
                context, f"okta-salesforce: users quarantined in {context['ti'].dag_id}", message
            )

    def _failure_ratio(
        self, config: SyncConfig, tally: ReportTally, pending: int, report_path: ObjectStoragePath
    ) -> str | None:
        """Why the run fails for per-record failures over ``failures.max_failure_ratio``, or None."""
        writes, failed = tally.writes, tally.failed_writes
        limit = config.failures.max_failure_ratio
        if writes and failed / writes > limit:
            return (
                f"{failed} of {writes} writes failed ({failed / writes:.0%}, over "
                f"failures.max_failure_ratio={limit:.0%}); {pending} users pending. Report: {report_path}"
            )
        return None

    def _failed_writers(self, context: Context) -> list[str]:
        if not self.writer_task_ids:
            return []
        ti = context["ti"]
        states = ti.get_task_states(
            dag_id=ti.dag_id, task_ids=list(self.writer_task_ids), run_ids=[ti.run_id]
        )
        return sorted(
            task_id
            for task_id, state in states.get(ti.run_id, {}).items()
            if state in ("failed", "upstream_failed")
        )
