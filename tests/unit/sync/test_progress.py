"""Progress lines every few thousand records, with a rate."""

from __future__ import annotations

import logging

import pytest

from okta_salesforce.sync.progress import Progress


def test_a_line_every_n_records_with_the_rate(caplog: pytest.LogCaptureFixture) -> None:
    now = [100.0]
    progress = Progress(logging.getLogger("t"), "Okta assignments read", every=1000, clock=lambda: now[0])
    caplog.set_level(logging.INFO, logger="t")
    for _ in range(2500):
        now[0] += 0.001
        progress.add()
    assert [r.getMessage() for r in caplog.records] == [
        "Okta assignments read: 1000 so far (1000/s)",
        "Okta assignments read: 2000 so far (1000/s)",
    ]
    assert list(progress.iterate(["a", "b"])) == ["a", "b"]
    now[0] += 0.5
    assert progress.done() == pytest.approx(3.0)
    assert caplog.records[-1].getMessage() == "Okta assignments read: 2502 in 3.0 s (834/s)"


def test_a_batch_crossing_several_marks_logs_once(caplog: pytest.LogCaptureFixture) -> None:
    progress = Progress(logging.getLogger("t"), "users", every=100, clock=lambda: 1.0)
    caplog.set_level(logging.INFO, logger="t")
    progress.add(350)
    progress.add(10)
    progress.add(40)
    assert [r.getMessage() for r in caplog.records] == ["users: 350 so far (0/s)", "users: 400 so far (0/s)"]
