"""The Okta sandbox's timestamps: UTC, milliseconds (truncated), ``Z``, as Okta renders them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from okta_salesforce_testbed.sandbox.okta_logs import format_time, parse_time


@pytest.mark.parametrize(
    ("moment", "text"),
    [
        (datetime(2024, 1, 31, 18, 25, 1, tzinfo=UTC), "2024-01-31T18:25:01.000Z"),
        (datetime(2024, 1, 31, 18, 25, 1, 999999, tzinfo=UTC), "2024-01-31T18:25:01.999Z"),
        (
            datetime(2024, 1, 31, 23, 30, 0, 5000, tzinfo=timezone(timedelta(hours=-5))),
            "2024-02-01T04:30:00.005Z",
        ),
    ],
)
def test_format_time(moment: datetime, text: str) -> None:
    assert format_time(moment) == text
    assert parse_time(text) == moment.replace(microsecond=moment.microsecond // 1000 * 1000)
