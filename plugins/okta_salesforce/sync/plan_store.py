"""The working set of a streaming plan, on local disk: the Okta snapshot, the Salesforce users, the actions.

:func:`~okta_salesforce.sync.plan.stream_plan` holds one user at a time in memory; everything that
spans users lives here, in a private SQLite file in a temporary folder (``:memory:`` for the small
plans of :func:`~okta_salesforce.sync.plan.build_plan`):

* ``okta``: one assignment per login (case-folded), an assigned one winning, in first-seen order;
* ``sf`` and ``sf_key``: the Salesforce users in read order and their matching keys per rule, so a
  match is an indexed look-up; ``taken``: the aliases and nicknames in use;
* ``matches`` and ``claimed``: each assignment's match, and every Salesforce user some Okta user
  matched (ambiguously or not);
* ``creates``: the users to create, read back in login order;
* ``actions``: the plan, keyed by (kind, emission order), read back in plan order.

Rows are pickled dataclasses: the store is written and read by the same process, in a folder only
its user can read, and removed by :meth:`PlanStore.close`. The page cache is bounded
(:data:`CACHE_KIB`), so memory does not grow with the number of users.
"""

from __future__ import annotations

import os
import pickle
import shutil
import sqlite3
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from okta_salesforce.sync.mapping import IdentityAllocator, assignment_context
from okta_salesforce.sync.matching import Match
from okta_salesforce.sync.models import ActionKind, OktaAssignment

if TYPE_CHECKING:
    from okta_salesforce.sync.config import MatchRule
    from okta_salesforce.sync.mapping import MappedUser
    from okta_salesforce.sync.models import Action, SalesforceUser
    from okta_salesforce.sync.scoping import ManagedFilter

#: SQLite page cache per store, in KiB.
CACHE_KIB = 32 * 1024
#: Rows per insert batch and per read page.
CHUNK = 2000
ORDER = {kind: i for i, kind in enumerate(ActionKind)}
_KINDS = list(ActionKind)

_SCHEMA = """
CREATE TABLE okta (seq INTEGER PRIMARY KEY, login_key TEXT UNIQUE, assigned INTEGER, data BLOB);
CREATE TABLE sf (seq INTEGER PRIMARY KEY, id TEXT, username_key TEXT, managed_active INTEGER,
                 frozen INTEGER DEFAULT 0, login_id TEXT, data BLOB);
CREATE INDEX sf_id ON sf (id);
CREATE INDEX sf_username ON sf (username_key);
CREATE TABLE sf_key (rule INTEGER, key TEXT, seq INTEGER, PRIMARY KEY (rule, key, seq)) WITHOUT ROWID;
CREATE TABLE taken (kind INTEGER, key TEXT, PRIMARY KEY (kind, key)) WITHOUT ROWID;
CREATE TABLE matches (seq INTEGER PRIMARY KEY, sf_seq INTEGER, rule TEXT, ambiguous BLOB);
CREATE INDEX matches_sf ON matches (sf_seq);
CREATE TABLE claimed (seq INTEGER PRIMARY KEY);
CREATE TABLE creates (login_key TEXT PRIMARY KEY, username_key TEXT, mapped BLOB);
CREATE INDEX creates_username ON creates (username_key);
CREATE TABLE actions (k INTEGER, idx INTEGER, data BLOB, PRIMARY KEY (k, idx)) WITHOUT ROWID;
"""


def match_key(value: Any, case_sensitive: bool) -> str | None:
    """The key a matching rule compares (:class:`~okta_salesforce.sync.matching.Matcher`'s rule)."""
    if value is None:
        return None
    text = str(value).strip()
    if not text:
        return None
    return text if case_sensitive else text.casefold()


def _dump(value: Any) -> bytes:
    return pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)


