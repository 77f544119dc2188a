"""The private SQLite working file behind the plan's and the report's streaming stores."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from okta_salesforce.sync.scratch_db import ScratchDatabase


def test_folder_and_file_are_private_and_removed_on_close(tmp_path: Path) -> None:
    scratch = ScratchDatabase("plan", "CREATE TABLE t (x TEXT);", folder=str(tmp_path), cache_kib=1024)
    assert scratch.folder is not None
    folder = Path(scratch.folder)
    assert folder.parent == tmp_path
    assert folder.name.startswith("okta-salesforce-plan-")
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE((folder / "plan.sqlite").stat().st_mode) == 0o600
    scratch.db.execute("INSERT INTO t VALUES ('alice@example.com')")
    assert scratch.db.execute("SELECT x FROM t").fetchall() == [("alice@example.com",)]
    (folder / "lines").write_bytes(b"x")  # what its user puts beside the database goes too
    scratch.close()
    assert not folder.exists()
    assert scratch.folder is None
    scratch.close()  # twice is harmless


def test_no_journal_no_sync_bounded_cache_in_a_transaction() -> None:
    scratch = ScratchDatabase("report", "CREATE TABLE t (x);", folder=":memory:", cache_kib=2048)
    try:
        assert scratch.folder is None
        assert scratch.db.execute("PRAGMA synchronous").fetchone() == (0,)
        assert scratch.db.execute("PRAGMA cache_size").fetchone() == (-2048,)
        assert scratch.db.in_transaction
    finally:
        scratch.close()


def test_an_existing_file_is_never_reused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    made = tmp_path / "taken"
    made.mkdir()
    (made / "plan.sqlite").write_text("someone else's")
    monkeypatch.setattr("tempfile.mkdtemp", lambda **_: str(made))
    with pytest.raises(FileExistsError):
        ScratchDatabase("plan", "", folder=str(tmp_path), cache_kib=1024)
    assert (made / "plan.sqlite").read_text() == "someone else's"
    assert os.listdir(made) == ["plan.sqlite"]
