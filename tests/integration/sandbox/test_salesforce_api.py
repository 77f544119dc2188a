"""The Salesforce sandbox through the real simple-salesforce client over verified HTTPS."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceExpiredSession, SalesforceMalformedRequest

from okta_salesforce.hooks.salesforce_session import mount_ca_bundle
from okta_salesforce_testbed.sandbox.salesforce import SalesforceApp
from okta_salesforce_testbed.sandbox.seed import Seed
from okta_salesforce_testbed.sandbox.server import SandboxServer
from okta_salesforce_testbed.sandbox.tls import SandboxCA

pytestmark = pytest.mark.integration
API = "62.0"


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> SandboxCA:
    return SandboxCA(tmp_path_factory.mktemp("ca"))


@pytest.fixture(scope="module")
def server(ca: SandboxCA, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxServer]:
    """One org for the module (server start/stop dominates test time); tests use distinct users."""
    app = SalesforceApp.from_seed(Seed(users=700), directory=tmp_path_factory.mktemp("salesforce"))
    with SandboxServer(app, ca) as srv:
        app.base_url = srv.url
        yield srv


@pytest.fixture
def app(server: SandboxServer) -> Iterator[SalesforceApp]:
    """The module's app, with its knobs reset after each test."""
    app = server.app
    assert isinstance(app, SalesforceApp)
    yield app
    app.daily_api_limit = 5_000_000
    app.access_token_ttl_calls = None
    app.clear_failures()
    server.reset_counters()


@pytest.fixture
def http(ca: SandboxCA) -> requests.Session:
    session = requests.Session()
    mount_ca_bundle(session, str(ca.ca_path))
    return session


def _token(http: requests.Session, app: SalesforceApp) -> dict[str, Any]:
    creds = app.seed.credentials
    response = http.post(
        f"{app.base_url}/services/oauth2/token",
        data={
            "grant_type": "refresh_token",
            "client_id": creds.salesforce_client_id,
            "client_secret": creds.salesforce_client_secret,
            "refresh_token": creds.salesforce_refresh_token,
        },
    )
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture
def sf(http: requests.Session, app: SalesforceApp) -> Salesforce:
    token = _token(http, app)
    return Salesforce(
        instance_url=token["instance_url"], session_id=token["access_token"], session=http, version=API
    )


def _new_user(profile_id: str, username: str, **extra: Any) -> dict[str, Any]:
    return {
        "attributes": {"type": "User"},
        "Username": username,
        "Email": username,
        "LastName": "Newhire",
        "FirstName": "Nora",
        "Alias": "nnewh",
        "ProfileId": profile_id,
        "TimeZoneSidKey": "America/Los_Angeles",
        "LocaleSidKey": "en_US",
        "EmailEncodingKey": "UTF-8",
        "LanguageLocaleKey": "en_US",
        "FederationIdentifier": username,
        **extra,
    }


def _profile(sf: Salesforce, name: str = "Standard User") -> str:
    return sf.query(f"SELECT Id FROM Profile WHERE Name = '{name}'")["records"][0]["Id"]


def test_query_all_pages_with_batch_size(sf: Salesforce, app: SalesforceApp, server: SandboxServer) -> None:
    total = len(app.users())
    result = sf.query_all(
        "SELECT Id, Username, Profile.Name, UserRole.Name FROM User ORDER BY Username",
        headers={"Sforce-Query-Options": "batchSize=200"},
    )
    assert result["totalSize"] == total == len(result["records"]) > 400
    assert server.counters["data.query_more"] >= 2  # three or more pages
    first = result["records"][0]
    assert first["attributes"]["type"] == "User"
    assert set(first) == {"attributes", "Id", "Username", "Profile", "UserRole"}
    assert first["Profile"]["attributes"]["type"] == "Profile"
    usernames = [r["Username"] for r in result["records"]]
    assert usernames == sorted(usernames, key=str.casefold)
    assert len(set(usernames)) == total


