"""Helpers for the sync tests: Okta assignments and an in-memory Salesforce.

``OrgClient`` drives the sandbox's :class:`~okta_salesforce_testbed.sandbox.salesforce_org.Org` (the
same validation as the HTTPS sandbox, no sockets) through the two simple-salesforce methods the
sync uses, ``query_all_iter`` and ``restful``, so plans can be applied and re-planned quickly.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from okta_salesforce.sync.models import OktaAssignment
from okta_salesforce_testbed.sandbox.salesforce_org import Org, RecordError
from okta_salesforce_testbed.sandbox.salesforce_schema import PREFIXES, SCHEMA, describe_field

REPO = Path(__file__).resolve().parents[3]
CONFIG_PATH = REPO / "include" / "okta_salesforce.yaml"


class _Usage:
    def __init__(self, used: int, total: int) -> None:
        self.used, self.total = used, total


class OrgClient:
    """A stand-in for ``simple_salesforce.Salesforce`` over an in-memory sandbox org."""

    base_url = "https://127.0.0.1:8443/services/data/v62.0/"

    def __init__(self, org: Org, *, daily_limit: int = 15_000) -> None:
        self.org = org
        self.calls: Counter[str] = Counter()
        self.used = 0
        self.daily_limit = daily_limit
        self.api_usage: dict[str, Any] = {}
        self.before_call: Callable[[str, str], None] | None = None

    def _count(self, name: str, method: str = "GET") -> None:
        if self.before_call is not None:
            self.before_call(name, method)
        self.calls[name] += 1
        self.used += 1
        self.api_usage = {"api-usage": _Usage(self.used, self.daily_limit)}

    def query_all_iter(self, query: str) -> Iterator[dict[str, Any]]:
        self._count("query")
        result = self.org.query(query)
        for record in result.records:
            yield result.render(record, "62.0")

    def restful(self, path: str, method: str = "GET", json: Any = None, **_: Any) -> Any:
        if path == "sobjects/User/describe":
            self._count("describe")
            return {"fields": [describe_field(f) for f in SCHEMA["user"].fields.values()]}
        assert path == "composite/sobjects", path
        self._count(f"composite.{method}", method)
        records = json["records"]
        assert len(records) <= 200
        results = []
        for item in records:
            with self.org.transaction() as savepoint:
                try:
                    if method == "POST":
                        new_id = self.org.create(item["attributes"]["type"], item)
                    else:
                        sobject = PREFIXES[item["id"][:3]].name
                        new_id = self.org.update(sobject, item["id"], item)
                    results.append({"id": new_id, "success": True, "errors": []})
                except RecordError as error:
                    savepoint()
                    results.append({"success": False, "errors": [error.as_error()]})
        return results

    # Admin view --------------------------------------------------------------------------
    def user(self, username: str) -> dict[str, Any] | None:
        return self.org.user_by_username(username)

    def frozen(self, username: str) -> bool:
        user = self.org.user_by_username(username)
        assert user is not None
        return bool(self.org.table("UserLogin")[self.org.login_by_user[user["Id"]]]["IsFrozen"])


def make_assignment(login: str, **profile: Any) -> OktaAssignment:
    """An assigned, active Okta user with a complete profile (override any attribute)."""
    local = login.split("@")[0]
    base = {
        "login": login,
        "email": login,
        "firstName": local.split(".")[0].title(),
        "lastName": ([*local.split("."), "Person"])[1].title(),
        "department": "Sales",
        "title": "Account Executive",
        "locale": "en_US",
        "timezone": "America/New_York",
        "employeeNumber": "E1",
    }
    base.update(profile)
    return OktaAssignment(
        okta_user_id="00u" + str(abs(hash(login)))[:17].ljust(17, "0"),
        login=login,
        app_username=login,
        assignment_status="ACTIVE",
        scope="USER",
        user_status="ACTIVE",
        profile={k: v for k, v in base.items() if v is not ...},
    )
