"""Reading ahead in a background thread: same items, same errors, bounded, stopped on close."""

from __future__ import annotations

import threading
import time

import pytest

from okta_salesforce.sync.prefetch import Prefetch


def test_items_come_in_order_and_the_source_is_read_ahead():
    started = threading.Event()

    def source():
        started.set()
        yield from range(10_001)

    with Prefetch(source(), batch=100, depth=3) as items:
        assert started.wait(5)  # read from creation, before anyone iterates
        assert list(items) == list(range(10_001))
        with pytest.raises(RuntimeError):
            iter(items)


def test_an_error_of_the_source_is_raised_to_the_reader_after_the_items_before_it():
    class Expired(Exception):
        pass

    def source():
        yield from range(5)
        raise Expired("session expired")

    seen: list[int] = []
    with Prefetch(source(), batch=2) as items, pytest.raises(Expired, match="session expired"):
        seen.extend(items)
    assert seen == [0, 1, 2, 3, 4]


def test_reading_ahead_is_bounded_and_close_stops_the_reader():
    pulled = 0

    def source():
        nonlocal pulled
        for i in range(1_000_000):
            pulled += 1
            yield i

    items = Prefetch(source(), batch=10, depth=2)
    for _ in range(200):  # until the queue is full and the reader waits
        if items._queue.full() and pulled >= 30:
            break
        time.sleep(0.01)
    reader = iter(items)
    assert next(reader) == 0
    items.close()
    assert not items._thread.is_alive()
    assert pulled <= 10 * (2 + 2) + 1  # the queue, the batch being handed over, the one being built
