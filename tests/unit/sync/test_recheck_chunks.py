"""The re-check's Salesforce reads go in ``IN`` chunks as large as a REST query GET may be.

Salesforce accepts a request whose URI and headers together are at most 16,384 bytes (414 when
the URI alone is over, 431 when URI plus headers are); the re-check fills that, less the client's
own headers and an allowance, instead of the 2,000-character URIs Salesforce suggests for
interactive use.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

from okta_salesforce.sync.config import load_config
from okta_salesforce.sync.directory import bulk_uri_target, header_bytes, users_by_id
from okta_salesforce.sync.models import DirectoryInfo
from okta_salesforce.sync.soql import URI_MAX, URI_TARGET

CONFIG = str(Path(__file__).resolve().parents[3] / "include" / "okta_salesforce.yaml")

_ID = re.compile(r"'(005[0-9A-Za-z]{15})'")


class FakeSession:
    headers = {  # requests' defaults
        "User-Agent": "python-requests/2.32.3",
        "Accept-Encoding": "gzip, deflate",
        "Accept": "*/*",
        "Connection": "keep-alive",
    }


class FakeSalesforce:
    """Answers ``Id IN`` / ``UserId IN`` queries for every id, and records each request's URI."""

    base_url = "https://acme.my.salesforce.com/services/data/v62.0/"
    session = FakeSession()

    def __init__(self, token: str = "00D" + "x" * 109) -> None:
        self.headers = {
            "Content-Type": "application/json",
            "Authorization": f"Bearer {token}",
            "X-PrettyPrint": "1",
        }
        self.uris: list[str] = []

    def query_all_iter(self, statement: str) -> Any:
        self.uris.append(f"{self.base_url}query/?q={quote_plus(statement)}")
        ids = _ID.findall(statement)
        if statement.startswith("SELECT Id, UserId"):
            return iter({"Id": "0Yw" + i[3:], "UserId": i, "IsFrozen": False} for i in ids)
        return iter({"Id": i, "Username": f"{i}@acme.test", "IsActive": True} for i in ids)


def ids(count: int) -> list[str]:
    return [f"005{i:015d}" for i in range(count)]


def test_each_request_stays_within_the_uri_and_header_limit_and_chunks_are_large() -> None:
    sf = FakeSalesforce()
    config = load_config(CONFIG)
    found = users_by_id(sf, config, ids(5_000), DirectoryInfo(), uri_target=bulk_uri_target(sf))  # type: ignore[arg-type]
    assert len(found) == 5_000
    assert all(u.user_login_id for u in found.values())
    host = len("Host: acme.my.salesforce.com\r\n")
    for uri in sf.uris:
        assert len(uri.encode()) + header_bytes(sf) + host <= URI_MAX  # type: ignore[arg-type]
    # Every chunk but the last of each kind is well past the old 2,000-character target.
    users = [u for u in sf.uris if "FROM+User+" in u]
    logins = [u for u in sf.uris if "FROM+UserLogin+" in u]
    assert len(users) + len(logins) == len(sf.uris)
    assert all(len(u) > 5 * URI_TARGET for u in users[:-1] + logins[:-1])
    assert len(users) <= 5_000 // 400 + 1


def test_a_long_token_leaves_less_room_for_the_uri() -> None:
    short, long = FakeSalesforce(), FakeSalesforce(token="eyJ" + "x" * 3_000)  # a JWT access token
    assert bulk_uri_target(long) == bulk_uri_target(short) - 2_891  # type: ignore[arg-type]
    config = load_config(CONFIG)
    users_by_id(long, config, ids(3_000), DirectoryInfo(), uri_target=bulk_uri_target(long))  # type: ignore[arg-type]
    assert max(len(u) for u in long.uris) + header_bytes(long) < URI_MAX  # type: ignore[arg-type]


def test_without_a_target_the_reads_keep_the_suggested_2000_characters() -> None:
    sf = FakeSalesforce()
    users_by_id(sf, load_config(CONFIG), ids(500), DirectoryInfo())  # type: ignore[arg-type]
    assert max(len(u) for u in sf.uris) <= URI_TARGET
