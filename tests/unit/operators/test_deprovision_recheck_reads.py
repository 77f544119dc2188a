"""The deprovisioning re-check reads Okta per user, or lists the app once when that costs fewer requests."""

from __future__ import annotations

from okta_salesforce.operators.recheck_okta import current_assignments

from .okta_fakes import APP, FakeOkta, assignment, company, leavers


def test_many_deprovisions_list_the_app_once_and_find_who_came_back():
    actions, users = leavers(300)
    back = [
        assignment("00uleaver3", "leaver3@acme.test"),  # re-assigned, same Okta user
        assignment("00urecreated", "LEAVER7@acme.test"),  # re-created in Okta under the same login
    ]
    okta = FakeOkta(company(10_000, back=back))
    found = current_assignments(okta, APP, actions, users, assigned_estimate=10_000)
    assert okta.listed == 1
    assert okta.user_reads == 0
    assert {a.okta_user_id for a in found} == {"00uleaver3", "00urecreated"}


def test_few_deprovisions_read_each_user():
    actions, users = leavers(3)
    okta = FakeOkta(company(10_000, back=[assignment("00uleaver1", "leaver1@acme.test")]))
    found = current_assignments(okta, APP, actions, users, assigned_estimate=10_000)
    assert okta.listed == 0
    assert okta.user_reads == 3 + 2 * 3
    assert [a.okta_user_id for a in found if a.assigned] == ["00uleaver1"]


def test_without_an_estimate_each_user_is_read():
    actions, users = leavers(300)
    okta = FakeOkta(company(100, back=[]))
    current_assignments(okta, APP, actions, users)
    assert okta.listed == 0
