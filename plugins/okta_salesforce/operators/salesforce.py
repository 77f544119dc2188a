"""Write a plan's actions to Salesforce: create, activate, update, deactivate or freeze users."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowException

from okta_salesforce import metrics
from okta_salesforce.operators.plan import PlanHandle
from okta_salesforce.sync.models import WRITE_KINDS, ActionKind

if TYPE_CHECKING:
    from airflow.sdk import Context

    from okta_salesforce.escrow_store import EscrowStore
    from okta_salesforce.storage import RunFiles
    from okta_salesforce.sync.config import SyncConfig
    from okta_salesforce.sync.models import Action, Outcome, Plan
    from okta_salesforce.sync.outcomes import WriteResult
    from okta_salesforce.sync.progress import Log

#: What this operator writes: every write kind but ``entitle`` (ApplyEntitlementsOperator's).
ACTION_KINDS = tuple(sorted(str(kind) for kind in WRITE_KINDS - {ActionKind.ENTITLE}))
#: The user writers of a run, ``(verb, action kinds)``: each touches a disjoint set of users.
WRITER_GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("create", ("create",)),
    ("activate", ("activate", "unfreeze")),
    ("update", ("update",)),
)


class WritesUnfinished(AirflowException):
    """A failed request or the API budget left users unwritten (they are pending; the run fails)."""


class ApplySalesforceChangesOperator(BaseOperator):
    """Apply the plan's actions of the given kinds through sObject Collections; record every outcome.

    Batches of up to 200 records with ``allOrNone=false``: one bad record never sinks its batch,
    every record gets an outcome (success, or Salesforce's error code, message and fields),
    written as JSON Lines beside the plan. Transient request failures are retried inside the task
    (``writer.retries``). A write held back because its user is quarantined in escrow and not yet
    due gets the outcome ``QUARANTINED``. When a request still fails or the API budget stops
    writing, the outcomes are published (XCom and file) and the task fails, so Airflow retries it
    and the run is not green; the report escrows the users either way. A dry run writes nothing.

    :param plan: the ``plan`` task's result (:class:`~okta_salesforce.operators.plan.PlanHandle`).
    :param actions: the action kinds this task applies (e.g. ``["create"]``).
    :param config_path: the sync config file (default: ``OKTA_SALESFORCE_CONFIG``).
    :param salesforce_conn_id: the ``salesforce_oauth`` connection.
    :param escrow_key: the escrow Variable (default: per Okta app).
    :param escrow_store: where escrow lives (default: Airflow Variables).
    :param target: the config's ``targets:`` entry (None: a config without targets).
    """

    template_fields: Sequence[str] = ("plan", "actions", "config_path", "escrow_key")

    def __init__(
        self,
        *,
        plan: PlanHandle | dict[str, Any],
        actions: Sequence[str],
        config_path: str | None = None,
        salesforce_conn_id: str = "salesforce_oauth_default",
        escrow_key: str | None = None,
        escrow_store: EscrowStore | None = None,
        target: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        unknown = set(actions) - set(ACTION_KINDS)
        if unknown:
            raise ValueError(f"actions: unknown kinds {sorted(unknown)}; expected some of {ACTION_KINDS}")
        self.plan = plan
        self.actions = actions
        self.config_path = config_path
        self.salesforce_conn_id = salesforce_conn_id
        self.escrow_key = escrow_key
        self.escrow_store = escrow_store
        self.target = target

    def execute(self, context: Context) -> dict[str, Any]:
        from okta_salesforce.storage import RunFiles

        plan = PlanHandle.from_xcom(self.plan)
        actions = plan.actions(self.actions)
        outcomes: list[Outcome] = []
        if actions:
            outcomes = self._apply(context, plan, actions)
        else:
            self.log.info("Nothing to %s.", "/".join(self.actions))
        label = "/".join(self.actions)
        files = RunFiles(context["ti"])
        result = publish_outcomes(
            context, self.log, files, self.actions, outcomes, dry_run=plan.dry_run, label=label
        )
        return result.to_xcom()

    def _apply(self, context: Context, handle: PlanHandle, actions: list[Action]) -> list[Outcome]:
        """Hold back the quarantined users' writes, apply the others; their outcomes, held ones first."""
        from okta_salesforce.config_location import resolve_config_path
        from okta_salesforce.sync.config import load_config
        from okta_salesforce.sync.writer import apply_plan

        config = load_config(resolve_config_path(self.config_path), target=self.target)
        plan, outcomes = self._hold_quarantined(actions, config, handle.incremental)
        if not plan.actions:
            return outcomes
        sf = None
        if not handle.dry_run:
            from okta_salesforce.hooks.salesforce import SalesforceOAuthHook

            sf = SalesforceOAuthHook(salesforce_conn_id=self.salesforce_conn_id).get_conn()
        started = time.monotonic()
        written = apply_plan(sf, plan, config, handle.directory(), dry_run=handle.dry_run)  # type: ignore[arg-type]
        seconds = time.monotonic() - started
        self.log.info(
            "Wrote %d records in %.1f s (%.0f/s)", len(written), seconds, len(written) / max(seconds, 1e-9)
        )
        if not handle.dry_run:
            tags = metrics.task_tags(context)
            metrics.duration("writes.duration", seconds, tags)
            for kind in self.actions:
                done = [o for o in written if str(o.action) == kind]
                metrics.count(f"writes.{kind}.succeeded", sum(o.success for o in done), tags)
                metrics.count(f"writes.{kind}.failed", sum(not o.success for o in done), tags)
        return outcomes + written

    def _hold_quarantined(
        self, actions: list[Action], config: SyncConfig, incremental: bool
    ) -> tuple[Plan, list[Outcome]]:
        """Split off the writes of quarantined users whose backoff is not over."""
        from okta_salesforce.escrow_store import VariableEscrowStore, escrow_key, load_escrow
        from okta_salesforce.sync.escrow import QUARANTINED
        from okta_salesforce.sync.models import Outcome, Plan

        store = self.escrow_store or VariableEscrowStore()
        escrow = load_escrow(
            store, self.escrow_key or escrow_key(config.okta_app_id, config.target), config.failures
        )
        now = datetime.now(UTC)
        kept, held = [], []
        for action in actions:
            user = escrow.held(action.login, str(action.kind), now)
            if user is None:
                kept.append(action)
                continue
            held.append(
                Outcome(
                    login=action.login,
                    action=str(action.kind),
                    success=False,
                    salesforce_id=action.salesforce_id,
                    error_code=QUARANTINED,
                    message=(
                        f"quarantined after {user.failures} failures ({user.error_code}: {user.message}); "
                        f"next attempt after {user.retry_after}"
                    ),
                )
            )
        if held:
            self.log.warning("Holding back %d writes of quarantined users.", len(held))
        return Plan(actions=tuple(kept), incremental=incremental), held


def publish_outcomes(
    context: Context,
    log: Log,
    files: RunFiles,
    actions: Sequence[str],
    outcomes: Sequence[Outcome],
    *,
    dry_run: bool,
    label: str,
) -> WriteResult:
    """Write a writer task's outcomes file and return its result, as every writer does.

    When a request failure or the API budget left writes unfinished (not in a dry run), the result
    is published first (the report escrows these users) and then the try fails, so Airflow retries it.

    :param label: what the writes are, for the log and the error (``create``, ``entitlement``).
    """
    from okta_salesforce.storage import write_jsonl
    from okta_salesforce.sync.outcomes import WriteResult
    from okta_salesforce.sync.transport import STOP_CODES

    target = files.outcomes()
    write_jsonl(target, (o.to_dict() for o in outcomes))
    result = WriteResult.of(str(target), actions, outcomes, dry_run=dry_run)
    log.info(
        "%s %d records: %d succeeded, %d failed%s",
        label,
        len(outcomes),
        result.success,
        result.failed,
        " (dry run, nothing written)" if dry_run else "",
    )
    stopped = Counter(o.error_code for o in outcomes if o.error_code in STOP_CODES)
    if stopped and not dry_run:
        context["ti"].xcom_push(key="return_value", value=result.to_xcom())
        first = next(o for o in outcomes if o.error_code in STOP_CODES)
        detail = ", ".join(f"{n} {code}" for code, n in sorted(stopped.items()))
        raise WritesUnfinished(
            f"{sum(stopped.values())} {label} writes unfinished ({detail}): {first.message}. "
            "They are pending and retried by the next try or run."
        )
    return result


def read_outcomes(results: Iterable[WriteResult | dict[str, Any] | None]) -> Iterator[Outcome]:
    """The outcomes of the writers' results (``None`` for a writer that did not finish)."""
    from okta_salesforce.storage import read_jsonl
    from okta_salesforce.sync.models import Outcome
    from okta_salesforce.sync.outcomes import WriteResult

    for result in results:
        if result:
            yield from (Outcome.from_dict(row) for row in read_jsonl(WriteResult.from_xcom(result).path))
