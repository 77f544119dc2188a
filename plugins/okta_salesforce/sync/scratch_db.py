"""A task's private SQLite working file: the disk behind the plan's and the report's streaming stores.

The file lives in a folder of its own made for it (mode ``0700``) and is created ``0600`` before
SQLite opens it: it holds logins and profiles, so nobody else on the worker reads it. It is a
scratch file that a retried task builds again, so it keeps no journal and does not sync; the page
cache is bounded, so memory does not grow with the number of rows. :meth:`ScratchDatabase.close`
removes the folder with everything in it.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import tempfile

#: Settings of every scratch database: no rollback journal or fsync (rebuilt on a retry anyway),
#: temporary tables and sorts on disk, not in memory.
PRAGMAS = ("journal_mode=OFF", "synchronous=OFF", "temp_store=FILE")


class ScratchDatabase:
    """One private SQLite file in its own temporary folder, with ``schema`` and an open transaction.

    :param name: names the folder (``okta-salesforce-<name>-*``) and the file (``<name>.sqlite``).
    :param schema: the ``CREATE`` statements run once.
    :param folder: where to make the private folder (default: the system's temp dir);
        ``":memory:"`` keeps the database in memory (no folder).
    :param cache_kib: SQLite's page cache, in KiB.
    """

    def __init__(self, name: str, schema: str, *, folder: str | None = None, cache_kib: int) -> None:
        self.folder: str | None = None
        if folder == ":memory:":
            path = folder
        else:
            self.folder = tempfile.mkdtemp(prefix=f"okta-salesforce-{name}-", dir=folder)  # mode 0700
            path = os.path.join(self.folder, f"{name}.sqlite")
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        self.db = sqlite3.connect(path, isolation_level=None)
        for pragma in (*PRAGMAS, f"cache_size=-{cache_kib}"):
            self.db.execute(f"PRAGMA {pragma}")
        self.db.executescript(schema)
        self.db.execute("BEGIN")

    def close(self) -> None:
        """Close the database and remove its folder (files others put there too)."""
        self.db.close()
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder = None
