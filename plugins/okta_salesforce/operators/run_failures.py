"""How a run fails on purpose: exceptions the report, the verdict and the fast path raise."""

from __future__ import annotations

from okta_salesforce.version_compat import AirflowFailException


class RunFailed(AirflowFailException):
    """The run did not converge: the report says who is pending and why (retrying cannot help)."""


class UpstreamFailed(AirflowFailException):
    """An upstream task failed and was already announced: fail the run without a second alert."""

    already_notified = True
