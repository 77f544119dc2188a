"""The report's working set, on local disk: the writers' outcomes, the report lines, each user's settlement.

The report joins every action of the plan with its writer's outcome, settles escrow from the lines
(one settlement per user, the worst of the user's lines) and then writes each line with its user's
escrow state. Nothing of that is held in memory: the outcomes are kept by ``(login, action)``, the
lines in plan order and each user's worst settlement by case-folded login, in a private SQLite file
in a temporary folder (``:memory:`` when asked), read back a chunk at a time. Memory is the chunk
and SQLite's bounded page cache (:data:`CACHE_KIB`), whatever the number of users; the file needs
about 0.4 KB of local disk per line and is removed by :meth:`ReportStore.close`.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from okta_salesforce.sync.escrow import RANK, Settlement, settlement_of
from okta_salesforce.sync.row_codec import pack_row, unpack_row

#: SQLite page cache of the store, in KiB.
CACHE_KIB = 8 * 1024
#: Rows per insert batch and per read page.
CHUNK = 2000
_SETTLEMENTS = sorted(RANK, key=RANK.__getitem__)

SCHEMA = """
CREATE TABLE outcomes (login TEXT, action TEXT, data BLOB, PRIMARY KEY (login, action)) WITHOUT ROWID;
CREATE TABLE lines (pos INTEGER PRIMARY KEY, data BLOB);
CREATE TABLE users (first INTEGER PRIMARY KEY, key TEXT UNIQUE, rank INTEGER, line INTEGER);
CREATE TABLE earlier (login TEXT, action TEXT, pos INTEGER, state INTEGER, data BLOB,
                      PRIMARY KEY (login, action)) WITHOUT ROWID;
