"""The sandbox org derives read-only User fields the way Salesforce does."""

from __future__ import annotations

import pytest

from okta_salesforce_testbed.sandbox.salesforce_licenses import LICENSE_USER_TYPES, license_user_type
from okta_salesforce_testbed.sandbox.salesforce_org import Org, RecordError
from okta_salesforce_testbed.sandbox.salesforce_schema import USER_TYPES


def _org_with(*licenses: str) -> tuple[Org, dict[str, str]]:
    org = Org()
    profiles = {}
    for name in licenses:
        license_id = org.insert_raw("UserLicense", {"Name": name, "TotalLicenses": 10})["Id"]
        profiles[name] = org.insert_raw("Profile", {"Name": f"{name} profile", "UserLicenseId": license_id})[
            "Id"
        ]
    return org, profiles


def _user(profile_id: str, username: str) -> dict[str, object]:
    return {
        "Username": username,
        "Email": username,
        "LastName": "Doe",
        "Alias": username[:8],
        "ProfileId": profile_id,
        "TimeZoneSidKey": "GMT",
        "LocaleSidKey": "en_US",
        "LanguageLocaleKey": "en_US",
        "EmailEncodingKey": "UTF-8",
    }


@pytest.mark.parametrize(
    ("license_name", "user_type"),
    [
        ("Salesforce", "Standard"),
        ("Salesforce Platform", "Standard"),
        ("Chatter Free", "CsnOnly"),
        ("Partner Community", "PowerPartner"),
        ("Customer Community", "CspLitePortal"),
        ("Customer Community Plus", "PowerCustomerSuccess"),
        ("Customer Portal Manager Standard", "CustomerSuccess"),
    ],
)
def test_profile_and_user_type_come_from_the_license(license_name: str, user_type: str) -> None:
    org, profiles = _org_with(license_name)
    profile = org.table("Profile")[profiles[license_name]]
    assert profile["UserType"] == user_type
    user_id = org.create("User", _user(profiles[license_name], "new@acme.example.com"))
    assert org.table("User")[user_id]["UserType"] == user_type


def test_every_license_type_is_a_user_type_and_unknown_licenses_are_refused() -> None:
    assert set(LICENSE_USER_TYPES.values()) <= set(USER_TYPES)
    with pytest.raises(ValueError, match="Imaginary"):
        license_user_type("Imaginary")


def test_license_changes_salesforce_refuses() -> None:
    org, profiles = _org_with("Salesforce", "Chatter Free", "Partner Community")
    user_id = org.create("User", _user(profiles["Salesforce"], "std@acme.example.com"))
    for target, message in (
        ("Chatter Free", "change user type from Standard to CSN Only"),
        ("Partner Community", "change in license types is not allowed"),
    ):
        with pytest.raises(RecordError, match=message) as caught:
            org.update("User", user_id, {"ProfileId": profiles[target]})
        assert caught.value.status_code == "FIELD_INTEGRITY_EXCEPTION"
    assert org.table("User")[user_id]["UserType"] == "Standard"


def test_raw_profile_moves_rederive_the_user_type() -> None:
    org, profiles = _org_with("Salesforce", "Chatter Free")
    record = org.insert_raw(
        "User", {**_user(profiles["Chatter Free"], "raw@acme.example.com"), "UserType": "X"}
    )
    assert record["UserType"] == "CsnOnly"
    org.update_raw(record, {"ProfileId": profiles["Salesforce"]})
    assert record["UserType"] == "Standard"