def _load(blob: bytes) -> Any:
    return pickle.loads(blob)  # noqa: S301 - rows this process wrote to its own private file


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
        self._dir: str | None = None
        if folder == ":memory:":
            path = folder
        else:
            self._dir = tempfile.mkdtemp(prefix="okta-salesforce-plan-", dir=folder)  # mode 0700
            path = os.path.join(self._dir, "plan.sqlite")
        self.db = sqlite3.connect(path, isolation_level=None)
        for pragma in ("journal_mode=OFF", "synchronous=OFF", "temp_store=FILE", f"cache_size=-{CACHE_KIB}"):
            self.db.execute(f"PRAGMA {pragma}")
        self.db.executescript(_SCHEMA)
        self.db.execute("BEGIN")
        self.users_read = 0

    def close(self) -> None:
        """Close the database and remove its folder."""
        self.db.close()
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

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
        """Keep one assignment per login (an assigned one wins), only ``users`` when given; a login of
        ``users`` with no assignment gets an unassigned one. Returns how many assignments were read."""
        wanted = {u.casefold() for u in users} if users is not None else None
        sql = (
            "INSERT INTO okta (login_key, assigned, data) VALUES (?, ?, ?) ON CONFLICT (login_key) "
            "DO UPDATE SET assigned = excluded.assigned, data = excluded.data "
            "WHERE excluded.assigned AND NOT okta.assigned"
        )
        read = 0
        batch: list[tuple[str, int, bytes]] = []
        for assignment in assignments:
            read += 1
            key = assignment.login.casefold()
            if wanted is not None and key not in wanted:
                continue
            batch.append((key, int(assignment.assigned), _dump(assignment)))
            if len(batch) >= CHUNK:
                self.db.executemany(sql, batch)
                batch.clear()
        self.db.executemany(sql, batch)
        for login in users or ():
            if self.db.execute("SELECT 1 FROM okta WHERE login_key = ?", (login.casefold(),)).fetchone():
                continue
            absent = OktaAssignment(
                okta_user_id="",
                login=login,
                app_username=login,
                assignment_status="UNASSIGNED",
                scope="USER",
                user_status="",
                profile={"login": login},
                assigned=False,
            )
            self.db.execute(
                "INSERT INTO okta (login_key, assigned, data) VALUES (?, 0, ?)",
                (login.casefold(), _dump(absent)),
            )
        return read

    def assignments(self) -> Iterator[tuple[int, OktaAssignment]]:
        """``(seq, assignment)`` of the selected assignments, in first-seen order."""
        sql = "SELECT seq, data FROM okta WHERE seq > ? ORDER BY seq LIMIT ?"
        for seq, data in self._pages(sql, (CHUNK,)):
            yield seq, _load(data)

    # Salesforce ---------------------------------------------------------------------------
    def add_users(self, users: Iterable[SalesforceUser]) -> None:
        """Store the Salesforce users (in read order) with their matching keys, aliases and nicknames."""
        rows: list[tuple[Any, ...]] = []
        for user in users:
            rows.append(
                (
                    user.id,
                    user.username.casefold(),
                    int(user.is_active and self.managed.reason(user) is None),
                    int(user.is_frozen),
                    user.user_login_id,
                    _dump(user),
                )
            )
            if len(rows) >= CHUNK:
                self._insert_users(rows)
                rows = []
        self._insert_users(rows)

    def _insert_users(self, rows: list[tuple[Any, ...]]) -> None:
        if not rows:
            return
        first = self.users_read + 1
        self.db.executemany(
            "INSERT INTO sf (seq, id, username_key, managed_active, frozen, login_id, data) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            ((first + i, *row) for i, row in enumerate(rows)),
        )
        keys, taken = [], []
        for i, row in enumerate(rows):
            user: SalesforceUser = _load(row[-1])
            for number, rule in enumerate(self.rules):
                raw = user.username if rule.salesforce == "Username" else user.fields.get(rule.salesforce)
                key = match_key(raw, rule.case_sensitive)
                if key is not None:
                    keys.append((number, key, first + i))
            for kind, name in enumerate(("Alias", "CommunityNickname")):
                value = str(user.fields.get(name) or "")
                if value:
                    taken.append((kind, value.casefold()))
        self.db.executemany("INSERT OR IGNORE INTO sf_key VALUES (?, ?, ?)", keys)
        self.db.executemany("INSERT OR IGNORE INTO taken VALUES (?, ?)", taken)
        self.users_read += len(rows)

    def set_frozen(self, frozen: Mapping[str, str]) -> None:
        """Mark frozen users: ``frozen`` maps a User id to its ``UserLogin`` id."""
        self.db.executemany(
            "UPDATE sf SET frozen = 1, login_id = ? WHERE id = ?", ((v, k) for k, v in frozen.items())
        )

    @staticmethod
    def _user(data: bytes, frozen: int, login_id: str | None) -> SalesforceUser:
        user: SalesforceUser = _load(data)
        if frozen and not (user.is_frozen and user.user_login_id == login_id):
            user = replace(user, user_login_id=login_id, is_frozen=True)
        return user

    def user(self, seq: int) -> SalesforceUser:
        """The Salesforce user stored at ``seq``."""
        row = self.db.execute("SELECT data, frozen, login_id FROM sf WHERE seq = ?", (seq,)).fetchone()
        return self._user(*row)

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
            "SELECT id FROM sf WHERE username_key = ? ORDER BY seq DESC LIMIT 1", (username_key,)
        ).fetchone()
        return row[0] if row else None

    # Matching -----------------------------------------------------------------------------
    def find(self, assignment: OktaAssignment) -> tuple[int | None, str | None, tuple[int, ...]]:
        """Match by the rules' precedence: ``(user seq, rule, ambiguous seqs)`` (see
        :class:`~okta_salesforce.sync.matching.Matcher`)."""
        context = assignment_context(assignment)
        for number, rule in enumerate(self.rules):
            key = match_key(context.get(rule.okta), rule.case_sensitive)
            if key is None:
                continue
            found = self.db.execute(
                "SELECT seq FROM sf_key WHERE rule = ? AND key = ? ORDER BY seq", (number, key)
            ).fetchall()
            if not found:
                continue
            if len(found) == 1:
                return found[0][0], rule.salesforce, ()
            return None, rule.salesforce, tuple(r[0] for r in found)
        return None, None, ()

    def add_matches(self, rows: Sequence[tuple[int, int | None, str | None, tuple[int, ...]]]) -> None:
        """Record matches ``(assignment seq, user seq, rule, ambiguous seqs)``; their users are claimed."""
        self.db.executemany(
            "INSERT INTO matches VALUES (?, ?, ?, ?)",
            ((seq, user, rule, _dump(amb) if amb else None) for seq, user, rule, amb in rows),
        )
        claimed = [(user,) for _, user, _, _ in rows if user is not None]
        claimed += [(s,) for *_, amb in rows for s in amb]
        self.db.executemany("INSERT OR IGNORE INTO claimed VALUES (?)", claimed)

    def matched(self) -> Iterator[tuple[OktaAssignment, Match, int]]:
        """Each selected assignment (in order), its match, and how many assignments matched that user."""
        sql = (
            "SELECT o.seq, o.data, m.sf_seq, m.rule, m.ambiguous, "
            "(SELECT COUNT(*) FROM matches c WHERE c.sf_seq = m.sf_seq) "
            "FROM okta o JOIN matches m ON m.seq = o.seq WHERE o.seq > ? ORDER BY o.seq LIMIT ?"
        )
        for _, data, user_seq, rule, ambiguous, claims in self._pages(sql, (CHUNK,)):
            if ambiguous is not None:
                match = Match(rule=rule, ambiguous=tuple(self.user(s) for s in _load(ambiguous)))
            elif user_seq is not None:
                match = Match(user=self.user(user_seq), rule=rule)
            else:
                match = Match()
            yield _load(data), match, claims

    def managed_active_matched(self) -> int:
        """How many distinct managed, active users some assignment matched (unambiguously)."""
        return self.db.execute(
            "SELECT COUNT(DISTINCT m.sf_seq) FROM matches m JOIN sf s ON s.seq = m.sf_seq "
            "WHERE s.managed_active = 1"
        ).fetchone()[0]

    # Creates ------------------------------------------------------------------------------
    def add_create(self, assignment: OktaAssignment, mapped: MappedUser) -> None:
        """Keep a user to create (processed after every other user, in login order)."""
        username = str(mapped.values.get("Username", "")).casefold()
        self.db.execute(
            "INSERT INTO creates VALUES (?, ?, ?)",
            (assignment.login.casefold(), username, _dump((assignment, mapped))),
        )

    def creates(self) -> Iterator[tuple[OktaAssignment, MappedUser]]:
        """The users to create, by case-folded login."""
        cursor = self.db.execute("SELECT mapped FROM creates ORDER BY login_key")
        while rows := cursor.fetchmany(CHUNK):
            for (data,) in rows:
                yield _load(data)

    def wanted(self, username_key: str) -> int:
        """How many creates map to this case-folded username."""
        return self.db.execute(
            "SELECT COUNT(*) FROM creates WHERE username_key = ?", (username_key,)
        ).fetchone()[0]

    def allocator(self) -> IdentityAllocator:
        """An alias and nickname generator that knows every alias and nickname read."""
        return _StoredAllocator(self.db)

    # Actions ------------------------------------------------------------------------------
    def add_actions(self, rows: Iterable[tuple[int, Action]]) -> None:
        """Store actions with their emission index; the plan reads them back by kind, then index."""
        self.db.executemany(
            "INSERT INTO actions VALUES (?, ?, ?)", ((ORDER[a.kind], idx, _dump(a)) for idx, a in rows)
        )

    def clear_actions(self) -> None:
        self.db.execute("DELETE FROM actions")

    def actions(self, kinds: Iterable[ActionKind] | None = None) -> Iterator[Action]:
        """The actions in plan order (by kind, then emission), only ``kinds`` when given."""
        numbers = sorted(ORDER[k] for k in kinds) if kinds is not None else range(len(_KINDS))
        for number in numbers:
            cursor = self.db.execute("SELECT data FROM actions WHERE k = ? ORDER BY idx", (number,))
            while rows := cursor.fetchmany(CHUNK):
                for (data,) in rows:
                    yield _load(data)

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
        return (
            self.db.execute("SELECT 1 FROM taken WHERE kind = ? AND key = ?", (self.kind, key)).fetchone()
            is not None
        )

    def add(self, key: str) -> None:
        self.db.execute("INSERT OR IGNORE INTO taken VALUES (?, ?)", (self.kind, key))


class _StoredAllocator(IdentityAllocator):
    """:class:`IdentityAllocator` over the store's ``taken`` table instead of in-memory sets."""

    def __init__(self, db: sqlite3.Connection) -> None:
        super().__init__()
        self._aliases = _TakenNames(db, 0)  # type: ignore[assignment]
        self._nicknames = _TakenNames(db, 1)  # type: ignore[assignment]
