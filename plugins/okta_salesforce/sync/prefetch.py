"""Read an iterator ahead in a background thread, so that waiting for its pages overlaps other work.

The plan reads every Salesforce user page by page (one SOQL request each) and stores them on local
disk: with :class:`Prefetch` the next pages are requested while the current one is stored, and the
first ones while the Okta snapshot is loaded. Memory stays bounded: at most ``depth`` batches of
``batch`` items wait in the queue.

One thread reads the source at a time: the producer until it is exhausted, fails, or is closed
(:meth:`Prefetch.close` waits for it to stop), so a client that is not thread-safe can be used
again once the iteration is over.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from typing import Generic, TypeVar

T = TypeVar("T")

_END = object()
#: Seconds between two checks for a close while the queue is full.
_POLL = 0.05


class _Failure:
    def __init__(self, error: BaseException) -> None:
        self.error = error


class Prefetch(Generic[T]):
    """``items``, read ahead from the moment it is created; iterate once, then :meth:`close`.

    :param items: the source (read in the background thread only).
    :param batch: items handed over at a time.
    :param depth: batches that may wait, read but not yet consumed.
    """

    def __init__(self, items: Iterable[T], *, batch: int = 2000, depth: int = 4) -> None:
        self._items = items
        self._batch = batch
        self._queue: queue.Queue[object] = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._iterated = False
        self._thread = threading.Thread(target=self._produce, name="okta-salesforce-prefetch", daemon=True)
        self._thread.start()

    def _put(self, item: object) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=_POLL)
                return True
            except queue.Full:
                continue
        return False

    def _produce(self) -> None:
        chunk: list[T] = []
        try:
            for item in self._items:
                chunk.append(item)
                if len(chunk) >= self._batch:
                    if not self._put(chunk):
                        return
                    chunk = []
        except BaseException as error:  # noqa: BLE001 - handed to the reader, raised there
            if not chunk or self._put(chunk):  # the items read before it come first
                self._put(_Failure(error))
            return
        if not chunk or self._put(chunk):
            self._put(_END)

    def __iter__(self) -> Iterator[T]:
        if self._iterated:
            raise RuntimeError("a Prefetch is read once")
        self._iterated = True
        return self._consume()

    def _consume(self) -> Iterator[T]:
        while True:
            got = self._queue.get()
            if got is _END:
                return
            if isinstance(got, _Failure):
                raise got.error
            yield from got  # type: ignore[misc]

    def close(self) -> None:
        """Stop reading ahead and wait for the producer to finish (its current read, at most)."""
        self._stop.set()
        self._thread.join()

    def __enter__(self) -> Prefetch[T]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
