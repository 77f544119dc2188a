"""The entitlement writer: batching, one outcome per user, retries and stops through the transport."""

from __future__ import annotations

from typing import Any

import requests
from sync_helpers import CONFIG_PATH

from okta_salesforce.sync.config import load_config
from okta_salesforce.sync.entitlement_writer import apply_entitlements, created_ids
from okta_salesforce.sync.models import Action, ActionKind, DirectoryInfo, Outcome

CONFIG = load_config(CONFIG_PATH)
DIRECTORY = DirectoryInfo(
    permission_sets={"Console": "0PS000000000001AAA"},
    permission_set_groups={"Sales_Cloud": "0PG000000000001AAA"},
    permission_set_licenses={"ConsoleLicense": "0PL000000000001AAA"},
)


class FakeSalesforce:
    """Answers sObject Collections calls; ``failures`` transient errors first."""

    def __init__(self, failures: int = 0) -> None:
        self.failures = failures
        self.calls: list[tuple[str, Any]] = []
        self.api_usage: dict[str, Any] = {}

    def restful(self, path: str, method: str = "GET", json: Any = None, params: Any = None, **_: Any) -> Any:
        assert path == "composite/sobjects"
        if self.failures:
            self.failures -= 1
            raise requests.ConnectionError("dropped")
        self.calls.append((method, json or params))
        if method == "DELETE":
            return [{"id": i, "success": True, "errors": []} for i in params["ids"].split(",")]
        results = []
        for record in json["records"]:
            if record.get("PermissionSetGroupId"):
                error = {"statusCode": "DUPLICATE_VALUE", "message": "duplicate value found", "fields": []}
                results.append({"success": False, "errors": [error]})
            else:
                results.append({"id": "0Pa000000000009AAA", "success": True, "errors": []})
        return results


def _entitle(login: str, salesforce_id: str | None, *items: dict[str, str], **fields: Any) -> Action:
    return Action(
        kind=ActionKind.ENTITLE,
        login=login,
        salesforce_id=salesforce_id,
        entitlements=tuple(items),
        fields=fields,
        reason="x",
    )


ASSIGN_SET = {"op": "assign", "type": "permission_set", "name": "Console"}
ASSIGN_LICENSE = {"op": "assign", "type": "permission_set_license", "name": "ConsoleLicense"}
ASSIGN_GROUP = {"op": "assign", "type": "permission_set_group", "name": "Sales_Cloud"}
REMOVE_SET = {"op": "remove", "type": "permission_set", "name": "Old", "id": "0Pa000000000001AAA"}


def test_licenses_then_sets_then_removals_then_managers_one_outcome_each() -> None:
    sf = FakeSalesforce()
    created = created_ids(
        [
            Outcome("new@x.com", "create", True, "005000000000002AAA"),
            Outcome("boss@x.com", "create", True, "005000000000003AAA"),
            Outcome("failed@x.com", "create", False, None, "DUPLICATE_USERNAME"),
        ]
    )
    actions = [
        _entitle("ann@x.com", "005000000000001AAA", ASSIGN_LICENSE, ASSIGN_SET, ASSIGN_GROUP, REMOVE_SET),
        _entitle("new@x.com", None, ASSIGN_SET, ManagerId="boss@x.com"),
        _entitle("failed@x.com", None, ASSIGN_SET),
        Action(kind=ActionKind.UPDATE, login="ann@x.com", salesforce_id="005000000000001AAA"),
    ]
    outcomes = apply_entitlements(sf, actions, CONFIG, DIRECTORY, created=created)
    assert [c[0] for c in sf.calls] == ["POST", "POST", "DELETE", "PATCH"]
    assert [r["attributes"]["type"] for r in sf.calls[0][1]["records"]] == ["PermissionSetLicenseAssign"]
    assert sf.calls[2][1] == {"ids": "0Pa000000000001AAA", "allOrNone": "false"}
    assert sf.calls[3][1]["records"] == [
        {"attributes": {"type": "User"}, "id": "005000000000002AAA", "ManagerId": "005000000000003AAA"}
    ]
    ann, new, failed = outcomes
    assert ann.success
    assert ann.message == (
        "assigned permission set license ConsoleLicense; assigned permission set Console; "
        "assigned permission set group Sales_Cloud (already assigned); removed permission set Old"
    )
    assert new.success
    assert new.salesforce_id == "005000000000002AAA"
    assert not failed.success
    assert failed.error_code == "NOT_ATTEMPTED"


def test_a_transient_failure_is_retried_and_one_that_lasts_stops_the_rest() -> None:
    actions = [_entitle("ann@x.com", "005000000000001AAA", ASSIGN_SET, REMOVE_SET)]
    sf = FakeSalesforce(failures=1)
    [outcome] = apply_entitlements(sf, actions, CONFIG, DIRECTORY, sleep=lambda _: None)
    assert outcome.success
    sf = FakeSalesforce(failures=100)
    [outcome] = apply_entitlements(sf, actions, CONFIG, DIRECTORY, sleep=lambda _: None)
    assert not outcome.success
    assert outcome.error_code == "REQUEST_FAILED"
    assert "remove permission set Old failed: NOT_ATTEMPTED" in outcome.message


def test_a_manager_not_created_is_a_clear_error() -> None:
    actions = [_entitle("ann@x.com", "005000000000001AAA", ManagerId="boss@x.com")]
    [outcome] = apply_entitlements(FakeSalesforce(), actions, CONFIG, DIRECTORY, created={})
    assert outcome.error_code == "MANAGER_NOT_PROVISIONED"
    assert outcome.fields == ("ManagerId",)
    assert "the manager boss@x.com was not created in this run" in outcome.message
