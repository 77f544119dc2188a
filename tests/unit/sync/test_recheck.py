"""Re-check at write time: a planned deprovisioning is written only if the current state calls for it."""

from __future__ import annotations

from dataclasses import replace

from sync_helpers import make_assignment

from okta_salesforce.sync.models import Action, ActionKind, SalesforceUser
from okta_salesforce.sync.recheck import REASSIGNED, recheck_deprovisions


def _sf(uid: str, login: str, *, active: bool = True, frozen: bool = False, **fields) -> SalesforceUser:
    base = {
        "FederationIdentifier": login,
        "Email": login,
        "Profile.Name": "Standard User",
        "UserType": "Standard",
    }
    base.update(fields)
    return SalesforceUser(id=uid, username=login, is_active=active, fields=base, is_frozen=frozen)


def _deactivate(uid: str, login: str, kind: ActionKind = ActionKind.DEACTIVATE) -> Action:
    return Action(kind=kind, login=login, salesforce_id=uid, username=login)


def test_only_users_the_current_state_still_calls_for_are_written(config):
    people = {
        "still": "still.gone@acme.example.com",
        "back": "came.back@acme.example.com",
        "inactive": "already.off@acme.example.com",
        "deleted": "deleted.in.sf@acme.example.com",
        "admin": "now.admin@acme.example.com",
        "suspended": "suspended@acme.example.com",
    }
    actions = [_deactivate(f"005{key}", login) for key, login in people.items()]
    current = {
        "005still": _sf("005still", people["still"]),
        "005back": _sf("005back", people["back"]),
        "005inactive": _sf("005inactive", people["inactive"], active=False),
        "005admin": _sf("005admin", people["admin"], **{"Profile.Name": "System Administrator"}),
        "005suspended": _sf("005suspended", people["suspended"]),
    }
    okta = [
        make_assignment(people["back"]),  # re-assigned since the plan
        replace(make_assignment(people["suspended"]), user_status="SUSPENDED"),  # assigned but out of scope
        replace(make_assignment(people["still"]), assigned=False),
    ]

    checked = recheck_deprovisions(actions, current, okta, config)

    assert [a.login for a in checked.write] == [people["still"], people["suspended"]]
    why = {a.login: reason for a, reason in checked.dropped}
    assert why[people["back"]].startswith(REASSIGNED)
    assert why[people["back"]].endswith("not deactivated")
    assert why[people["inactive"]] == "already inactive in Salesforce"
    assert "no longer exists" in why[people["deleted"]]
    assert "no longer managed" in why[people["admin"]]


def test_matching_follows_the_configured_rules(config):
    # The Salesforce user has another FederationIdentifier; the Okta user matches it by Username.
    sf_user = _sf("005x", "x@acme.example.com", FederationIdentifier="someone.else@acme.example.com")
    okta = replace(make_assignment("other.login@acme.example.com"), app_username="x@acme.example.com")
    checked = recheck_deprovisions(
        [_deactivate("005x", "x@acme.example.com")], {"005x": sf_user}, [okta], config
    )
    assert checked.write == []
    assert checked.dropped[0][1].startswith(REASSIGNED)


def test_an_already_frozen_user_is_not_frozen_again(config):
    action = _deactivate("005f", "f@acme.example.com", ActionKind.FREEZE)
    checked = recheck_deprovisions(
        [action], {"005f": _sf("005f", "f@acme.example.com", frozen=True)}, [], config
    )
    assert checked.dropped == [(action, "already frozen in Salesforce")]
