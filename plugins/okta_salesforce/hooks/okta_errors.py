"""Errors of the Okta hook, and how a failed request is classified (retry, or fail for good).

Messages name the method, the path and Okta's ``errorCode: errorSummary``; never a header, a
query string or a credential.
"""

from __future__ import annotations

import ssl
from typing import Any
from urllib.parse import urlsplit

from airflow.sdk.exceptions import AirflowException


class OktaError(AirflowException):
    """A call to Okta failed for good (after retries, or with an answer that retrying cannot fix)."""


class OktaApiError(OktaError):
    """Okta answered with an error status.

    :param status: the HTTP status.
    :param error_code: Okta's ``errorCode`` (``E0000007`` ...), when the body had one.
    """

    def __init__(self, message: str, *, status: int | None = None, error_code: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.error_code = error_code


class OktaNotFoundError(OktaApiError):
    """HTTP 404: the app, user or assignment does not exist."""


class OktaAuthError(OktaApiError):
    """HTTP 401 or 403: the credentials were refused, or lack a scope."""


class TransientError(Exception):
    """A failure worth retrying: 5xx, a dropped connection, a timeout, a rate limit.

    :param reset_at: epoch seconds when the rate-limit window resets (429 only).
    :param status: the HTTP status, when there was an answer.
    """

    def __init__(self, message: str, *, reset_at: float | None = None, status: int | None = None) -> None:
        super().__init__(message)
        self.reset_at = reset_at
        self.status = status


def classify_failure(error: BaseException | None, url: str, stage: str) -> Exception:
    """Turn an error the SDK returned (or raised) into a retryable or a final exception."""
    import aiohttp

    if isinstance(error, (aiohttp.ClientConnectorCertificateError, ssl.SSLCertVerificationError)):
        return OktaError(
            f"TLS verification failed for {urlsplit(url).netloc}: trust its CA with the connection's "
            f"ca_bundle ({error})"
        )
    if isinstance(error, (aiohttp.ClientError, TimeoutError, ConnectionError)):
        return TransientError(f"connection failed ({type(error).__name__}: {error})".replace("()", ""))
    status = getattr(error, "status", None)
    if isinstance(status, int) and (status >= 500 or status == 429):
        return TransientError(f"{stage} failed: {error}", status=status)
    return OktaApiError(f"Okta {stage} failed for {path_of(url)}: {error}", status=status)


def status_error(method: str, url: str, status: int, body: Any, *, private_key: bool) -> OktaApiError:
    """The final error of an error status (not 429 nor 5xx, which are retried)."""
    where = f"{method} {path_of(url)}: HTTP {status} {error_summary(body)}".rstrip()
    code = error_code(body)
    if status == 404:
        return OktaNotFoundError(where, status=status, error_code=code)
    if status == 401:
        credential = "the service app's private key and client id" if private_key else "the API token"
        return OktaAuthError(
            f"{where}: Okta refused the credentials; check {credential} in the Okta connection",
            status=status,
            error_code=code,
        )
    if status == 403:
        return OktaAuthError(
            f"{where}: the credentials lack the permission or scope this read needs",
            status=status,
            error_code=code,
        )
    return OktaApiError(where, status=status, error_code=code)


def path_of(url: str) -> str:
    """The path of ``url``: its query (a cursor, a filter) is left out of messages."""
    return urlsplit(url).path


def first_float(values: list[str] | None) -> float | None:
    """The first value that reads as a number."""
    for value in values or ():
        try:
            return float(value)
        except ValueError:
            continue
    return None


def error_code(body: Any) -> str:
    """Okta's ``errorCode`` (or OAuth's ``error``) of an error body."""
    return str(body.get("errorCode") or body.get("error") or "") if isinstance(body, dict) else ""


def error_summary(body: Any) -> str:
    """Okta's ``errorCode: errorSummary`` (or OAuth's ``error: error_description``) from an error body."""
    if not isinstance(body, dict):
        return ""
    code = error_code(body)
    summary = body.get("errorSummary") or body.get("error_description") or ""
    return f"{code}: {summary}".strip(": ")
