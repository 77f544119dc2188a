"""Keep the okta SDK's log records free of credentials.

The okta SDK logs each request dict, ``Authorization`` header included, at DEBUG, in several
forms: ``SSWS <token>`` from the request executor, ``SSWS<token>`` (no space) from the typed API's
configuration, ``Bearer``/``DPoP`` access tokens, DPoP proofs and client assertions (JWTs).
"""

from __future__ import annotations

import logging
import re

SDK_LOGGER = "okta-sdk-python"

#: Credentials as the SDK may log them: an ``Authorization`` value of any scheme (``SSWS``, ``Bearer``,
#: ``DPoP``, ``Basic``, with or without the space: the typed API sends ``SSWS<token>``), a bare
#: scheme-prefixed token, and any JWT (client assertions, DPoP proofs, access tokens).
_AUTHORIZATION = re.compile(
    r"""(?P<key>\b(?:Authorization|DPoP)['"]?\s*[:=]\s*['"]?)(?P<value>[^'"\r\n,}]+)""", re.IGNORECASE
)
_SCHEMED = re.compile(r"\b(?P<scheme>SSWS|Bearer|DPoP|Basic)\s*(?P<value>[\w.~+/=-]{8,})", re.IGNORECASE)
_SCHEME_PREFIX = re.compile(r"\s*(SSWS|Bearer|DPoP|Basic)", re.IGNORECASE)
_JWT = re.compile(r"\beyJ[\w-]+\.[\w-]+\.[\w-]*")


def _masked(value: str) -> str:
    scheme = _SCHEME_PREFIX.match(value)
    return f"{scheme.group(1)} ***" if scheme else "***"


def redact_credentials(text: str) -> str:
    """``text`` with every credential form the okta SDK sends replaced by ``***``."""
    text = _AUTHORIZATION.sub(lambda m: m.group("key") + _masked(m.group("value")), text)
    text = _SCHEMED.sub(lambda m: f"{m.group('scheme')} ***", text)
    return _JWT.sub("JWT ***", text)


class _RedactCredentials(logging.Filter):
    """Blank out API tokens, access tokens and JWTs in the SDK's log records.

    The SDK logs each request dict, ``Authorization`` header included, at DEBUG.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact_credentials(message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        return True


def guard_sdk_logger() -> None:
    """Keep the SDK's logger at INFO or above and redact credentials should anything lower it."""
    sdk_logger = logging.getLogger(SDK_LOGGER)
    if sdk_logger.level == logging.NOTSET or sdk_logger.level < logging.INFO:
        sdk_logger.setLevel(logging.INFO)
    if not any(isinstance(f, _RedactCredentials) for f in sdk_logger.filters):
        sdk_logger.addFilter(_RedactCredentials())
