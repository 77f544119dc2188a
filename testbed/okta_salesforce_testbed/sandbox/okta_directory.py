"""The Okta sandbox's directory: users, the Salesforce app's assignments and its group.

Plain state plus Okta's JSON shapes (User, AppUser, Application). App users are
kept in a sorted id list so that a page is a bisect on the ``after`` cursor
(Okta's cursor is the last app user id), ``O(page)`` at 100k users.
"""

from __future__ import annotations

import bisect
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from okta_salesforce_testbed.sandbox.okta_logs import format_time
from okta_salesforce_testbed.sandbox.seed import DEFAULT_PROFILE, DEPARTMENT_PROFILES, Person, Seed, okta_id

__all__ = ["AppUser", "Directory", "User"]

APP_NAME = "salesforce"
APP_LABEL = "Salesforce.com"
GROUP_NAME = "Salesforce Users"
USER_TYPE_ID = "oty1salesforcesbx01"
SCHEMA_ID = "osc1salesforcesbx01"
_EPOCH = datetime(2023, 1, 9, 15, 36, 4, tzinfo=UTC)


@dataclass(slots=True)
class User:
    """An Okta user."""

    id: str
    status: str
    created: datetime
    activated: datetime | None
    status_changed: datetime | None
    last_updated: datetime
    password_changed: datetime | None
    profile: dict[str, Any]

    @property
    def login(self) -> str:
        return str(self.profile["login"])


@dataclass(slots=True)
class AppUser:
    """A user's assignment to the Salesforce app (``id`` is the Okta user id, as in the API)."""

    id: str
    internal_id: str  # the 0ua… id the System Log uses for its AppUser target
    scope: str
    status: str
    created: datetime
    last_updated: datetime
    status_changed: datetime
    user_name: str
    profile: dict[str, Any]
    external_id: str | None = None
    last_sync: datetime | None = None


