"""sObject Collections requests: records sent in batches, every record given an outcome.

:class:`CollectionsSender` sends :class:`~okta_salesforce.sync.outcomes.Item` records through
``composite/sobjects`` in batches of at most 200 with ``allOrNone: false`` (one bad record never
sinks its batch), retries transient failures through
:class:`~okta_salesforce.sync.transport.Transport`, and records each record's result with its
item's callbacks. Once a request fails for good or the API budget is spent, every later record is
failed with the stop's code without a request.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from okta_salesforce.sync.guards import ApiBudget
from okta_salesforce.sync.models import Outcome
from okta_salesforce.sync.outcomes import DEFERRED, Item, OutcomeRecorder
from okta_salesforce.sync.transport import REQUEST_FAILED, Transport, WriteStopped

if TYPE_CHECKING:
    from simple_salesforce import Salesforce

    from okta_salesforce.sync.config import SyncConfig

COLLECTIONS = "composite/sobjects"
#: sObject Collections accepts at most this many records per call.
MAX_BATCH = 200


class CollectionsSender(OutcomeRecorder):
    """Sends records through sObject Collections with one simple-salesforce client.

    :param sf: the client (None for a dry run: nothing is sent).
    :param config: the sync config (``writer`` batch size, retries, timeout; the budget share).
    :param dry_run: send nothing.
    :param budget: the API budget (from ``config.guards.api_budget_share`` by default).
    :param sleep: how the retries wait (default ``time.sleep``).
    """

    def __init__(
        self,
        sf: Salesforce,
        config: SyncConfig,
        *,
        dry_run: bool = False,
        budget: ApiBudget | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        super().__init__()
        self.sf = sf
        self.dry_run = dry_run
        writer = config.writer
        self.batch_size = min(writer.batch_size, MAX_BATCH)
        self.transport = Transport(
            None if dry_run else sf,
            budget or ApiBudget(config.guards.api_budget_share),
            retries=writer.retries,
            backoff=writer.retry_backoff_seconds,
            max_backoff=writer.max_retry_backoff_seconds,
            **({"sleep": sleep} if sleep else {}),
        )
        self.timeout = writer.timeout_seconds

    @property
    def stopped(self) -> WriteStopped | None:
        """Why writing stopped (a failed request or the API budget), or None."""
        return self.transport.stopped

    def before_resend(self, method: str, batch: list[Item]) -> Callable[[], None] | None:
        """What to do before a batch is re-sent after a transient failure (nothing by default)."""
        return None

    def _send(self, method: str, items: Sequence[Item]) -> None:
        """Send ``items`` in batches; every item ends with an outcome or a deferred follow-up."""
        for start in range(0, len(items), self.batch_size):
            batch = list(items[start : start + self.batch_size])
            if self.stopped is not None:
                for item in batch:
                    self.fail_item(item, self.stopped.code, self.stopped.message)
                continue
            try:
                results = self._call(method, batch)
            except WriteStopped as stop:
                for item in batch:
                    self.fail_item(item, stop.code, stop.message)
                self.transport.stop(stop.not_attempted())
                continue
            for item, result in zip(batch, results, strict=True):
                self._record_result(item, result)

    def _record_result(self, item: Item, result: dict[str, Any]) -> None:
        if result.get("success"):
            self.outcomes.append(item.on_success(item, result))
            return
        errors = result.get("errors") or [{"statusCode": "UNKNOWN_ERROR", "message": "no error detail"}]
        if item.on_failure is not None:
            handled = item.on_failure(item, errors[0])
            if handled is DEFERRED:
                return
            if isinstance(handled, Outcome):
                self.outcomes.append(handled)
                return
        message = "; ".join(str(e.get("message", "")) for e in errors)
        fields = [f for e in errors for f in e.get("fields") or []]
        self.fail_item(item, str(errors[0].get("statusCode") or "UNKNOWN_ERROR"), message, fields)

    def _call(self, method: str, batch: list[Item]) -> list[dict[str, Any]]:
        """One sObject Collections request for ``batch``, retried on transient failures.

        :meth:`before_resend` runs before every re-send (and may take records out of ``batch``).
        Raises :class:`WriteStopped`.
        """

        def send() -> list[dict[str, Any]]:
            if not batch:
                return []
            records = [i.record for i in batch]
            payload = {"allOrNone": False, "records": records}
            response = self.sf.restful(COLLECTIONS, method=method, json=payload, timeout=self.timeout)
            if not isinstance(response, list) or len(response) != len(records):
                raise WriteStopped(
                    REQUEST_FAILED, "unexpected sObject Collections response (not one result per record)"
                )
            return response

        return self.transport.call(send, before_retry=self.before_resend(method, batch))
