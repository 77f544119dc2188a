"""Write a plan's actions to Salesforce: create, activate, update, deactivate or freeze users."""

from __future__ import annotations

import itertools
import time
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowException

from okta_salesforce import metrics

if TYPE_CHECKING:
    from collections.abc import Iterator

    from airflow.sdk import Context

    from okta_salesforce.escrow_store import EscrowStore
    from okta_salesforce.sync.escrow import Escrow
    from okta_salesforce.sync.models import Action, Outcome

ACTION_KINDS = ("create", "activate", "update", "unfreeze", "deactivate", "freeze")
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

    :param plan: the ``plan`` task's XCom (``path``, ``directory_path``, ``dry_run``).
    :param actions: the action kinds this task applies (e.g. ``["create"]``).
    :param config_path: the sync config file (default: ``OKTA_SALESFORCE_CONFIG``).
    :param salesforce_conn_id: the ``salesforce_oauth`` connection.
    :param escrow_key: the escrow Variable (default: per Okta app).
    :param escrow_store: where escrow lives (default: Airflow Variables).
    """

    template_fields: Sequence[str] = ("plan", "actions", "config_path", "escrow_key")

    def __init__(
        self,
        *,
        plan: dict[str, Any] | Any,
        actions: Sequence[str],
        config_path: str | None = None,
        salesforce_conn_id: str = "salesforce_oauth_default",
        escrow_key: str | None = None,
        escrow_store: EscrowStore | None = None,
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

    def execute(self, context: Context) -> dict[str, Any]:
        from okta_salesforce.storage import run_folder, write_jsonl

        paths = self.plan.get("action_paths") or {}
        files = [paths[kind] for kind in self.actions if kind in paths]
        dry_run = bool(self.plan.get("dry_run"))
        ti = context["ti"]
        target = run_folder(ti.dag_id, ti.run_id) / f"outcomes_{ti.task_id}_try{ti.try_number}.jsonl"
        tally = _Tally(self.actions)
        if not files:
            self.log.info("Nothing to %s.", "/".join(self.actions))
        # Outcomes go to the file as each batch of the actions files is written: never all in memory.
        write_jsonl(target, (tally.add(o).to_dict() for o in self._outcomes(files, dry_run, tally)))
        counts = Counter({k: n for k, n in (("success", tally.succeeded), ("failed", tally.failed)) if n})
        if tally.written and not dry_run:
            metrics_tags = metrics.task_tags(context)
            metrics.duration("writes.duration", tally.seconds, metrics_tags)
            for kind in self.actions:
                metrics.count(f"writes.{kind}.succeeded", tally.by_kind[kind, True], metrics_tags)
                metrics.count(f"writes.{kind}.failed", tally.by_kind[kind, False], metrics_tags)
        self.log.info(
            "%s %d records: %d succeeded, %d failed%s",
            "/".join(self.actions),
            tally.succeeded + tally.failed,
            counts["success"],
            counts["failed"],
            " (dry run, nothing written)" if dry_run else "",
        )
        result = {"path": str(target), "actions": list(self.actions), "dry_run": dry_run, **counts}
        if tally.stopped and not dry_run:
            # Publish the outcomes for the report (which escrows these users), then fail the try.
            ti.xcom_push(key="return_value", value=result)
            first = tally.first_stop
            assert first is not None
            detail = ", ".join(f"{n} {code}" for code, n in sorted(tally.stopped.items()))
            raise WritesUnfinished(
                f"{sum(tally.stopped.values())} {'/'.join(self.actions)} writes unfinished ({detail}): "
                f"{first.message}. They are pending and retried by the next try or run."
            )
        return result

    def _outcomes(self, files: list[str], dry_run: bool, tally: _Tally) -> Iterator[Outcome]:
        """The outcomes of the actions in ``files``, read and written in batches of 200.

        A write held back because its user is quarantined in escrow and not yet due gets the
        outcome ``QUARANTINED`` without a request. The Salesforce connection is made only when
        some write is left to send.
        """
        from okta_salesforce.config_location import resolve_config_path
        from okta_salesforce.escrow_store import VariableEscrowStore, escrow_key, load_escrow
        from okta_salesforce.storage import read_json, read_jsonl
        from okta_salesforce.sync.collections_sender import MAX_BATCH
        from okta_salesforce.sync.config import load_config
        from okta_salesforce.sync.models import Action, DirectoryInfo, Plan
        from okta_salesforce.sync.writer import SalesforceWriter

        if not files:
            return
        config = load_config(resolve_config_path(self.config_path))
        store = self.escrow_store or VariableEscrowStore()
        escrow = load_escrow(store, self.escrow_key or escrow_key(config.okta_app_id), config.failures)
        now = datetime.now(UTC)
        held: list[Outcome] = []

        def batches() -> Iterator[list[Action]]:
            """Batches of the actions to write; held actions' outcomes go to ``held``."""
            batch: list[Action] = []
            for path in files:
                for row in read_jsonl(path):
                    action = Action.from_dict(row)
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
        if not dry_run:
            from okta_salesforce.hooks.salesforce import SalesforceOAuthHook

            sf = SalesforceOAuthHook(salesforce_conn_id=self.salesforce_conn_id).get_conn()
        directory = DirectoryInfo.from_dict(read_json(self.plan["directory_path"]))
        writer = SalesforceWriter(sf, config, directory, dry_run=dry_run)  # type: ignore[arg-type]
        header = Plan(actions=(), incremental=bool(self.plan.get("incremental")))
        started = time.monotonic()
        for outcomes in writer.apply_batches(header, itertools.chain([first], pending)):
            tally.written += len(outcomes)
            yield from outcomes
            yield from drain()
        yield from drain()
        tally.seconds = time.monotonic() - started
        rate = tally.written / max(tally.seconds, 1e-9)
        self.log.info("Wrote %d records in %.1f s (%.0f/s)", tally.written, tally.seconds, rate)
        if tally.quarantined:
            self.log.warning("Held back %d writes of quarantined users.", tally.quarantined)


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
    """Counts of the outcomes as they stream to the file (nothing else of them is kept)."""

    def __init__(self, kinds: Sequence[str]) -> None:
        from okta_salesforce.sync.escrow import QUARANTINED
        from okta_salesforce.sync.transport import STOP_CODES

        self._stop_codes = STOP_CODES
        self._quarantined = QUARANTINED
        self.kinds = set(kinds)
        self.succeeded = self.failed = self.written = self.quarantined = 0
        self.seconds = 0.0
        self.by_kind: Counter[tuple[str, bool]] = Counter()
        self.stopped: Counter[str] = Counter()
        self.first_stop: Outcome | None = None

    def add(self, outcome: Outcome) -> Outcome:
        if outcome.success:
            self.succeeded += 1
        else:
            self.failed += 1
        if outcome.error_code == self._quarantined:
            self.quarantined += 1
        else:
            self.by_kind[outcome.action, outcome.success] += 1
        if outcome.error_code in self._stop_codes:
            self.stopped[outcome.error_code] += 1
            self.first_stop = self.first_stop or outcome
        return outcome