@dataclass
class Directory:
    """Users, app users and group members of the sandbox org (callers hold the app lock)."""

    app_id: str
    group_id: str
    provisioning: bool = False
    users: dict[str, User] = field(default_factory=dict)
    logins: dict[str, str] = field(default_factory=dict)
    app_users: dict[str, AppUser] = field(default_factory=dict)
    app_user_ids: list[str] = field(default_factory=list)
    group_members: list[str] = field(default_factory=list)
    rnd: random.Random = field(default_factory=lambda: random.Random(0))

    @classmethod
    def from_seed(cls, seed: Seed, *, provisioning: bool = False) -> Directory:
        """Every person becomes an ACTIVE Okta user; assigned people become app users."""
        directory = cls(seed.okta_app_id, seed.okta_group_id, provisioning, rnd=random.Random(seed.seed + 1))
        members: list[str] = []
        app_ids: list[str] = []
        for person in seed.people:
            user = directory._seed_user(person)
            directory.users[user.id] = user
            directory.logins[user.login.lower()] = user.id
            if person.assigned:
                assigned_at = user.created + timedelta(days=30, minutes=person.index % 997)
                app_user = directory.new_app_user(
                    user, scope="GROUP" if person.via_group else "USER", at=assigned_at
                )
                directory.app_users[user.id] = app_user
                app_ids.append(user.id)
                if person.via_group:
                    members.append(user.id)
        directory.app_user_ids = sorted(app_ids)
        directory.group_members = sorted(members)
        return directory

    def _seed_user(self, person: Person) -> User:
        created = _EPOCH + timedelta(minutes=37 * person.index)
        activated = created + timedelta(seconds=1)
        return User(
            id=person.okta_id,
            status="ACTIVE",
            created=created,
            activated=activated,
            status_changed=activated,
            last_updated=activated,
            password_changed=activated,
            profile={
                "login": person.login,
                "email": person.email,
                "firstName": person.first_name,
                "lastName": person.last_name,
                "displayName": person.display_name,
                "secondEmail": None,
                "mobilePhone": None,
                "department": person.department,
                "title": person.title,
                "employeeNumber": person.employee_number,
                "userType": "Employee",
                "organization": "Acme Corp",
                "locale": person.locale,
                "preferredLanguage": person.locale.split("_")[0],
                "timezone": person.time_zone,
            },
        )

    # Lookups -------------------------------------------------------------------------------
    def find_user(self, key: str) -> User | None:
        """A user by Okta id or login (case-insensitive), as ``GET /api/v1/users/{id}`` resolves it."""
        user = self.users.get(key)
        if user is None and (user_id := self.logins.get(key.lower())):
            user = self.users.get(user_id)
        return user

    def new_id(self, prefix: str) -> str:
        while True:
            candidate = okta_id(prefix, self.rnd)
            if candidate not in self.users:
                return candidate

    def new_app_user(self, user: User, *, scope: str, at: datetime) -> AppUser:
        return AppUser(
            id=user.id,
            internal_id=self.new_id("0ua"),
            scope=scope,
            status="PROVISIONED" if self.provisioning else "ACTIVE",
            created=at,
            last_updated=at,
            status_changed=at,
            user_name=user.login,
            profile=app_profile(user),
            external_id=("005" + okta_id("", self.rnd)[:15]) if self.provisioning else None,
            last_sync=at if self.provisioning else None,
        )

    # Sorted id lists -----------------------------------------------------------------------
    def add_app_user(self, app_user: AppUser) -> None:
        self.app_users[app_user.id] = app_user
        _insert(self.app_user_ids, app_user.id)

    def remove_app_user(self, user_id: str) -> AppUser | None:
        app_user = self.app_users.pop(user_id, None)
        if app_user is not None:
            _remove(self.app_user_ids, user_id)
        return app_user

    def add_member(self, user_id: str) -> bool:
        return _insert(self.group_members, user_id)

    def remove_member(self, user_id: str) -> bool:
        return _remove(self.group_members, user_id)

    def is_member(self, user_id: str) -> bool:
        index = bisect.bisect_left(self.group_members, user_id)
        return index < len(self.group_members) and self.group_members[index] == user_id

    # JSON --------------------------------------------------------------------------------------
    def user_json(self, user: User, base_url: str) -> dict[str, Any]:
        href = f"{base_url}/api/v1/users/{user.id}"
        links: dict[str, Any] = {
            "self": {"href": href},
            "schema": {"href": f"{base_url}/api/v1/meta/schemas/user/{SCHEMA_ID}"},
            "type": {"href": f"{base_url}/api/v1/meta/types/user/{USER_TYPE_ID}"},
        }
        if user.status == "ACTIVE":
            links["suspend"] = {"href": f"{href}/lifecycle/suspend", "method": "POST"}
            links["deactivate"] = {"href": f"{href}/lifecycle/deactivate", "method": "POST"}
        elif user.status == "SUSPENDED":
            links["unsuspend"] = {"href": f"{href}/lifecycle/unsuspend", "method": "POST"}
        elif user.status == "DEPROVISIONED":
            links["activate"] = {"href": f"{href}/lifecycle/activate", "method": "POST"}
        return {
            "id": user.id,
            "status": user.status,
            "created": format_time(user.created),
            "activated": format_time(user.activated) if user.activated else None,
            "statusChanged": format_time(user.status_changed) if user.status_changed else None,
            "lastLogin": None,
            "lastUpdated": format_time(user.last_updated),
            "passwordChanged": format_time(user.password_changed) if user.password_changed else None,
            "type": {"id": USER_TYPE_ID},
            "profile": dict(user.profile),
            "credentials": {"password": {}, "provider": {"type": "OKTA", "name": "OKTA"}},
            "_links": links,
        }

    def app_user_json(self, app_user: AppUser, base_url: str, *, expand_user: bool) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": app_user.id,
            "created": format_time(app_user.created),
            "lastUpdated": format_time(app_user.last_updated),
            "scope": app_user.scope,
            "status": app_user.status,
            "statusChanged": format_time(app_user.status_changed),
            "passwordChanged": None,
            "syncState": "SYNCHRONIZED" if self.provisioning else "DISABLED",
            "credentials": {"userName": app_user.user_name},
            "profile": dict(app_user.profile),
            "_links": {
                "app": {"href": f"{base_url}/api/v1/apps/{self.app_id}"},
                "user": {"href": f"{base_url}/api/v1/users/{app_user.id}"},
            },
        }
        if app_user.external_id:
            body["externalId"] = app_user.external_id
        if app_user.last_sync:
            body["lastSync"] = format_time(app_user.last_sync)
        if app_user.scope == "GROUP":
            body["_links"]["group"] = {
                "href": f"{base_url}/api/v1/groups/{self.group_id}",
                "name": GROUP_NAME,
            }
        if expand_user:
            body["_embedded"] = {"user": self.user_json(self.users[app_user.id], base_url)}
        return body

    def app_json(self, base_url: str) -> dict[str, Any]:
        href = f"{base_url}/api/v1/apps/{self.app_id}"
        return {
            "id": self.app_id,
            "name": APP_NAME,
            "label": APP_LABEL,
            "status": "ACTIVE",
            "created": format_time(_EPOCH - timedelta(days=400)),
            "lastUpdated": format_time(_EPOCH - timedelta(days=10)),
            "signOnMode": "SAML_2_0",
            "accessibility": {"selfService": False, "errorRedirectUrl": None, "loginRedirectUrl": None},
            "visibility": {
                "autoLaunch": False,
                "autoSubmitToolbar": False,
                "hide": {"iOS": False, "web": False},
            },
            "features": ["PUSH_NEW_USERS", "PUSH_PROFILE_UPDATES"] if self.provisioning else [],
            "credentials": {
                "userNameTemplate": {"template": "${source.login}", "type": "BUILT_IN"},
                "signing": {},
            },
            "settings": {"app": {"instanceType": "PRODUCTION", "integrationType": "STANDARD"}},
            "_links": {
                "users": {"href": f"{href}/users"},
                "groups": {"href": f"{href}/groups"},
                "deactivate": {"href": f"{href}/lifecycle/deactivate"},
            },
        }


def app_profile(user: User) -> dict[str, Any]:
    """The Salesforce app user profile Okta's profile mapping derives from the Okta profile."""
    profile = user.profile
    department = profile.get("department")
    return {
        "email": profile.get("email"),
        "firstName": profile.get("firstName"),
        "lastName": profile.get("lastName"),
        "displayName": profile.get("displayName"),
        "secondEmail": None,
        "mobilePhone": None,
        "streetAddress": None,
        "department": department,
        "title": profile.get("title"),
        "role": None,
        "profile": DEPARTMENT_PROFILES.get(str(department), DEFAULT_PROFILE),
        "salesforceGroups": [],
    }


def _insert(ids: list[str], item: str) -> bool:
    index = bisect.bisect_left(ids, item)
    if index < len(ids) and ids[index] == item:
        return False
    ids.insert(index, item)
    return True


def _remove(ids: list[str], item: str) -> bool:
    index = bisect.bisect_left(ids, item)
    if index < len(ids) and ids[index] == item:
        del ids[index]
        return True
    return False