def test_first_page_shape_and_cursor_rules(sf: Salesforce) -> None:
    page = sf.query("SELECT Id FROM User", headers={"Sforce-Query-Options": "batchSize=250"})
    assert not page["done"]
    assert len(page["records"]) == 250
    locator = page["nextRecordsUrl"]
    assert locator.startswith(f"/services/data/v{API}/query/01g")
    assert locator.endswith("-250")
    second = sf.query_more(locator, identifier_is_url=True)
    assert len(second["records"]) == min(250, page["totalSize"] - 250)
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.query_more("01gdoesnotexist-2000")
    assert caught.value.content[0]["errorCode"] == "INVALID_QUERY_LOCATOR"


def test_limit_info_header_and_limits(sf: Salesforce, app: SalesforceApp, http: requests.Session) -> None:
    sf.query("SELECT COUNT() FROM User")
    assert sf.api_usage["api-usage"].used == app.api_usage
    assert sf.api_usage["api-usage"].total == app.daily_api_limit
    limits = sf.restful("limits")
    assert limits["DailyApiRequests"]["Max"] == app.daily_api_limit
    versions = http.get(f"{app.base_url}/services/data/").json()
    assert versions[-1] == {"label": "Summer '25", "url": "/services/data/v64.0", "version": "64.0"}


def test_daily_limit_exceeded(sf: Salesforce, app: SalesforceApp) -> None:
    app.daily_api_limit = app.api_usage
    with pytest.raises(Exception) as caught:
        sf.query("SELECT Id FROM User LIMIT 1")
    assert caught.value.status == 403
    assert caught.value.content[0]["errorCode"] == "REQUEST_LIMIT_EXCEEDED"


