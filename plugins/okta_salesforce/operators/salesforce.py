"""Write a plan's actions to Salesforce: create, activate, update, deactivate or freeze users."""

from __future__ import annotations

import itertools
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowException

from okta_salesforce import metrics

if TYPE_CHECKING:
    from collections.abc import Iterator

    from airflow.sdk import Context

    from okta_salesforce.escrow_store import EscrowStore
    from okta_salesforce.operators.plan_handle import PlanHandle
    from okta_salesforce.storage import RunFiles
    from okta_salesforce.sync.escrow import Escrow
    from okta_salesforce.sync.models import Action, Outcome
    from okta_salesforce.sync.outcomes import WriteResult
    from okta_salesforce.sync.progress import Log

#: What this operator writes: every write kind of ``sync.models.WRITE_KINDS`` but ``entitle``
#: (ApplyEntitlementsOperator's). Spelled out: DAG parsing does not import the models (a test compares).
ACTION_KINDS = ("activate", "create", "deactivate", "freeze", "unfreeze", "update")
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
        from okta_salesforce.operators.plan_handle import PlanHandle
        from okta_salesforce.storage import RunFiles

        plan = PlanHandle.from_xcom(self.plan)
        kinds = [kind for kind in self.actions if kind in plan.action_paths]
        label = "/".join(self.actions)
        if not kinds:
            self.log.info("Nothing to %s.", label)
        tally = _Tally()
        # Outcomes go to the file as each batch of the actions files is written: never all in memory.
        outcomes = (tally.add(o) for o in self._outcomes(context, plan, kinds, tally))
        files = RunFiles(context["ti"])
        result = publish_outcomes(
            context, self.log, files, self.actions, outcomes, dry_run=plan.dry_run, label=label
        )
        return result.to_xcom()

    def _outcomes(
        self, context: Context, plan: PlanHandle, kinds: list[str], tally: _Tally
    ) -> Iterator[Outcome]:
        """The outcomes of the plan's actions of ``kinds``, read and written in batches of 200.

        A write held back because its user is quarantined in escrow and not yet due gets the
        outcome ``QUARANTINED`` without a request. The Salesforce connection is made only when
        some write is left to send.
        """
        from okta_salesforce.config_location import resolve_config_path
        from okta_salesforce.escrow_store import VariableEscrowStore, escrow_key, load_escrow
        from okta_salesforce.sync.collections_sender import MAX_BATCH
        from okta_salesforce.sync.config import load_config
        from okta_salesforce.sync.models import Plan
        from okta_salesforce.sync.writer import SalesforceWriter

        if not kinds:
            return
        config = load_config(resolve_config_path(self.config_path), target=self.target)
        store = self.escrow_store or VariableEscrowStore()
        escrow = load_escrow(
            store, self.escrow_key or escrow_key(config.okta_app_id, config.target), config.failures
        )
        now = datetime.now(UTC)
        held: list[Outcome] = []

        def batches() -> Iterator[list[Action]]:
            """Batches of the actions to write; held actions' outcomes go to ``held``."""
            batch: list[Action] = []
            for action in plan.iter_actions(kinds):
                outcome = _quarantined(escrow, action, now)
                if outcome is not None:
                    held.append(outcome)
                    continue
                batch.append(action)
                if len(batch) >= MAX_BATCH:
                    yield batch
                    batch = []
            if batch:
                yield batch

        def drain() -> list[Outcome]:
            out = held[:]
            held.clear()
            return out

        pending = batches()
        first = next(pending, None)
        yield from drain()
        if first is None:
            return
        sf = None
        if not plan.dry_run:
            from okta_salesforce.hooks.salesforce import SalesforceOAuthHook

            sf = SalesforceOAuthHook(salesforce_conn_id=self.salesforce_conn_id).get_conn()
        writer = SalesforceWriter(sf, config, plan.directory(), dry_run=plan.dry_run)  # type: ignore[arg-type]
        header = Plan(actions=(), incremental=plan.incremental)
        started = time.monotonic()
        for outcomes in writer.apply_batches(header, itertools.chain([first], pending)):
            tally.written += len(outcomes)
            yield from outcomes
            yield from drain()
        yield from drain()
        seconds = time.monotonic() - started
        rate = tally.written / max(seconds, 1e-9)
        self.log.info("Wrote %d records in %.1f s (%.0f/s)", tally.written, seconds, rate)
        if tally.quarantined:
            self.log.warning("Held back %d writes of quarantined users.", tally.quarantined)
        if not plan.dry_run:
            tags = metrics.task_tags(context)
            metrics.duration("writes.duration", seconds, tags)
            for kind in self.actions:
                metrics.count(f"writes.{kind}.succeeded", tally.by_kind[kind, True], tags)
                metrics.count(f"writes.{kind}.failed", tally.by_kind[kind, False], tags)


def _quarantined(escrow: Escrow, action: Action, now: datetime) -> Outcome | None:
    """The ``QUARANTINED`` outcome of a write whose user is quarantined and not yet due, else None."""
    from okta_salesforce.sync.escrow import QUARANTINED
    from okta_salesforce.sync.models import Outcome

    user = escrow.held(action.login, str(action.kind), now)
    if user is None:
        return None
    return Outcome(
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


class _Tally:
    """Counts of a user writer's outcomes by kind as they stream past (nothing else of them is kept)."""

    def __init__(self) -> None:
        from okta_salesforce.sync.escrow import QUARANTINED

        self._quarantined = QUARANTINED
        self.written = self.quarantined = 0
        self.by_kind: Counter[tuple[str, bool]] = Counter()

    def add(self, outcome: Outcome) -> Outcome:
        if outcome.error_code == self._quarantined:
            self.quarantined += 1
        else:
            self.by_kind[outcome.action, outcome.success] += 1
        return outcome


def publish_outcomes(
    context: Context,
    log: Log,
    files: RunFiles,
    actions: Sequence[str],
    outcomes: Iterable[Outcome],
    *,
    dry_run: bool,
    label: str,
) -> WriteResult:
    """Write a writer task's outcomes file and return its result, as every writer does.

    ``outcomes`` may be a stream: each is written to the file as it comes and only counted here.
    When a request failure or the API budget left writes unfinished (not in a dry run), the result
    is published first (the report escrows these users) and then the try fails, so Airflow retries it.

    :param label: what the writes are, for the log and the error (``create``, ``entitlement``).
    """
    from okta_salesforce.storage import write_jsonl
    from okta_salesforce.sync.outcomes import WriteResult
    from okta_salesforce.sync.transport import STOP_CODES

    count: Counter[bool] = Counter()
    stopped: Counter[str] = Counter()
    first: list[Outcome] = []

    def counted(outcome: Outcome) -> dict[str, Any]:
        count[outcome.success] += 1
        if outcome.error_code in STOP_CODES:
            stopped[outcome.error_code] += 1
            first[:] = first or [outcome]
        return outcome.to_dict()

    target = files.outcomes()
    write_jsonl(target, (counted(o) for o in outcomes))
    result = WriteResult(str(target), tuple(actions), dry_run, success=count[True], failed=count[False])
    log.info(
        "%s %d records: %d succeeded, %d failed%s",
        label,
        result.success + result.failed,
        result.success,
        result.failed,
        " (dry run, nothing written)" if dry_run else "",
    )
    if stopped and not dry_run:
        context["ti"].xcom_push(key="return_value", value=result.to_xcom())
        detail = ", ".join(f"{n} {code}" for code, n in sorted(stopped.items()))
        raise WritesUnfinished(
            f"{sum(stopped.values())} {label} writes unfinished ({detail}): {first[0].message}. "
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