"""
#: States of an earlier try's write: not yet reported, reported, planned again (this try's line stands).
_WAITING, _REPORTED, _PLANNED_AGAIN = 0, 1, 2
#: A user's settlement: kept at the position of the user's first line; a worse line replaces it.
_UPSERT_USER = """
INSERT INTO users (first, key, rank, line) VALUES (?1, ?2, ?3, ?1)
ON CONFLICT (key) DO UPDATE SET rank = excluded.rank, line = excluded.line WHERE excluded.rank > users.rank
"""


class ReportStore:
    """A report's disk-backed working set (see the module doc).

    :param folder: where to make the private temporary folder (default: the system's temp dir);
        ``":memory:"`` keeps the store in memory.
    """

    def __init__(self, *, folder: str | None = None) -> None:
        self._dir: str | None = None
        if folder == ":memory:":
            path = folder
        else:
            self._dir = tempfile.mkdtemp(prefix="okta-salesforce-report-", dir=folder)  # mode 0700
            path = os.path.join(self._dir, "report.sqlite")
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))  # logins: private
        self.db = sqlite3.connect(path, isolation_level=None)
        for pragma in ("journal_mode=OFF", "synchronous=OFF", "temp_store=FILE", f"cache_size=-{CACHE_KIB}"):
            self.db.execute(f"PRAGMA {pragma}")
        self.db.executescript(SCHEMA)
        self.db.execute("BEGIN")
        self.line_count = 0
        self.earlier_count = 0

    def close(self) -> None:
        """Close the database and remove its folder."""
        self.db.close()
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    def __enter__(self) -> ReportStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # Outcomes -----------------------------------------------------------------------------
    def add_outcomes(self, outcomes: Iterable[Mapping[str, Any]]) -> None:
        """Keep the outcomes (rows of the writers' files, :meth:`Outcome.to_dict
        <okta_salesforce.sync.models.Outcome.to_dict>`) by ``(login, action)``; the first of a key wins."""
        sql = "INSERT OR IGNORE INTO outcomes VALUES (?, ?, ?)"
        for chunk in _chunks((o["login"], o["action"], pack_row(dict(o))) for o in outcomes):
            self.db.executemany(sql, chunk)

    def get(self, key: tuple[str, str], /) -> dict[str, Any] | None:
        """The outcome row of ``(login, action)``, if a writer recorded one (a mapping's ``get``)."""
        row = self.db.execute("SELECT data FROM outcomes WHERE login = ? AND action = ?", key).fetchone()
        return unpack_row(row[0]) if row else None

    # Writes of earlier tries ----------------------------------------------------------------
    def add_earlier(self, writes: Iterable[Mapping[str, Any]]) -> int:
        """Keep successful writes of the run's earlier tries (outcome rows) by ``(login, action)``."""
        sql = "INSERT OR IGNORE INTO earlier VALUES (?, ?, ?, 0, ?)"
        for chunk in _chunks(writes):
            rows = [
                (o["login"], o["action"], self.earlier_count + i, pack_row(dict(o)))
                for i, o in enumerate(chunk)
            ]
            self.db.executemany(sql, rows)
            self.earlier_count += len(chunk)
        return self.earlier_count

    def take(self, login: str) -> list[dict[str, Any]]:
        """The earlier writes of ``login`` not reported yet; they count as reported from now on."""
        sql = "SELECT data FROM earlier WHERE login = ? AND state = ? ORDER BY pos"
        rows = [unpack_row(data) for (data,) in self.db.execute(sql, (login, _WAITING))]
        if rows:
            self.db.execute(
                "UPDATE earlier SET state = ? WHERE login = ? AND state = ?", (_REPORTED, login, _WAITING)
            )
        return rows

    def planned_again(self, login: str, action: str) -> None:
        """This try planned ``action`` for ``login`` again: its own line stands, not the earlier write."""
        sql = "UPDATE earlier SET state = ? WHERE login = ? AND action = ? AND state = ?"
        self.db.execute(sql, (_PLANNED_AGAIN, login, action, _WAITING))

    def remaining(self) -> Iterator[dict[str, Any]]:
        """The earlier writes neither reported nor planned again, in the order they were added."""
        sql = "SELECT pos, data FROM earlier WHERE state = 0 AND pos > ? ORDER BY pos LIMIT ?"
        for _, data in self._pages(sql):
            yield unpack_row(data)

    # Lines ----------------------------------------------------------------------------------
    def add_lines(self, lines: Iterable[dict[str, Any]]) -> int:
        """Keep the report lines in order and each user's worst settlement; returns how many were added."""
        for chunk in _chunks(lines):
            first = self.line_count
            self.db.executemany(
                "INSERT INTO lines VALUES (?, ?)",
                ((first + i, pack_row(line)) for i, line in enumerate(chunk)),
            )
            settled = [
                (first + i, str(line["login"]).casefold(), RANK[settlement])
                for i, line in enumerate(chunk)
                if (settlement := settlement_of(line)) is not None
            ]
            self.db.executemany(_UPSERT_USER, settled)
            self.line_count += len(chunk)
        return self.line_count

    def lines(self) -> Iterator[dict[str, Any]]:
        """The lines in the order they were added."""
        for _, data in self._pages("SELECT pos, data FROM lines WHERE pos > ? ORDER BY pos LIMIT ?"):
            yield unpack_row(data)

    def settlements(self) -> Iterator[tuple[Settlement, dict[str, Any]]]:
        """One ``(settlement, line)`` per user, the worst of the user's lines, in order of first line
        (what :meth:`~okta_salesforce.sync.escrow.Escrow.settle_users` takes).

        A converged user (most of them) leaves escrow, which needs only the login: its line is
        ``{"login": <the case-folded login>}``, not read back.
        """
        sql = (
            "SELECT u.first, u.rank, u.key, l.data FROM users u "
            "LEFT JOIN lines l ON u.rank > 0 AND l.pos = u.line "
            "WHERE u.first > ? ORDER BY u.first LIMIT ?"
        )
        for _, rank, key, data in self._pages(sql):
            yield _SETTLEMENTS[rank], unpack_row(data) if data is not None else {"login": key}

    def _pages(self, sql: str) -> Iterator[tuple[Any, ...]]:
        """Rows of ``sql`` (first column an increasing key, ``?`` its lower bound, ``?`` the page size)."""
        last = -1
        while rows := self.db.execute(sql, (last, CHUNK)).fetchall():
            yield from rows
            last = rows[-1][0]


def _chunks(rows: Iterable[Any]) -> Iterator[list[Any]]:
    chunk: list[Any] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