def test_expired_session_is_401(sf: Salesforce, app: SalesforceApp) -> None:
    sf.query("SELECT Id FROM User LIMIT 1")
    app.expire_access_tokens()
    with pytest.raises(SalesforceExpiredSession) as caught:
        sf.query("SELECT Id FROM User LIMIT 1")
    assert caught.value.content == [
        {"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}
    ]


def test_access_token_ttl_in_calls(sf: Salesforce, app: SalesforceApp) -> None:
    app.access_token_ttl_calls = 2
    sf.query("SELECT Id FROM User LIMIT 1")
    sf.query("SELECT Id FROM User LIMIT 1")
    with pytest.raises(SalesforceExpiredSession):
        sf.query("SELECT Id FROM User LIMIT 1")


def test_composite_create_with_mixed_failures(sf: Salesforce, app: SalesforceApp) -> None:
    profile = _profile(sf)
    existing = app.users()[5]["Username"]
    app.fail_record(
        "scripted.failure@acme.example.com", "UNABLE_TO_LOCK_ROW", "unable to obtain exclusive access", []
    )
    records = [
        _new_user(profile, "ok.one@acme.example.com"),
        _new_user(profile, existing.upper()),
        _new_user(profile, "no.name@acme.example.com", LastName=None),
        _new_user(profile, "long.alias@acme.example.com", Alias="waytoolong"),
        _new_user(profile, "tz@acme.example.com", TimeZoneSidKey="Mars/Olympus"),
        _new_user(profile, "not-an-email"),
        _new_user(profile, "scripted.failure@acme.example.com"),
        _new_user(profile, "bad.profile@acme.example.com", ProfileId="005000000000001"),
        _new_user(profile, "ok.two@acme.example.com", CommunityNickname="ok.two"),
    ]
    writes_before = app.write_requests
    results = sf.restful("composite/sobjects", method="POST", json={"records": records})
    assert app.write_requests == writes_before + 1
    codes = [r["errors"][0]["statusCode"] if r["errors"] else "OK" for r in results]
    assert codes == [
        "OK",
        "DUPLICATE_USERNAME",
        "REQUIRED_FIELD_MISSING",
        "STRING_TOO_LONG",
        "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
        "INVALID_EMAIL_ADDRESS",
        "UNABLE_TO_LOCK_ROW",
        "MALFORMED_ID",
        "OK",
    ]
    assert results[0]["success"]
    assert results[0]["id"].startswith("005")
    assert len(results[0]["id"]) == 18
    assert results[1] == {"success": False, "errors": [results[1]["errors"][0]]}
    assert results[2]["errors"][0] == {
        "statusCode": "REQUIRED_FIELD_MISSING",
        "message": "Required fields are missing: [LastName]",
        "fields": ["LastName"],
    }
    assert results[3]["errors"][0]["message"] == "Alias: data value too large: waytoolong (max length=8)"
    assert (
        results[4]["errors"][0]["message"]
        == "Time Zone: bad value for restricted picklist field: Mars/Olympus"
    )
    created = app.user("ok.one@acme.example.com")
    assert created is not None
    assert created["IsActive"]
    assert created["Name"] == "Nora Newhire"
    assert app.user("no.name@acme.example.com") is None
    # The nickname is unique: a second user asking for it fails.
    again = sf.restful(
        "composite/sobjects",
        method="POST",
        json={"records": [_new_user(profile, "ok.three@acme.example.com", CommunityNickname="OK.TWO")]},
    )
    assert again[0]["errors"][0]["statusCode"] == "DUPLICATE_COMM_NICKNAME"


def test_composite_all_or_none_rolls_back(sf: Salesforce, app: SalesforceApp) -> None:
    profile = _profile(sf)
    users_before = len(app.users())
    records = [
        _new_user(profile, "first@acme.example.com"),
        _new_user(profile, "second@acme.example.com", Email="x"),
    ]
    results = sf.restful("composite/sobjects", method="POST", json={"allOrNone": True, "records": records})
    assert results[0] == {
        "success": False,
        "errors": [
            {
                "statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
                "message": "Record rolled back because not all records were valid and the request was using "
                "AllOrNone header",
                "fields": [],
            }
        ],
    }
    assert results[1]["errors"][0]["statusCode"] == "INVALID_EMAIL_ADDRESS"
    assert len(app.users()) == users_before
    assert app.user("first@acme.example.com") is None


def test_composite_update_deactivate_and_blockers(sf: Salesforce, app: SalesforceApp) -> None:
    active = [u for u in app.users() if u["IsActive"] and u["FederationIdentifier"]][-2:]
    workflow = app.user("automation@acme.example.com")
    assert workflow is not None
    results = sf.restful(
        "composite/sobjects",
        method="PATCH",
        json={
            "records": [
                {"attributes": {"type": "User"}, "Id": active[0]["Id"], "IsActive": False},
                {"attributes": {"type": "User"}, "Id": active[1]["Id"], "Title": "x" * 81},
                {"attributes": {"type": "User"}, "Id": workflow["Id"], "IsActive": False},
                {"attributes": {"type": "User"}, "IsActive": False},
                {"attributes": {"type": "User"}, "Id": active[1]["Id"], "Name": "Read Only"},
            ]
        },
    )
    assert results[0] == {"id": active[0]["Id"], "success": True, "errors": []}
    assert results[1]["id"] == active[1]["Id"]
    assert results[1]["errors"][0]["statusCode"] == "STRING_TOO_LONG"
    assert results[2]["errors"][0]["statusCode"] == "FIELD_INTEGRITY_EXCEPTION"
    assert results[3]["errors"][0] == {
        "statusCode": "MISSING_ARGUMENT",
        "message": "Id not specified in an update call",
        "fields": ["Id"],
    }
    assert results[4]["errors"][0]["statusCode"] == "INVALID_FIELD_FOR_INSERT_UPDATE"
    assert app.user(active[0]["Username"])["IsActive"] is False


def test_collection_over_200_records(sf: Salesforce) -> None:
    records = [{"attributes": {"type": "User"}, "LastName": str(i)} for i in range(201)]
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.restful("composite/sobjects", method="POST", json={"records": records})
    assert caught.value.content == [
        {
            "message": "record limit reached. cannot submit more than 200 records into this call",
            "errorCode": "EXCEEDED_ID_LIMIT",
        }
    ]


def test_user_type_is_derived_from_the_profile_license(sf: Salesforce) -> None:
    """Salesforce derives User.UserType from the profile's license: Chatter Free users are CsnOnly."""
    profiles = {
        r["Name"]: (r["Id"], r["UserType"], r["UserLicense"]["Name"])
        for r in sf.query_all("SELECT Id, Name, UserType, UserLicense.Name FROM Profile")["records"]
    }
    assert profiles["Chatter Free User"][1:] == ("CsnOnly", "Chatter Free")
    assert profiles["Standard User"][1:] == ("Standard", "Salesforce")
    chatter, standard = profiles["Chatter Free User"][0], profiles["Standard User"][0]
    body = {k: v for k, v in _new_user(chatter, "csn@acme.example.com").items() if k != "attributes"}
    user_id = sf.User.create(body)["id"]
    read = sf.query(f"SELECT UserType, Profile.UserType FROM User WHERE Id = '{user_id}'")["records"][0]
    assert (read["UserType"], read["Profile"]["UserType"]) == ("CsnOnly", "CsnOnly")

    with pytest.raises(SalesforceMalformedRequest) as caught:  # read-only, as in Salesforce
        sf.User.update(user_id, {"UserType": "Standard"})
    assert caught.value.content[0]["errorCode"] == "INVALID_FIELD_FOR_INSERT_UPDATE"
    sf.User.update(user_id, {"ProfileId": standard})  # Chatter Free can be upgraded...
    assert sf.User.get(user_id)["UserType"] == "Standard"
    with pytest.raises(SalesforceMalformedRequest) as caught:  # ...but never downgraded
        sf.User.update(user_id, {"ProfileId": chatter})
    assert caught.value.content[0]["errorCode"] == "FIELD_INTEGRITY_EXCEPTION"
    assert sf.User.get(user_id)["UserType"] == "Standard"


def test_license_limit(sf: Salesforce, app: SalesforceApp) -> None:
    chatter = _profile(sf, "Chatter Free User")
    license_row = sf.query(
        "SELECT Id, TotalLicenses, UsedLicenses FROM UserLicense WHERE Name = 'Chatter Free'"
    )["records"][0]
    free = license_row["TotalLicenses"] - license_row["UsedLicenses"]
    records = [_new_user(chatter, f"chatter{i}@acme.example.com", Alias=f"c{i}") for i in range(free + 1)]
    results = sf.restful("composite/sobjects", method="POST", json={"records": records[:200]})
    assert all(r["success"] for r in results[:free])
    assert results[free]["errors"][0] == {
        "statusCode": "LICENSE_LIMIT_EXCEEDED",
        "message": "License Limit Exceeded",
        "fields": [],
    }


def test_sobject_rows_user_and_userlogin(sf: Salesforce, app: SalesforceApp) -> None:
    profile = _profile(sf)
    created = sf.User.create(
        {k: v for k, v in _new_user(profile, "row@acme.example.com").items() if k != "attributes"}
    )
    assert created["success"]
    assert created["errors"] == []
    user_id = created["id"]
    record = sf.User.get(user_id)
    assert record["Username"] == "row@acme.example.com"
    assert record["attributes"]["type"] == "User"
    assert sf.User.update(user_id, {"Department": "Finance"}) == 204
    login = sf.query(f"SELECT Id, IsFrozen FROM UserLogin WHERE UserId = '{user_id}'")["records"][0]
    assert login["IsFrozen"] is False
    assert sf.UserLogin.update(login["Id"], {"IsFrozen": True}) == 204
    assert app.user("row@acme.example.com")["IsFrozen"] is True
    with pytest.raises(Exception) as caught:
        sf.User.delete(user_id)
    assert caught.value.status == 405
    assert caught.value.content[0] == {
        "message": "HTTP Method 'DELETE' not allowed. Allowed are GET,HEAD,PATCH",
        "errorCode": "METHOD_NOT_ALLOWED",
    }
    with pytest.raises(SalesforceMalformedRequest) as bad:
        sf.User.create({"LastName": "X", "Foo__c": 1})
    assert bad.value.content[0]["errorCode"] == "INVALID_FIELD"
    ps = sf.query("SELECT Id FROM PermissionSet WHERE Name = 'Knowledge_User'")["records"][0]["Id"]
    assigned = sf.PermissionSetAssignment.create({"AssigneeId": user_id, "PermissionSetId": ps})
    assert assigned["id"].startswith("0Pa")
    names = sf.query(
        "SELECT PermissionSet.Name, Assignee.Username FROM PermissionSetAssignment "
        f"WHERE AssigneeId = '{user_id}'"
    )["records"]
    assert names[0]["PermissionSet"]["Name"] == "Knowledge_User"
    assert names[0]["Assignee"]["Username"] == "row@acme.example.com"


def test_uri_too_long(sf: Salesforce, http: requests.Session, app: SalesforceApp) -> None:
    soql_text = (
        "SELECT Id FROM User WHERE Username IN (" + ",".join(["'someone@acme.example.com'"] * 700) + ")"
    )
    response = http.get(
        f"{app.base_url}/services/data/v{API}/query",
        params={"q": soql_text},
        headers={"Authorization": f"Bearer {sf.session_id}"},
    )
    assert response.status_code == 414


def test_a_body_that_is_not_utf8_is_a_json_parser_error(
    sf: Salesforce, http: requests.Session, app: SalesforceApp
) -> None:
    response = http.post(
        f"{app.base_url}/services/data/v{API}/composite/sobjects",
        data=b'{"records": ["\xff"]}',
        headers={"Authorization": f"Bearer {sf.session_id}", "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json()[0]["errorCode"] == "JSON_PARSER_ERROR"


def test_seeded_org_looks_real(app: SalesforceApp) -> None:
    users = {u["Username"]: u for u in app.users()}
    admin = users["admin@acme.example.com"]
    integration = users["integration@acme.example.com"]
    assert admin["FederationIdentifier"] is None
    assert integration["FederationIdentifier"] is None
    managed = [u for u in users.values() if u["FederationIdentifier"]]
    assert any(not u["IsActive"] for u in managed)
    assert any(u["IsFrozen"] for u in managed)
    seeded = {
        k: u for k, u in users.items() if u["CreatedById"] != integration["Id"]
    }  # not made by other tests
    users = seeded
    assert all(len(u["Alias"]) <= 8 for u in users.values())
    assert len({u["Alias"] for u in users.values()}) == len(users)
    assert len({u["CommunityNickname"].lower() for u in users.values()}) == len(users)
    assert all(len(u["Id"]) == 18 and u["Id"].startswith("005") for u in users.values())


def test_userlogin_by_userid_is_answered_from_an_index(sf: Salesforce, app: SalesforceApp) -> None:
    """``UserLogin WHERE UserId IN (...)`` looks the ids up, as the real org's index does, not a scan."""
    from okta_salesforce_testbed.sandbox import soql
    from okta_salesforce_testbed.sandbox.salesforce_schema import SCHEMA

    users = [r["Id"] for r in sf.query("SELECT Id FROM User LIMIT 50")["records"]]
    rows = sf.query_all(
        "SELECT Id, UserId, IsFrozen FROM UserLogin WHERE UserId IN ("
        + ",".join(f"'{u[:15]}'" for u in users)  # 15-character ids are the same ids
        + ")"
    )["records"]
    assert sorted(r["UserId"] for r in rows) == sorted(users)
    where = soql.parse(f"SELECT Id FROM UserLogin WHERE UserId IN ('{users[0]}', '{users[1]}')").where
    candidates = app.org._candidates(SCHEMA["userlogin"], where)
    assert candidates == {app.org.login_by_user[users[0]], app.org.login_by_user[users[1]]}


def test_the_uri_limit_counts_the_request_as_sent(
    sf: Salesforce, http: requests.Session, app: SalesforceApp
) -> None:
    """Salesforce measures the URI the client sent (``+`` for a space), not a re-encoding of it."""
    from urllib.parse import quote_plus

    head = "SELECT Id FROM User WHERE Username IN ("
    name = "'a b c d e f g h i j k l m n o p@acme.example.com'"  # 15 spaces: '+' on the wire
    url = f"{app.base_url}/services/data/v{API}/query"
    prefix = f"/services/data/v{API}/query?q="
    headers = {"Authorization": f"Bearer {sf.session_id}"}
    fits = head + ",".join([name] * 255) + ")"
    sent = len(prefix) + len(quote_plus(fits))
    assert sent < 15_500  # under the limit as sent
    assert sent + 2 * fits.count(" ") > 16_384  # over it with each space re-encoded as %20
    ok = http.get(url, params={"q": fits}, headers=headers)
    assert ok.status_code == 200, ok.text[:200]
    over = head + ",".join([name] * 280) + ")"
    assert len(prefix) + len(quote_plus(over)) > 16_384
    assert http.get(url, params={"q": over}, headers=headers).status_code == 414
