"""The working set of a streaming plan, on local disk: the Okta snapshot, the Salesforce users, the actions.

:func:`~okta_salesforce.sync.plan.stream_plan` holds one user at a time in memory; everything that
spans users lives here, in a private SQLite file in a temporary folder (``:memory:`` for the small
plans of :func:`~okta_salesforce.sync.plan.build_plan`): the assignments and the Salesforce users
with their matching keys, each assignment's match (:mod:`~okta_salesforce.sync.plan_store_sql`),
the aliases and nicknames in use, the creates (read back in login order) and the actions (read
back in plan order). Rows are kept by :mod:`~okta_salesforce.sync.row_codec`; the folder is only
its user's and :meth:`PlanStore.close` removes it. The page cache is bounded (:data:`CACHE_KIB`),
so memory does not grow with the number of users.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from okta_salesforce.sync.mapping import IdentityAllocator, assignment_context
from okta_salesforce.sync.matching import Match, match_key
from okta_salesforce.sync.models import Action, ActionKind, OktaAssignment, SalesforceUser
from okta_salesforce.sync.plan_keys import okta_keys, salesforce_keys
from okta_salesforce.sync.plan_store_sql import INDEXES, MATCH, SCHEMA
from okta_salesforce.sync.row_codec import (
    action_dict,
    dump,
    load,
    pack_action,
    pack_assignment,
    pack_user,
    sql_text,
    unpack_action,
    unpack_assignment,
    unpack_user,
)
from okta_salesforce.sync.scratch_db import ScratchDatabase

if TYPE_CHECKING:
    from okta_salesforce.sync.config import MatchRule
    from okta_salesforce.sync.mapping import MappedUser
    from okta_salesforce.sync.scoping import ManagedFilter

#: SQLite page cache per store, in KiB.
CACHE_KIB = 32 * 1024
#: Rows per insert batch and per read page.
CHUNK = 2000
ORDER = {kind: i for i, kind in enumerate(ActionKind)}
_KINDS = list(ActionKind)


class PlanStore:
    """A plan's disk-backed working set (see the module doc).

    :param rules: the matching rules, in order of precedence.
    :param managed: the managed-user filter (a user's "managed and active" flag is kept per row).
    :param folder: where to make the private temporary folder (default: the system's temp dir);
        ``":memory:"`` keeps the store in memory.
    """

    def __init__(
        self, rules: Sequence[MatchRule], managed: ManagedFilter, *, folder: str | None = None
    ) -> None:
        self.rules = tuple(rules)
        self.managed = managed
        self._scratch = ScratchDatabase("plan", SCHEMA, folder=folder, cache_kib=CACHE_KIB)
        self.db = self._scratch.db
        self.users_read = 0
        self._okta_rows = 0

    def close(self) -> None:
        """Close the database and remove its folder."""
        self._scratch.close()

    def __enter__(self) -> PlanStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _pages(self, sql: str, args: Sequence[Any] = ()) -> Iterator[tuple[Any, ...]]:
        """Rows of ``sql`` (whose first column is an increasing key, ``?`` its lower bound) page by page."""
        last = -1
        while True:
            rows = self.db.execute(sql, (last, *args)).fetchall()
            if not rows:
                return
            yield from rows
            last = rows[-1][0]

    # Okta ---------------------------------------------------------------------------------
    def add_assignments(self, assignments: Iterable[OktaAssignment], users: Sequence[str] | None) -> int:
        """Store the assignments (only ``users``' when given) and their matching keys; a login of
        ``users`` with no assignment gets an unassigned one. Returns how many assignments were read."""
        wanted = {u.casefold() for u in users} if users is not None else None
        read = 0
        batch: list[OktaAssignment] = []
        for assignment in assignments:
            read += 1
            if wanted is not None and assignment.login.casefold() not in wanted:
                continue
            batch.append(assignment)
            if len(batch) >= CHUNK:
                self._insert_assignments(batch)
                batch = []
        self._insert_assignments(batch)
        if users:
            self.db.execute("CREATE TEMP TABLE present (login_key TEXT PRIMARY KEY)")
            self.db.execute("INSERT OR IGNORE INTO present SELECT login_key FROM okta")
            absent = []
            for login in users:
                key = sql_text(login.casefold())
                if self.db.execute("SELECT 1 FROM present WHERE login_key = ?", (key,)).fetchone():
                    continue
                self.db.execute("INSERT INTO present VALUES (?)", (key,))
                absent.append(
                    OktaAssignment(
                        okta_user_id="",
                        login=login,
                        app_username=login,
                        assignment_status="UNASSIGNED",
                        scope="USER",
                        user_status="",
                        profile={"login": login},
                        assigned=False,
                    )
                )
            self._insert_assignments(absent)
        return read

    def _insert_assignments(self, batch: list[OktaAssignment]) -> None:
        if not batch:
            return
        first = self._okta_rows + 1
        self.db.executemany(
            "INSERT INTO okta VALUES (?, ?, ?, ?)",
            (
                (first + i, sql_text(a.login.casefold()), int(a.assigned), pack_assignment(a))
                for i, a in enumerate(batch)
            ),
        )
        keys = okta_keys(batch, first, self.rules)
        self.db.executemany("INSERT INTO okta_key VALUES (?, ?, ?)", keys)
        self._okta_rows += len(batch)

    # Salesforce ---------------------------------------------------------------------------
    def add_users(self, users: Iterable[SalesforceUser]) -> None:
        """Store the Salesforce users (in read order) with their matching keys, aliases and nicknames
        (before :meth:`match`)."""
        batch: list[SalesforceUser] = []
        for user in users:
            batch.append(user)
            if len(batch) >= CHUNK:
                self._insert_users(batch)
                batch = []
        self._insert_users(batch)

    def _insert_users(self, batch: list[SalesforceUser]) -> None:
        if not batch:
            return
        first = self.users_read + 1
        reason = self.managed.reason
        self.db.executemany(
            "INSERT INTO sf (seq, id, username_key, managed_active, frozen, login_id, data) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                (
                    first + i,
                    u.id,
                    sql_text(u.username.casefold()),
                    int(u.is_active and reason(u) is None),
                    int(u.is_frozen),
                    u.user_login_id,
                    pack_user(u),
                )
                for i, u in enumerate(batch)
            ),
        )
        keys, taken = salesforce_keys(batch, first, self.rules)
        self.db.executemany("INSERT INTO sf_key VALUES (?, ?, ?)", keys)
        self.db.executemany("INSERT INTO taken VALUES (?, ?)", taken)
        self.users_read += len(batch)

    def set_frozen(self, frozen: Mapping[str, str]) -> None:
        """Mark frozen users: ``frozen`` maps a User id to its ``UserLogin`` id (one pass over the users)."""
        if not frozen:
            return
        self.db.execute("CREATE TEMP TABLE frozen (id TEXT PRIMARY KEY, login_id TEXT)")
        self.db.executemany("INSERT OR REPLACE INTO frozen VALUES (?, ?)", frozen.items())
        self.db.execute(
            "UPDATE sf SET frozen = 1, login_id = (SELECT login_id FROM frozen f WHERE f.id = sf.id) "
            "WHERE id IN (SELECT id FROM frozen)"
        )

    @staticmethod
    def _user(data: bytes, frozen: int, login_id: str | None) -> SalesforceUser:
        user = unpack_user(data)
        if frozen and not (user.is_frozen and user.user_login_id == login_id):
            user = replace(user, user_login_id=login_id, is_frozen=True)
        return user

    def user_by_id(self, user_id: str) -> SalesforceUser | None:
        """The (first) Salesforce user with this id, or None."""
        row = self.db.execute(
            "SELECT data, frozen, login_id FROM sf WHERE id = ? ORDER BY seq LIMIT 1", (user_id,)
        ).fetchone()
        return self._user(*row) if row else None

    def users(self, *, unclaimed_managed_active: bool = False) -> Iterator[SalesforceUser]:
        """The Salesforce users in read order (or only the managed, active ones no Okta user matched)."""
        where = (
            " AND managed_active = 1 AND seq NOT IN (SELECT seq FROM claimed)"
            if unclaimed_managed_active
            else ""
        )
        sql = f"SELECT seq, data, frozen, login_id FROM sf WHERE seq > ?{where} ORDER BY seq LIMIT ?"  # noqa: S608
        for _, data, frozen, login_id in self._pages(sql, (CHUNK,)):
            yield self._user(data, frozen, login_id)

    def username_owner(self, username_key: str) -> str | None:
        """The id of the (last read) Salesforce user with this case-folded username, or None."""
        row = self.db.execute(
            "SELECT id FROM sf WHERE username_key = ? ORDER BY seq DESC LIMIT 1", (sql_text(username_key),)
        ).fetchone()
        return row[0] if row else None

    # Matching -----------------------------------------------------------------------------
    def match(self) -> int:
        """Match every selected assignment (in SQL, see ``_MATCH``); returns how many distinct managed,
        active users were matched (the guard counts them)."""
        self.db.executescript(INDEXES + MATCH)
        self.db.execute("BEGIN")
        matched: int = self.db.execute(
            "SELECT COUNT(DISTINCT m.one) FROM matches m JOIN sf s ON s.seq = m.one "
            "WHERE m.n = 1 AND s.managed_active = 1"
        ).fetchone()[0]
        return matched

    def matched(self) -> Iterator[tuple[OktaAssignment, Match, int]]:
        """Each selected assignment (in order), its match, and how many assignments matched that user."""
        sql = (
            "SELECT s.pos, o.data, m.rule, m.n, u.data, u.frozen, u.login_id, c.n FROM sel s "
            "JOIN okta o ON o.seq = s.win LEFT JOIN matches m ON m.pos = s.pos "
            "LEFT JOIN sf u ON m.n = 1 AND u.seq = m.one LEFT JOIN claims c ON m.n = 1 AND c.seq = m.one "
            "WHERE s.pos > ? ORDER BY s.pos LIMIT ?"
        )
        for _, data, rule, found, user, frozen, login_id, claims in self._pages(sql, (CHUNK,)):
            assignment = unpack_assignment(data)
            if rule is None:
                yield assignment, Match(), 0
                continue
            field = self.rules[rule].salesforce
            if found == 1:
                yield assignment, Match(user=self._user(user, frozen, login_id), rule=field), claims
            else:
                yield assignment, Match(rule=field, ambiguous=tuple(self._ambiguous(assignment, rule))), 0

    def selected(self) -> Iterator[OktaAssignment]:
        """The selected assignments (one per login), in order (after :meth:`match`)."""
        sql = (
            "SELECT s.pos, o.data FROM sel s JOIN okta o ON o.seq = s.win "
            "WHERE s.pos > ? ORDER BY s.pos LIMIT ?"
        )
        for _, data in self._pages(sql, (CHUNK,)):
            yield unpack_assignment(data)

    def _ambiguous(self, assignment: OktaAssignment, rule: int) -> Iterator[SalesforceUser]:
        spec = self.rules[rule]
        key = match_key(assignment_context(assignment).get(spec.okta), spec.case_sensitive)
        rows = self.db.execute(
            "SELECT u.data, u.frozen, u.login_id FROM sf_key k JOIN sf u ON u.seq = k.seq "
            "WHERE k.rule = ? AND k.key = ? ORDER BY k.seq",
            (rule, sql_text(key) if key is not None else None),
        ).fetchall()
        for row in rows:
            yield self._user(*row)

    # Creates ------------------------------------------------------------------------------
    def add_create(self, assignment: OktaAssignment, mapped: MappedUser) -> None:
        """Keep a user to create (processed after every other user, in login order)."""
        username = str(mapped.values.get("Username", "")).casefold()
        self.db.execute(
            "INSERT INTO creates VALUES (?, ?, ?)",
            (sql_text(assignment.login.casefold()), sql_text(username), dump((assignment, mapped))),
        )

    def creates(self) -> Iterator[tuple[OktaAssignment, MappedUser]]:
        """The users to create, by case-folded login."""
        cursor = self.db.execute("SELECT mapped FROM creates ORDER BY login_key")
        while rows := cursor.fetchmany(CHUNK):
            for (data,) in rows:
                yield load(data)

    def wanted(self, username_key: str) -> int:
        """How many creates map to this case-folded username."""
        sql = "SELECT COUNT(*) FROM creates WHERE username_key = ?"
        wanted: int = self.db.execute(sql, (sql_text(username_key),)).fetchone()[0]
        return wanted

    def allocator(self) -> IdentityAllocator:
        """An alias and nickname generator that knows every alias and nickname read."""
        return _StoredAllocator(self.db)

    # Actions ------------------------------------------------------------------------------
    def add_actions(self, rows: Iterable[tuple[int, Action]]) -> None:
        """Store actions with their emission index; the plan reads them back by kind, then index."""
        self.db.executemany(
            "INSERT INTO actions VALUES (?, ?, ?)", ((ORDER[a.kind], idx, pack_action(a)) for idx, a in rows)
        )

    def clear_actions(self) -> None:
        self.db.execute("DELETE FROM actions")

    def _action_rows(self, kinds: Iterable[ActionKind] | None) -> Iterator[bytes]:
        numbers = sorted(ORDER[k] for k in kinds) if kinds is not None else range(len(_KINDS))
        for number in numbers:
            cursor = self.db.execute("SELECT data FROM actions WHERE k = ? ORDER BY idx", (number,))
            while rows := cursor.fetchmany(CHUNK):
                for (data,) in rows:
                    yield data

    def actions(self, kinds: Iterable[ActionKind] | None = None) -> Iterator[Action]:
        """The actions in plan order (by kind, then emission), only ``kinds`` when given."""
        return map(unpack_action, self._action_rows(kinds))

    def action_dicts(self, kinds: Iterable[ActionKind] | None = None) -> Iterator[dict[str, Any]]:
        """:meth:`actions` as :meth:`Action.to_dict` gives them (no objects built)."""
        return map(action_dict, self._action_rows(kinds))

    def counts(self) -> dict[str, int]:
        """Actions by kind, every kind present (zeros included)."""
        counts = dict.fromkeys((str(k) for k in ActionKind), 0)
        for number, count in self.db.execute("SELECT k, COUNT(*) FROM actions GROUP BY k"):
            counts[str(_KINDS[number])] = count
        return counts


class _TakenNames:
    """The set-like view :class:`IdentityAllocator` checks names against, kept in the store."""

    def __init__(self, db: sqlite3.Connection, kind: int) -> None:
        self.db, self.kind = db, kind

    def __contains__(self, key: object) -> bool:
        sql = "SELECT 1 FROM taken WHERE kind = ? AND key = ?"
        return self.db.execute(sql, (self.kind, sql_text(str(key)))).fetchone() is not None

    def add(self, key: str) -> None:
        self.db.execute("INSERT INTO taken VALUES (?, ?)", (self.kind, sql_text(key)))


class _StoredAllocator(IdentityAllocator):
    """:class:`IdentityAllocator` over the store's ``taken`` table instead of in-memory sets."""

    def __init__(self, db: sqlite3.Connection) -> None:
        super().__init__()
        self._aliases = _TakenNames(db, 0)  # type: ignore[assignment]
        self._nicknames = _TakenNames(db, 1)  # type: ignore[assignment]
