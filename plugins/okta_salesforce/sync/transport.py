"""One Salesforce request at a time: under the API budget, retried with backoff when the failure is transient.

:class:`Transport` runs each request the writer makes. Before every attempt it checks the API
budget (``Sforce-Limit-Info``); a dropped connection, a timeout or a 5xx answer is retried with
exponential backoff (tenacity) up to ``writer.retries`` times. A caller whose request is not
idempotent (a create) passes ``before_retry``: it runs before every re-send, so the caller can
re-read what may have landed and send only the rest. Anything else, or a transient failure that
outlasts the retries, raises :class:`WriteStopped` with code ``REQUEST_FAILED``; a spent budget
raises it with ``API_BUDGET``. Once stopped, the transport refuses every later request.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import requests
from simple_salesforce.exceptions import SalesforceError
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt, wait_exponential

from okta_salesforce.sync.guards import ApiBudget, ApiUsage

if TYPE_CHECKING:
    from simple_salesforce import Salesforce

log = logging.getLogger(__name__)
T = TypeVar("T")

#: Error codes of a stop that leaves records unwritten for a reason other than the record itself.
REQUEST_FAILED, NOT_ATTEMPTED, API_BUDGET = "REQUEST_FAILED", "NOT_ATTEMPTED", "API_BUDGET"
STOP_CODES = frozenset({REQUEST_FAILED, NOT_ATTEMPTED, API_BUDGET})


class WriteStopped(Exception):
    """Writing must stop: ``code`` and ``message`` go on every record not yet written."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def not_attempted(self) -> WriteStopped:
        """The stop to put on records after this one: a failed request leaves the rest NOT_ATTEMPTED."""
        if self.code == REQUEST_FAILED:
            return WriteStopped(NOT_ATTEMPTED, f"not attempted: an earlier request failed ({self.message})")
        return self


def is_transient(exc: BaseException) -> bool:
    """True for failures a retry may cure: dropped connections, timeouts, HTTP 5xx."""
    if isinstance(exc, SalesforceError):
        return int(getattr(exc, "status", 0) or 0) >= 500
    return isinstance(
        exc, (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError)
    )


def describe(exc: BaseException) -> str:
    """A short, secret-free description of a failed request."""
    if isinstance(exc, SalesforceError):
        status = getattr(exc, "status", "")
        content = getattr(exc, "content", None)
        detail = ""
        if isinstance(content, list) and content and isinstance(content[0], dict):
            detail = f" {content[0].get('errorCode', '')}: {str(content[0].get('message', ''))[:200]}"
        return f"Salesforce answered HTTP {status}{detail}"
    return f"{type(exc).__name__} while calling Salesforce"


class Transport:
    """Runs the writer's requests under the API budget, with retries.

    :param sf: the simple-salesforce client (its ``api_usage`` feeds the budget).
    :param budget: the API budget.
    :param retries: re-sends of a request that failed transiently (0: none).
    :param backoff: seconds before the first re-send; doubled for each further one.
    :param max_backoff: the longest wait between two attempts.
    :param sleep: how to wait (tests pass a no-op).
    """

    def __init__(
        self,
        sf: Salesforce | None,
        budget: ApiBudget,
        *,
        retries: int = 4,
        backoff: float = 1.0,
        max_backoff: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.sf = sf
        self.budget = budget
        self.retries = retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.sleep = sleep
        self.stopped: WriteStopped | None = None
        #: Re-sends made after transient failures (for the log and the tests).
        self.retried = 0
        self.observe()

    def observe(self) -> None:
        """Feed the client's latest ``Sforce-Limit-Info`` to the budget."""
        self.budget.observe(ApiUsage.from_client(getattr(self.sf, "api_usage", None)))

    def stop(self, stop: WriteStopped) -> None:
        """Refuse every later request with ``stop``."""
        self.stopped = stop

    def call(self, request: Callable[[], T], *, before_retry: Callable[[], None] | None = None) -> T:
        """Run ``request``; retry transient failures; raise :class:`WriteStopped` when writing must stop.

        :param before_retry: runs before each re-send (not before the first attempt).
        """
        if self.stopped is not None:
            raise self.stopped
        retrying = Retrying(
            stop=stop_after_attempt(self.retries + 1),
            wait=wait_exponential(multiplier=self.backoff, max=self.max_backoff),
            retry=retry_if_exception(is_transient),
            sleep=self.sleep,
            before_sleep=self._log_retry,
            reraise=True,
        )
        try:
            for attempt in retrying:
                with attempt:
                    if attempt.retry_state.attempt_number > 1:
                        self.retried += 1
                        if before_retry is not None:
                            before_retry()
                    return self._attempt(request)
        except WriteStopped as stop:
            self.stopped = stop
            raise
        except (requests.RequestException, SalesforceError, OSError) as exc:
            raise WriteStopped(REQUEST_FAILED, describe(exc)) from None
        raise AssertionError("unreachable: tenacity either returns or re-raises")  # pragma: no cover

    def _attempt(self, request: Callable[[], T]) -> T:
        if not self.budget.allows(1):
            raise WriteStopped(API_BUDGET, self.budget.message())
        try:
            return request()
        finally:
            self.observe()

    def _log_retry(self, state: RetryCallState) -> None:
        outcome: Any = state.outcome
        error = outcome.exception() if outcome is not None else None
        log.warning(
            "Salesforce request failed (%s); attempt %d of %d, retrying in %.1f s.",
            describe(error) if error else "unknown error",
            state.attempt_number,
            self.retries + 1,
            state.next_action.sleep if state.next_action else 0.0,
        )
