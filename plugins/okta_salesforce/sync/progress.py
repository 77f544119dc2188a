"""Progress lines for long reads and writes: every few thousand records, with a rate.

Pure Python (no Airflow): the operators pass their task logger.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Protocol, TypeVar

T = TypeVar("T")


class Log(Protocol):
    """What the package logs through: a ``logging.Logger`` and a task's ``self.log`` both fit."""

    def info(self, msg: str, /, *args: Any) -> Any: ...

    def warning(self, msg: str, /, *args: Any) -> Any: ...


#: Records between two progress lines.
DEFAULT_EVERY = 5000


class Progress:
    """Counts records and logs ``<what>: N so far (R/s)`` every ``every`` of them.

    :param log: where the lines go (a task's ``self.log``).
    :param what: what is counted, e.g. ``"Okta assignments read"``.
    :param every: records between two lines.
    :param clock: seconds, monotonic (a fake in tests).
    """

    def __init__(
        self,
        log: Log,
        what: str,
        *,
        every: int = DEFAULT_EVERY,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.log = log
        self.what = what
        self.every = every
        self.clock = clock
        self.count = 0
        self.started = clock()
        self._next = every

    @property
    def seconds(self) -> float:
        return self.clock() - self.started

    def rate(self) -> float:
        """Records per second so far."""
        return self.count / self.seconds if self.seconds > 0 else 0.0

    def add(self, n: int = 1) -> None:
        """Count ``n`` more records; log when a multiple of ``every`` was passed."""
        self.count += n
        if self.count >= self._next:
            self.log.info("%s: %d so far (%.0f/s)", self.what, self.count, self.rate())
            self._next = (self.count // self.every + 1) * self.every

    def iterate(self, items: Iterable[T]) -> Iterator[T]:
        """Yield ``items`` unchanged, counting each."""
        for item in items:
            yield item
            self.add()

    def done(self) -> float:
        """Log the total and return the elapsed seconds."""
        seconds = self.seconds
        self.log.info("%s: %d in %.1f s (%.0f/s)", self.what, self.count, seconds, self.rate())
        return seconds
