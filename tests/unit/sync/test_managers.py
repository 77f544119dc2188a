"""Managers: ManagerId resolved from the Okta manager, with creates in the same run linked later."""

from __future__ import annotations

from typing import Any

import yaml
from sync_helpers import CONFIG_PATH

from okta_salesforce.sync.config import SyncConfig, parse_config
from okta_salesforce.sync.managers import manager_probes, plan_managers
from okta_salesforce.sync.models import Action, ActionKind, OktaAssignment, SalesforceUser


def _config(**manager: Any) -> SyncConfig:
    data = yaml.safe_load(CONFIG_PATH.read_text())
    data["mapping"]["ManagerId"] = {"source": "attribute", "attribute": "managerId", **manager}
    return parse_config(data)


def _assignment(login: str, manager: str | None = None) -> OktaAssignment:
    profile = {"login": login, "email": login}
    if manager:
        profile["managerId"] = manager
    return OktaAssignment(
        okta_user_id=f"00u{login[:3]}",
        login=login,
        app_username=login,
        assignment_status="ACTIVE",
        scope="USER",
        user_status="ACTIVE",
        profile=profile,
    )


def _user(user_id: str, login: str, manager: str | None = None) -> SalesforceUser:
    fields = {"FederationIdentifier": login, "ManagerId": manager}
    return SalesforceUser(id=user_id, username=login, is_active=True, fields=fields)


def _skip(login: str, user_id: str) -> Action:
    return Action(kind=ActionKind.SKIP, login=login, salesforce_id=user_id, username=login, reason="in sync")


def test_an_in_sync_user_whose_manager_changed_gets_an_update() -> None:
    users = [
        _user("005A", "ann@x.com", manager="005C"),
        _user("005B", "bob@x.com"),
        _user("005C", "cy@x.com"),
    ]
    actions = plan_managers(
        [_skip("ann@x.com", "005A")], [_assignment("ann@x.com", "bob@x.com")], users, _config()
    )
    [update] = actions
    assert update.kind is ActionKind.UPDATE
    assert update.fields == {"ManagerId": "005B"}
    assert update.changes == {"ManagerId": {"old": "cy@x.com", "new": "bob@x.com"}}


def test_the_same_manager_by_15_character_id_is_no_change() -> None:
    users = [
        _user("005A00000000001AAA", "ann@x.com", manager="005B00000000001"),
        _user("005B00000000001AAA", "bob@x.com"),
    ]
    skip = _skip("ann@x.com", "005A00000000001AAA")
    assert plan_managers([skip], [_assignment("ann@x.com", "bob@x.com")], users, _config()) == [skip]


def test_on_create_managers_only_go_with_creates() -> None:
    users = [_user("005A", "ann@x.com"), _user("005B", "bob@x.com")]
    skip = _skip("ann@x.com", "005A")
    config = _config(apply="on_create")
    assert plan_managers([skip], [_assignment("ann@x.com", "bob@x.com")], users, config) == [skip]
    create = Action(kind=ActionKind.CREATE, login="dee@x.com", fields={"LastName": "Dee"})
    [create] = plan_managers([create], [_assignment("dee@x.com", "bob@x.com")], users, config)
    assert create.fields["ManagerId"] == "005B"


def test_a_user_cannot_be_its_own_manager() -> None:
    users = [_user("005A", "ann@x.com")]
    actions = plan_managers(
        [_skip("ann@x.com", "005A")], [_assignment("ann@x.com", "ann@x.com")], users, _config()
    )
    assert [a.kind for a in actions] == [ActionKind.SKIP, ActionKind.ERROR]
    assert actions[1].errors[0].field == "ManagerId"


def test_incremental_reads_include_the_managers() -> None:
    probes = manager_probes([_assignment("ann@x.com", "bob@x.com"), _assignment("cy@x.com")], _config())
    assert probes == [{"login": "bob@x.com", "email": "bob@x.com"}]
