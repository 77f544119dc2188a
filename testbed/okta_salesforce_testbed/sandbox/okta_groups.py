"""The Okta sandbox's groups beyond the app's assignment group: one per department, as in many orgs.

Served as Okta documents them: ``GET /api/v1/groups`` (``q`` name prefix, not paged, at most 300;
``search`` with ``profile.name eq "..."`` clauses joined by ``or``, exact; ``limit``/``after``),
``GET /api/v1/groups/{groupId}/users`` (members, paged) and ``GET /api/v1/users/{id}/groups``
(every group of a user, unpaged). The app's assignment group (``Salesforce Users``) is listed too.
"""

from __future__ import annotations

import bisect
import random
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from okta_salesforce_testbed.sandbox.okta_directory import GROUP_NAME
from okta_salesforce_testbed.sandbox.okta_logs import format_time
from okta_salesforce_testbed.sandbox.seed import DEPARTMENTS, Seed, okta_id

if TYPE_CHECKING:
    from okta_salesforce_testbed.sandbox.okta_directory import Directory

_CREATED = datetime(2020, 1, 6, 8, 0, tzinfo=UTC)
_NAME_CLAUSE = re.compile(r'^\s*profile\.name\s+eq\s+"((?:[^"\\]|\\.)*)"\s*$', re.IGNORECASE)


class SearchError(ValueError):
    """A ``search`` expression the sandbox (and Okta) does not accept."""


@dataclass
class Group:
    """An Okta group (``OKTA_GROUP``); ``members`` are user ids, sorted."""

    id: str
    name: str
    description: str
    members: list[str] = field(default_factory=list)
    last_membership_updated: datetime = _CREATED

    def json(self, base_url: str) -> dict[str, Any]:
        href = f"{base_url}/api/v1/groups/{self.id}"
        return {
            "id": self.id,
            "created": format_time(_CREATED),
            "lastUpdated": format_time(_CREATED),
            "lastMembershipUpdated": format_time(self.last_membership_updated),
            "objectClass": ["okta:user_group"],
            "type": "OKTA_GROUP",
            "profile": {"name": self.name, "description": self.description},
            "_links": {
                "logo": [],
                "users": {"href": f"{href}/users"},
                "apps": {"href": f"{href}/apps"},
            },
        }


class Groups:
    """Every group of the sandbox org by id; the assignment group shares the directory's member list."""

    def __init__(self, directory: Directory) -> None:
        self.directory = directory
        self.by_id: dict[str, Group] = {}
        assignment = Group(directory.group_id, GROUP_NAME, "Users of the Salesforce app")
        assignment.members = directory.group_members  # the same list: assignments keep it current
        self.by_id[assignment.id] = assignment

    @classmethod
    def from_seed(cls, seed: Seed, directory: Directory) -> Groups:
        """One group per department holding every Okta user of that department."""
        groups = cls(directory)
        rnd = random.Random(seed.seed + 17)
        for department in DEPARTMENTS:
            group = Group(okta_id("00g", rnd), department, f"Everyone in {department}")
            group.members = sorted(p.okta_id for p in seed.people if p.department == department)
            groups.by_id[group.id] = group
        return groups

    def sorted_ids(self) -> list[str]:
        return sorted(self.by_id)

    def by_name(self, name: str) -> Group | None:
        return next((g for g in self.by_id.values() if g.name.casefold() == name.casefold()), None)

    def matching(self, q: str | None, search: str | None) -> list[str]:
        """Ids of the groups whose name starts with ``q`` and that ``search`` selects, sorted.

        :raises SearchError: for a ``search`` other than ``profile.name eq "..."`` clauses.
        """
        names: set[str] | None = None
        if search:
            names = set()
            for clause in re.split(r"\s+or\s+", search.strip(), flags=re.IGNORECASE):
                found = _NAME_CLAUSE.match(clause)
                if not found:
                    raise SearchError(f"Invalid search criteria: {search}")
                names.add(re.sub(r"\\(.)", r"\1", found.group(1)))
        out = []
        for group_id in self.sorted_ids():
            group = self.by_id[group_id]
            if q and not group.name.casefold().startswith(q.casefold()):
                continue
            if names is not None and group.name not in names:
                continue
            out.append(group_id)
        return out

    def of_user(self, user_id: str) -> list[Group]:
        return [g for g in self.by_id.values() if _contains(g.members, user_id)]

    def set_member(self, group_name: str, user_id: str, member: bool) -> bool:
        """Add or remove ``user_id``; returns True when the membership changed."""
        group = self.by_name(group_name)
        if group is None:
            raise LookupError(f"Resource not found: {group_name} (UserGroup)")
        if member == _contains(group.members, user_id):
            return False
        if member:
            bisect.insort(group.members, user_id)
        else:
            group.members.remove(user_id)
        group.last_membership_updated = datetime.now(UTC)
        return True


def _contains(ids: list[str], item: str) -> bool:
    index = bisect.bisect_left(ids, item)
    return index < len(ids) and ids[index] == item


GROUPS_DEFAULT_LIMIT = 10_000
GROUPS_MAX_LIMIT = 10_000
QUERY_LIMIT = 300


def list_groups(app: Any, request: Any) -> Any:
    """``GET /api/v1/groups``: the groups ``q`` and ``search`` select, paged by ``after``."""
    from okta_salesforce_testbed.sandbox.server import Response

    limit = app._limit(request, GROUPS_DEFAULT_LIMIT, GROUPS_MAX_LIMIT)
    if isinstance(limit, Response):
        return limit
    with app.lock:
        try:
            ids = app.groups.matching(request.arg("q"), request.arg("search"))
        except SearchError as exc:
            return app.error(400, "E0000031", str(exc))
        if request.arg("q"):  # Okta: a query is not paged and returns at most 300 groups
            page, next_after = ids[: min(limit, QUERY_LIMIT)], None
        else:
            page, next_after = app._page(ids, request.arg("after"), limit, None)
        body = [app.groups.by_id[i].json(app._base(request)) for i in page]
    return Response(
        200, body, headers={"Link": app._links(request, next_after)}, content_type="application/json"
    )


def list_user_groups(app: Any, request: Any) -> Any:
    """``GET /api/v1/users/{id}/groups``: every group of the user (by id or login), unpaged."""
    from okta_salesforce_testbed.sandbox.server import Response

    key = request.params["id"]
    with app.lock:
        user = app.directory.find_user(key)
        if user is None:
            return app.error(404, "E0000007", f"Not found: Resource not found: {key} (User)")
        body = [g.json(app._base(request)) for g in app.groups.of_user(user.id)]
    return Response(200, body, content_type="application/json")
