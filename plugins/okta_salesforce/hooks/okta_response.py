"""What an Okta answer is once it has arrived: status, headers, rate limit, and the body decoded once.

The body of a successful answer is decoded on first use (orjson), with the cyclic garbage collector
paused (:func:`paused_gc`): decoded JSON holds no cycles, and a page of 500 users is tens of
thousands of new containers that would otherwise trigger collections scanning the whole heap.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import orjson

from okta_salesforce.hooks.okta_records import parse_links


@dataclass(frozen=True)
class RateLimit:
    """The ``X-Rate-Limit-*`` headers of one Okta response.

    :param limit: requests allowed in the current window of the endpoint's bucket.
    :param remaining: requests left in the window.
    :param reset: epoch seconds when the window resets.
    """

    limit: int
    remaining: int
    reset: float

    @classmethod
    def from_headers(cls, headers: Mapping[str, list[str]]) -> RateLimit | None:
        """The rate limit of lower-cased ``headers``, or ``None`` when absent or malformed."""
        try:
            return cls(
                limit=int(_first(headers, "x-rate-limit-limit")),
                remaining=int(_first(headers, "x-rate-limit-remaining")),
                reset=float(_first(headers, "x-rate-limit-reset")),
            )
        except ValueError:
            return None

    @classmethod
    def from_response(cls, response: OktaResponse) -> RateLimit | None:
        """The rate-limit headers of ``response`` (see :meth:`from_headers`)."""
        return cls.from_headers(response.headers)

    def pause(self, reserve: float, now: float) -> float:
        """Seconds to wait so that at least ``reserve`` (a share of ``limit``) stays for other clients."""
        if self.limit <= 0 or self.remaining > self.limit * reserve:
            return 0.0
        return max(self.reset - now, 0.0)


_UNDECODED: Any = object()


def _first(headers: Mapping[str, list[str]], name: str) -> str:
    values = headers.get(name)
    return values[0] if values else ""


class OktaResponse:
    """One successful answer: status, headers (by lower-cased name, every value kept) and JSON body.

    :param body: the decoded body; or give ``text``, the undecoded answer, which :attr:`body`
        decodes on first use (:func:`decode_json`): a page's ``next`` link can be followed before
        its body is decoded, and the decoding can happen in the thread that uses it.
    """

    __slots__ = ("_body", "_text", "headers", "status", "url")

    def __init__(
        self,
        url: str,
        status: int,
        headers: dict[str, list[str]],
        body: Any = None,
        *,
        text: str | bytes | None = None,
    ) -> None:
        self.url = url
        self.status = status
        self.headers = headers
        self._body = _UNDECODED if text is not None else body
        self._text = text

    @property
    def body(self) -> Any:
        """The JSON value of the answer (``None`` when empty; the text itself when it is not JSON)."""
        if self._body is _UNDECODED:
            self._body, self._text = decode_json(self._text), None
        return self._body

    def take_body(self) -> Any:
        """:attr:`body`, which this response then lets go of (``body`` is ``None`` afterwards).

        For a page whose decoded value should die with its use: tens of thousands of containers
        that the garbage collector would otherwise scan once it resumes (see :func:`paused_gc`).
        """
        body = self.body
        self._body = None
        return body

    def __repr__(self) -> str:
        return f"OktaResponse(url={self.url!r}, status={self.status})"

    def header(self, name: str) -> str | None:
        """The first value of header ``name``, looked up case-insensitively."""
        values = self.headers.get(name.lower())
        return values[0] if values else None

    @property
    def links(self) -> dict[str, str]:
        """``rel`` to URL, over every ``Link`` header."""
        return parse_links(self.headers.get("link", []))

    @property
    def rate_limit(self) -> RateLimit | None:
        """The ``X-Rate-Limit-*`` headers of this answer."""
        return RateLimit.from_headers(self.headers)


def decode_json(text: str | bytes | None) -> Any:
    """The JSON value of a body (``None`` when empty; the text itself when it is not JSON).

    The cyclic garbage collector is paused while a page is decoded (:func:`paused_gc`): a page of
    500 users is tens of thousands of new containers, which would trigger collections that scan
    the whole heap (half the decode time at 100k users), and decoded JSON holds no cycles.
    """
    if not text:
        return None
    try:
        with paused_gc():
            return orjson.loads(text)
    except orjson.JSONDecodeError:
        return text if isinstance(text, str) else text.decode("utf-8", "replace")


_gc_lock = threading.Lock()
_gc_pauses = 0  # paused_gc blocks open, in any thread
_gc_was_enabled = False


@contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector for a burst of acyclic allocations (a page, its records).

    Synchronous code only (no ``await`` inside). The collector is process-wide and a hook's loop
    thread decodes while the task's thread works, so pauses are counted: the last one to end
    restores the collector as the first one found it (one the caller had disabled stays disabled).
    """
    global _gc_pauses, _gc_was_enabled
    with _gc_lock:
        if _gc_pauses == 0:
            _gc_was_enabled = gc.isenabled()
            gc.disable()
        _gc_pauses += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_pauses -= 1
            if _gc_pauses == 0 and _gc_was_enabled:
                gc.enable()
