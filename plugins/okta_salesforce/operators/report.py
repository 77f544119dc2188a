"""The run's report: a JSON line per user, a summary table in the log, counts in XCom and the Asset."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

if TYPE_CHECKING:
    from airflow.sdk import Context

    from okta_salesforce.escrow_store import EscrowStore
    from okta_salesforce.sync.config import SyncConfig
    from okta_salesforce.sync.escrow import Escrow
    from okta_salesforce.sync.models import Action, Outcome

#: How many quarantined logins the Asset event and the alert list (the report has them all).
LISTED = 50


#: Outcomes of report lines (the ``outcome`` key).
SUCCESS, FAILED, DRY_RUN, NOT_APPROVED, NOT_RUN, UNCHANGED = (
    "success",
    "failed",
    "dry_run",
    "not_approved",
    "not_run",
    "unchanged",
)


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

    :param plan: the ``plan`` task's XCom.
    :param outcomes: the writers' XComs (``None`` for a writer that was skipped or failed).
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
        plan: dict[str, Any] | Any,
        outcomes: Sequence[dict[str, Any] | None] | Any,
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
        from okta_salesforce.storage import read_jsonl, run_folder, write_jsonl
        from okta_salesforce.sync.config import load_config
        from okta_salesforce.sync.models import Action, Outcome

        if not self.plan:
            from okta_salesforce.operators.verdict import UpstreamFailed

            raise UpstreamFailed("No plan to report on: the plan task did not finish.")
        ti = context["ti"]
        actions = (Action.from_dict(row) for row in read_jsonl(self.plan["path"]))
        results = [
            Outcome.from_dict(row) for xcom in self.outcomes or () if xcom for row in read_jsonl(xcom["path"])
        ]
        guard_blocked = bool(self.plan["guard"]["blocked"])
        lines = list(
            report_lines(
                actions, results, dry_run=bool(self.plan.get("dry_run")), guard_blocked=guard_blocked
            )
        )
        from okta_salesforce.sync.targets import config_target

        config = load_config(self.config_path, target=config_target(self.target))
        dry_run = bool(self.plan.get("dry_run"))
        escrow, settled, newly = self._settle(config, lines, dry_run=dry_run)
        for line in lines:
            pending = escrow.get(line["login"])
            line.update(
                dag_id=ti.dag_id,
                run_id=ti.run_id,
                target=self.target,
                pending=pending is not None,
                quarantined=pending is not None and escrow.is_quarantined(pending),
                failures=pending.failures if pending else 0,
            )
        report_path = run_folder(ti.dag_id, ti.run_id) / "report.jsonl"
        write_jsonl(report_path, lines)
        counts = summarize(lines)
        self.log.info("Report: %s\n%s", report_path, summary_table(lines))
        failures = [line for line in lines if line["outcome"] == FAILED]
        for line in failures[:20]:
            self.log.warning(
                "%s %s failed: %s %s %s",
                line["action"],
                line["login"],
                line["error_code"],
                line["message"],
                line["fields"] or "",
            )
        quarantined = sorted(u.login for u in escrow.quarantined())
        escrow_summary = {
            "pending": len(escrow),
            "quarantined": len(quarantined),
            "quarantined_logins": quarantined[:LISTED],
            "settled": settled,
        }
        result = {
            "path": str(report_path),
            "users": len(lines),
            "counts": counts,
            "failed": len(failures),
            "dry_run": dry_run,
            "guard": self.plan["guard"],
            "escrow": escrow_summary,
        }
        for outlet in self.outlets:
            context["outlet_events"][outlet].extra = {
                "report": str(report_path),
                "dag_id": ti.dag_id,
                "run_id": ti.run_id,
                "target": self.target,
                "users": len(lines),
                "failed": len(failures),
                "counts": counts,
                "dry_run": dry_run,
                "pending": len(escrow),
                "quarantined": len(quarantined),
                "quarantined_logins": quarantined[:LISTED],
            }
        if newly:
            self._announce_quarantine(context, config, newly, report_path)
        result["verdict"] = {
            "failed_writers": self._failed_writers(context),
            "failure_ratio": None
            if dry_run
            else self._failure_ratio(config, lines, len(escrow), report_path),
        }
        return result

    def _settle(
        self, config: SyncConfig, lines: list[dict[str, Any]], *, dry_run: bool
    ) -> tuple[Escrow, dict[str, int], list[str]]:
        """Settle escrow from the lines (read-only for a dry run); returns it, counts, newly quarantined."""
        from datetime import UTC, datetime

        from okta_salesforce.escrow_store import VariableEscrowStore, change_escrow, escrow_key, load_escrow

        store = self.escrow_store or VariableEscrowStore()
        key = self.escrow_key or escrow_key(config.okta_app_id, config.target)
        if dry_run:
            return load_escrow(store, key, config.failures), {}, []
        before = {u.login.casefold() for u in load_escrow(store, key, config.failures).quarantined()}
        escrow, settled = change_escrow(
            store, key, lambda e: e.settle(lines, datetime.now(UTC)), config.failures
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
        self, context: Context, config: SyncConfig, logins: list[str], report_path: Any
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
        self, config: SyncConfig, lines: list[dict[str, Any]], pending: int, report_path: Any
    ) -> str | None:
        """Why the run fails for per-record failures over ``failures.max_failure_ratio``, or None."""
        from okta_salesforce.sync.escrow import Settlement, settlement_of

        writes = [line for line in lines if line["action"] not in ("skip",)]
        failed = [line for line in writes if settlement_of(line) is Settlement.FAILED]
        limit = config.failures.max_failure_ratio
        if writes and len(failed) / len(writes) > limit:
            return (
                f"{len(failed)} of {len(writes)} writes failed ({len(failed) / len(writes):.0%}, over "
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


def report_lines(
    actions: Iterable[Action], outcomes: Iterable[Outcome], *, dry_run: bool, guard_blocked: bool
) -> Iterator[dict[str, Any]]:
    """One report line per action, joined with its outcome by (login, action)."""
    from okta_salesforce.sync.models import DEPROVISION_KINDS, ActionKind

    by_key: dict[tuple[str, str], Outcome] = {}
    for outcome in outcomes:
        by_key.setdefault((outcome.login, outcome.action), outcome)
    for action in actions:
        line: dict[str, Any] = {
            "login": action.login,
            "okta_user_id": action.okta_user_id,
            "salesforce_id": action.salesforce_id,
            "username": action.username,
            "action": str(action.kind),
            "reason": action.reason,
            "changed_fields": sorted(
                action.changes or (action.fields if action.kind is ActionKind.CREATE else {})
            ),
            "error_code": None,
            "message": "",
            "fields": [],
        }
        outcome = by_key.get((action.login, str(action.kind)))
        if action.kind is ActionKind.ERROR:
            line.update(
                outcome=FAILED,
                error_code="INVALID_INPUT",
                message="; ".join(str(e) for e in action.errors) or action.reason,
                fields=[e.field for e in action.errors if e.field],
            )
        elif action.kind is ActionKind.SKIP:
            line["outcome"] = UNCHANGED
        elif dry_run:
            line["outcome"] = DRY_RUN
        elif outcome is not None:
            line.update(
                outcome=SUCCESS if outcome.success else FAILED,
                salesforce_id=outcome.salesforce_id or action.salesforce_id,
                error_code=outcome.error_code,
                message=outcome.message,
                fields=list(outcome.fields),
            )
        elif action.kind in DEPROVISION_KINDS and guard_blocked:
            line.update(outcome=NOT_APPROVED, message="held back by the deactivation guard")
        else:
            line.update(outcome=NOT_RUN, message="the writer task did not run")
        yield line


def summarize(lines: Iterable[dict[str, Any]]) -> dict[str, dict[str, int]]:
    """``{action: {outcome: count}}``."""
    counts: dict[str, Counter[str]] = {}
    for line in lines:
        counts.setdefault(line["action"], Counter())[line["outcome"]] += 1
    return {action: dict(sorted(c.items())) for action, c in sorted(counts.items())}


def summary_table(lines: Sequence[dict[str, Any]]) -> str:
    """A fixed-width table of actions by outcome, for the task log."""
    counts = summarize(lines)
    outcomes = sorted({o for c in counts.values() for o in c})
    width = max([len("action"), *(len(a) for a in counts)])
    header = f"{'action':<{width}} " + " ".join(f"{o:>12}" for o in outcomes)
    rows = [header, "-" * len(header)]
    for action, by_outcome in counts.items():
        rows.append(f"{action:<{width}} " + " ".join(f"{by_outcome.get(o, 0):>12}" for o in outcomes))
    return "\n".join(rows)
