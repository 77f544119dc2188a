"""Okta group membership as mapping input: the ``groups`` attribute of each assignment.

Only the groups the config names are read (``okta.groups`` and every group a ``groups`` filter
names: :func:`~okta_salesforce.sync.entitlements_config.group_names`). Two ways, by run size:

* **Full runs** (:meth:`GroupReader.memberships`): one ``GET /api/v1/groups?search=profile.name
  eq "<name>"`` per group to find its id (names exactly as in Okta), then its members page by page
  (``GET /api/v1/groups/{id}/users?limit=1000``): ``groups + ceil(members / 1000)`` requests in
  all, whatever the number of users, never one per user.
* **Incremental and on-demand runs** (:meth:`GroupReader.groups_of`): one
  ``GET /api/v1/users/{id}/groups`` per user read (those runs read few users).

Small runs also look each group up once (``groups`` requests), because a configured group Okta
does not know (renamed, deleted) fails the read with :class:`~okta_salesforce.hooks.okta.OktaError`
instead of silently granting nothing, which would remove what its rules grant from everyone read.
With private-key auth, listing groups and members needs ``okta.groups.read`` and a user's groups
``okta.users.read``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

if TYPE_CHECKING:
    from okta_salesforce.hooks.okta import OktaHook
    from okta_salesforce.sync.models import OktaAssignment

log = logging.getLogger(__name__)
MEMBERS_PAGE = 1000


def _search(name: str) -> str:
    """Okta's recommended exact lookup (``q`` is a capped prefix match meant for pickers)."""
    escaped = name.replace("\\", "\\\\").replace('"', '\\"')
    return f'profile.name eq "{escaped}"'


class GroupReader:
    """Reads the membership of the named Okta groups with one hook.

    :param hook: an open :class:`~okta_salesforce.hooks.okta.OktaHook`.
    :param names: the group names the config reads (compared case-insensitively).
    """

    def __init__(self, hook: OktaHook, names: Sequence[str]) -> None:
        self.hook = hook
        self.names = {n.casefold(): n for n in dict.fromkeys(names)}
        self.requests = 0

    def group_ids(self) -> dict[str, str]:
        """Group id → configured name, one search per name.

        :raises OktaError: when Okta has no group of a configured name (renamed or deleted): its
            rules would silently take the entitlements it grants away from everyone.
        """
        out: dict[str, str] = {}
        missing: list[str] = []
        for name in self.names.values():
            found = []
            for page in self.hook.paginate("/api/v1/groups", {"search": _search(name)}):
                self.requests += 1
                found += [g for g in page.body or [] if isinstance(g, dict) and _name(g) == name]
            if not found:
                missing.append(name)
            for group in found:
                out[str(group.get("id"))] = name
        if missing:
            from okta_salesforce.hooks.okta import OktaError

            raise OktaError(
                f"Okta has no group named {', '.join(repr(n) for n in missing)}, which the sync config reads "
                "(okta.groups or a `groups` filter): fix the name, or remove the rule"
            )
        return out

    def memberships(self) -> dict[str, tuple[str, ...]]:
        """Okta user id → the names of the configured groups they are in (full runs)."""
        members: dict[str, list[str]] = {}
        for group_id, name in self.group_ids().items():
            path = f"/api/v1/groups/{quote(group_id, safe='')}/users"
            for page in self.hook.paginate(path, {"limit": MEMBERS_PAGE}):
                self.requests += 1
                for user in page.body or []:
                    if isinstance(user, dict) and user.get("id"):
                        members.setdefault(str(user["id"]), []).append(name)
        return {user_id: tuple(sorted(set(names))) for user_id, names in members.items()}

    def groups_of(self, user_id: str) -> tuple[str, ...]:
        """The configured groups ``user_id`` is in (one request; incremental runs)."""
        self.requests += 1
        body = self.hook.get(f"/api/v1/users/{quote(user_id, safe='')}/groups").body
        names = {
            self.names[n.casefold()]
            for g in body or []
            if isinstance(g, dict) and (n := _name(g)).casefold() in self.names
        }
        return tuple(sorted(names))

    def attach(self, records: Iterable[OktaAssignment], *, bulk: bool) -> Iterator[OktaAssignment]:
        """``records`` with their ``groups`` filled in (by group listing when ``bulk``, else per user)."""
        if not self.names:
            yield from records
            return
        table = self.memberships() if bulk else None
        if table is None:
            self.group_ids()  # every configured group must exist, small runs too
        count = 0
        for record in records:
            count += 1
            if table is not None:
                groups = table.get(record.okta_user_id, ())
            elif record.okta_user_id and record.user_status != "DELETED":
                groups = self.groups_of(record.okta_user_id)
            else:
                groups = ()
            yield replace(record, groups=groups)
        log.info("Read %d Okta groups for %d users in %d requests", len(self.names), count, self.requests)

    def attach_rows(self, rows: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        """A full run's snapshot lines with their ``groups`` filled in (by group listing, as ``bulk``)."""
        if not self.names:
            yield from rows
            return
        table = self.memberships()
        count = 0
        for row in rows:
            count += 1
            row["groups"] = list(table.get(row["okta_user_id"], ()))
            yield row
        log.info("Read %d Okta groups for %d users in %d requests", len(self.names), count, self.requests)


def _name(group: dict[str, Any]) -> str:
    profile = group.get("profile")
    return str(profile.get("name", "")) if isinstance(profile, dict) else ""
