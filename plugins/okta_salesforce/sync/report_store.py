"""The report's working set, on local disk: the writers' outcomes, the report lines, each user's settlement.

The report joins every action of the plan with its writer's outcome, settles escrow from the lines
(one settlement per user, the worst of the user's lines) and then writes each line with its user's
escrow state. Nothing of that is held in memory: the outcomes are kept by ``(login, action)`` and
each line's settlement by case-folded login in a private SQLite file, and the lines, already
encoded as the report's JSON lines (with the escrow state of a user not pending), in a file beside
it, a chunk per record; both in a temporary folder (``:memory:`` when asked), read back a chunk at a
time. Writing the report copies the encoded lines; only the lines of users left pending are
decoded, annotated and encoded again. Memory is the chunk and SQLite's bounded page cache
(:data:`CACHE_KIB`), whatever the number of users; the files need about 0.4 KB of local disk per
line and are removed by :meth:`ReportStore.close`.
"""

from __future__ import annotations

import io
import marshal
import struct
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import IO, Any

import orjson

from okta_salesforce.sync.escrow import RANK, Settlement, settlement_of
from okta_salesforce.sync.row_codec import pack_row, unpack_row
from okta_salesforce.sync.scratch_db import ScratchDatabase

#: SQLite page cache of the store, in KiB.
CACHE_KIB = 8 * 1024
#: Rows per insert batch and per read page.
CHUNK = 2000
_SETTLEMENTS = sorted(RANK, key=RANK.__getitem__)

SCHEMA = """
CREATE TABLE outcomes (login TEXT, action TEXT, data BLOB, PRIMARY KEY (login, action)) WITHOUT ROWID;
CREATE TABLE settled (key TEXT, pos INTEGER, rank INTEGER);
CREATE TABLE unsettled (key TEXT, rank INTEGER, pos INTEGER, data BLOB, PRIMARY KEY (key, rank, pos))
    WITHOUT ROWID;
CREATE TABLE earlier (login TEXT, action TEXT, pos INTEGER, state INTEGER, data BLOB,
                      PRIMARY KEY (login, action)) WITHOUT ROWID;
"""
#: States of an earlier try's write: not yet reported, reported, planned again (this try's line stands).
_WAITING, _REPORTED, _PLANNED_AGAIN = 0, 1, 2
#: One row per user in order of first line: its worst settlement and, unless converged, the first line
#: that settles it so (a converged user needs only the login).
_SETTLEMENTS_SQL = """
SELECT g.rank, g.key,
       (SELECT data FROM unsettled AS n WHERE n.key = g.key AND n.rank = g.rank ORDER BY n.pos LIMIT 1)
FROM (SELECT key, MIN(pos) AS first, MAX(rank) AS rank FROM settled GROUP BY key) AS g ORDER BY g.first
"""
#: The outcomes of many ``(login, action)`` keys at once (a JSON array of pairs): one query per chunk.
_OUTCOMES_SQL = """
SELECT o.login, o.action, o.data FROM json_each(?) AS j CROSS JOIN outcomes AS o
ON o.login = json_extract(j.value, '$[0]') AND o.action = json_extract(j.value, '$[1]')
"""
_LENGTH = struct.Struct("<Q")


def _encode(line: dict[str, Any]) -> bytes:
    return orjson.dumps(line, option=orjson.OPT_SORT_KEYS | orjson.OPT_APPEND_NEWLINE)


