"""The uuid ledger and push health kept in the Asset's state store."""

from __future__ import annotations

import pytest

from okta_salesforce.event_hook.ledger import PushHealth, UuidLedger


def test_the_ledger_forgets_old_uuids_and_keeps_the_newest_within_the_limit():
    ledger = UuidLedger()
    ledger.add(["old"], now=0.0)
    ledger.add(["a", "b", "c"], now=5000.0)

    assert "old" not in ledger
    ledger.prune(5000.0, max_uuids=2)
    assert list(ledger.entries) == ["b", "c"]


def test_a_uuid_keeps_the_time_it_was_first_seen():
    ledger = UuidLedger()
    ledger.add(["x"], now=1.0)
    ledger.add(["x"], now=2.0)

    assert ledger.entries == {"x": 1.0}


@pytest.mark.parametrize("stored", [None, "junk", {"uuids": "junk"}, {"uuids": {"a": "not-a-time", 3: 1.0}}])
def test_a_malformed_ledger_reads_as_empty_entries(stored):
    assert len(UuidLedger.from_dict(stored)) == 0


def test_health_round_trips_and_knows_when_push_was_last_seen():
    health = PushHealth(verified=10.0, last_delivery=25.0, deliveries=3)

    assert PushHealth.from_dict(health.to_dict()) == health
    assert health.last_seen == 25.0
    assert PushHealth.from_dict(None) is None
    assert PushHealth(verified=None, last_delivery=None).last_seen is None
