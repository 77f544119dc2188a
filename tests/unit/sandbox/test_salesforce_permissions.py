"""The sandbox's permission objects follow Salesforce's rules: groups, licenses, deletes."""

from __future__ import annotations

import pytest

from okta_salesforce_testbed.sandbox.salesforce_deletes import DeleteRequestError, delete_records
from okta_salesforce_testbed.sandbox.salesforce_org import Org, RecordError
from okta_salesforce_testbed.sandbox.salesforce_seed import seed_org
from okta_salesforce_testbed.sandbox.seed import Seed


@pytest.fixture
def org() -> Org:
    org = Org()
    seed_org(org, Seed(users=30, seed=3))
    return org


def _id(org: Org, sobject: str, key: str, value: str) -> str:
    return next(r["Id"] for r in org.table(sobject).values() if r.get(key) == value)


def _managed_user(org: Org) -> str:
    return next(
        u["Id"] for u in org.table("User").values() if u.get("FederationIdentifier") and u["IsActive"]
    )


def test_a_group_assignment_names_the_group_and_its_aggregate_set(org: Org) -> None:
    user = _managed_user(org)
    group = _id(org, "PermissionSetGroup", "DeveloperName", "Service_Cloud_Agents")
    row_id = org.create("PermissionSetAssignment", {"AssigneeId": user, "PermissionSetGroupId": group})
    row = org.table("PermissionSetAssignment")[row_id]
    aggregate = org.table("PermissionSet")[row["PermissionSetId"]]
    assert aggregate["Type"] == "Group"
    assert aggregate["PermissionSetGroupId"] == group
    with pytest.raises(RecordError) as err:
        org.create("PermissionSetAssignment", {"AssigneeId": user, "PermissionSetGroupId": group})
    assert err.value.status_code == "DUPLICATE_VALUE"
    rows = org.query(f"SELECT Id FROM PermissionSetAssignment WHERE PermissionSetGroupId = '{group}'")
    assert [r["Id"] for r in rows.records] == [row_id]


def test_both_or_neither_set_and_group_is_refused(org: Org) -> None:
    user = _managed_user(org)
    with pytest.raises(RecordError) as err:
        org.create("PermissionSetAssignment", {"AssigneeId": user})
    assert err.value.status_code == "FIELD_INTEGRITY_EXCEPTION"


def test_a_set_needing_a_license_needs_the_license_first_and_keeps_it(org: Org) -> None:
    user = _managed_user(org)
    console = _id(org, "PermissionSet", "Name", "Sales_Console")
    license_id = _id(org, "PermissionSetLicense", "DeveloperName", "SalesConsoleUser")
    with pytest.raises(RecordError) as err:
        org.create("PermissionSetAssignment", {"AssigneeId": user, "PermissionSetId": console})
    assert err.value.status_code == "FIELD_INTEGRITY_EXCEPTION"
    assert "permission set license Sales Console User first" in str(err.value)
    seat = org.create(
        "PermissionSetLicenseAssign", {"AssigneeId": user, "PermissionSetLicenseId": license_id}
    )
    assert org.table("PermissionSetLicense")[license_id]["UsedLicenses"] == 1
    assignment = org.create("PermissionSetAssignment", {"AssigneeId": user, "PermissionSetId": console})
    with pytest.raises(RecordError) as err:
        org.delete("PermissionSetLicenseAssign", seat)
    assert err.value.status_code == "DELETE_FAILED"
    org.delete("PermissionSetAssignment", assignment)
    org.delete("PermissionSetLicenseAssign", seat)
    assert org.table("PermissionSetLicense")[license_id]["UsedLicenses"] == 0


def test_license_seats_run_out(org: Org) -> None:
    license_id = _id(org, "PermissionSetLicense", "DeveloperName", "LightningScheduler")
    org.table("PermissionSetLicense")[license_id]["TotalLicenses"] = 1
    users = [u["Id"] for u in org.table("User").values() if u.get("FederationIdentifier")][:2]
    org.create("PermissionSetLicenseAssign", {"AssigneeId": users[0], "PermissionSetLicenseId": license_id})
    with pytest.raises(RecordError) as err:
        org.create(
            "PermissionSetLicenseAssign", {"AssigneeId": users[1], "PermissionSetLicenseId": license_id}
        )
    assert err.value.status_code == "LICENSE_LIMIT_EXCEEDED"


def test_collection_deletes_report_each_id_and_roll_back_all_or_none(org: Org) -> None:
    rows = list(org.table("PermissionSetAssignment"))[:2]
    user = _managed_user(org)
    results = delete_records(org, f"{rows[0]},005000000000000AAA,bad,{user}", "true")
    assert [r["success"] for r in results] == [False] * 4
    codes = [r["errors"][0]["statusCode"] for r in results]
    assert codes == [
        "ALL_OR_NONE_OPERATION_ROLLED_BACK",
        "ENTITY_IS_DELETED",
        "MALFORMED_ID",
        "INVALID_TYPE_FOR_OPERATION",
    ]
    assert rows[0] in org.table("PermissionSetAssignment")  # rolled back
    results = delete_records(org, ",".join(rows), None)
    assert [r["success"] for r in results] == [True, True]
    assert not set(rows) & set(org.table("PermissionSetAssignment"))
    with pytest.raises(DeleteRequestError, match="cannot submit more than 200"):
        delete_records(org, ",".join(["0Pa5g0000000001AAA"] * 201), None)


def test_feature_licenses_are_user_checkboxes(org: Org) -> None:
    user = _managed_user(org)
    assert org.table("User")[user]["UserPermissionsMarketingUser"] is False
    org.update("User", user, {"UserPermissionsMarketingUser": True})
    assert org.table("User")[user]["UserPermissionsMarketingUser"] is True