class ReportStore:
    """A report's disk-backed working set (see the module doc).

    :param folder: where to make the private temporary folder (default: the system's temp dir);
        ``":memory:"`` keeps the store in memory.
    :param encode: a line to its JSON line (the report file's encoder).
    :param decode: a JSON line back to the line (exact for what ``encode`` wrote).
    """

    def __init__(
        self,
        *,
        folder: str | None = None,
        encode: Callable[[dict[str, Any]], bytes] = _encode,
        decode: Callable[[bytes], Any] = orjson.loads,
    ) -> None:
        self.encode, self.decode = encode, decode
        self._scratch = ScratchDatabase("report", SCHEMA, folder=folder, cache_kib=CACHE_KIB)
        self.db = self._scratch.db
        self._lines: IO[bytes]
        if self._scratch.folder is None:
            self._lines = io.BytesIO()
        else:  # beside the database, in its private folder; 0600
            self._lines = tempfile.TemporaryFile(dir=self._scratch.folder)  # noqa: SIM115 - closed by close()
        self.line_count = 0
        self.earlier_count = 0

    def close(self) -> None:
        """Close the database and the lines, and remove their folder."""
        self._lines.close()
        self._scratch.close()

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

    def outcomes_for(self, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], dict[str, Any]]:
        """The outcome rows of many ``(login, action)`` keys, in one query (keys without one are left out)."""
        wanted = list(dict.fromkeys(keys))
        if not wanted:
            return {}
        try:
            batch = orjson.dumps(wanted)
        except TypeError:  # text orjson cannot encode (a lone surrogate): one query per key
            return {key: row for key in wanted if (row := self.get(key)) is not None}
        rows = self.db.execute(_OUTCOMES_SQL, (batch.decode("utf-8"),))
        return {(login, action): unpack_row(data) for login, action, data in rows}

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
        """Keep the lines in order, encoded, and each line's settlement; returns how many were added.

        The lines are kept as the report writes them (each line should already hold the escrow
        state of a user who is not pending): :meth:`encoded` gives them back as they are.
        """
        encode, settled_sql = self.encode, "INSERT INTO settled VALUES (?, ?, ?)"
        for chunk in _chunks(lines):
            first = self.line_count
            keys = [str(line["login"]).casefold() for line in chunk]
            settled, unsettled = [], []
            for i, line in enumerate(chunk):
                settlement = settlement_of(line)
                if settlement is not None:
                    rank = RANK[settlement]
                    settled.append((keys[i], first + i, rank))
                    if rank:
                        unsettled.append((keys[i], rank, first + i, pack_row(line)))
            blob = marshal.dumps((keys, [encode(line) for line in chunk]))
            self._lines.write(_LENGTH.pack(len(blob)))
            self._lines.write(blob)
            self.db.executemany(settled_sql, settled)
            if unsettled:
                self.db.executemany("INSERT INTO unsettled VALUES (?, ?, ?, ?)", unsettled)
            self.line_count += len(chunk)
        return self.line_count

    def _encoded_chunks(self) -> Iterator[tuple[list[str], list[bytes]]]:
        """The stored lines a chunk at a time: (case-folded logins, encoded lines)."""
        self._lines.seek(0)
        while header := self._lines.read(_LENGTH.size):
            (size,) = _LENGTH.unpack(header)
            keys, encoded = marshal.loads(self._lines.read(size))  # noqa: S302 - this process's own file
            yield keys, encoded

    def encoded(self, changes: Callable[[str], dict[str, Any] | None] | None = None) -> Iterator[bytes]:
        """The encoded lines in the order they were added.

        :param changes: for a case-folded login, the values its lines change (a pending user's
            escrow state), or None to keep them as stored; only lines it changes are decoded again.
        """
        for keys, encoded in self._encoded_chunks():
            if changes is None:
                yield from encoded
                continue
            for key, data in zip(keys, encoded, strict=True):
                update = changes(key)
                if update is None:
                    yield data
                else:
                    line = self.decode(data)
                    line.update(update)
                    yield self.encode(line)

    def lines(self) -> Iterator[dict[str, Any]]:
        """The lines in the order they were added (decoded)."""
        for _, encoded in self._encoded_chunks():
            yield from map(self.decode, encoded)

    def settlements(self) -> Iterator[tuple[Settlement, dict[str, Any]]]:
        """One ``(settlement, line)`` per user, the worst of the user's lines (the first such), in order
        of first line (what :meth:`~okta_salesforce.sync.escrow.Escrow.settle_users` takes).

        A converged user (most of them) leaves escrow, which needs only the login: its line is
        ``{"login": <the case-folded login>}``, not read back.
        """
        cursor = self.db.execute(_SETTLEMENTS_SQL)
        while rows := cursor.fetchmany(CHUNK):
            for rank, key, data in rows:
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
