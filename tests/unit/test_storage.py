"""Run files: JSON Lines round trips, safe collision-free folder names, private modes, retention."""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

import pytest

from okta_salesforce.storage import (
    RunFiles,
    prune_runs,
    read_json,
    read_jsonl,
    run_folder,
    safe_name,
    storage_base,
    write_json,
    write_jsonl,
)

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def base(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.setenv("OKTA_SALESFORCE_STORAGE", tmp_path.as_uri())
    monkeypatch.delenv("OKTA_SALESFORCE_FILE_MODE", raising=False)
    monkeypatch.delenv("OKTA_SALESFORCE_RETENTION_DAYS", raising=False)
    return tmp_path


def test_default_base_is_under_airflow_home(monkeypatch, tmp_path) -> None:
    monkeypatch.delenv("OKTA_SALESFORCE_STORAGE", raising=False)
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path))
    assert str(storage_base()).endswith(f"{tmp_path}/okta_salesforce")


def test_run_folder_is_path_safe_and_jsonl_round_trips(base: Path) -> None:
    folder = run_folder("okta_salesforce_sync", "scheduled__2026-11-28T10:00:00+00:00")
    assert ":" not in folder.name
    assert "+" not in folder.name
    records = [{"login": "山田.太郎@acme.example.com", "n": 1}, {"login": "o'brien@acme.example.com", "n": 2}]
    path = folder / "snapshot.jsonl"
    assert write_jsonl(path, records) == 2
    assert list(read_jsonl(str(path))) == records
    assert "山田" in (base / "okta_salesforce_sync" / folder.name / "snapshot.jsonl").read_text("utf-8")
    write_json(folder / "plan.json", {"actions": []})
    assert read_json(folder / "plan.json") == {"actions": []}


# -- folder names ------------------------------------------------------------------------------
RUN_IDS = [
    ".",
    "..",
    "...",
    ".hidden",
    "a:b",
    "a+b",
    "a_b",
    "a/b",
    "a\\b",
    "manual__2026-11-28T10:00:00+00:00",
    "manual__2026-11-28T10_00_00_00_00",
    "é",
    "e",
    "x" * 100,
    "x" * 101,
    "~",
    "_",
]


def test_run_ids_get_distinct_safe_folders(base: Path) -> None:
    names = [safe_name(run_id) for run_id in RUN_IDS]
    assert len(set(names)) == len(RUN_IDS), dict(zip(RUN_IDS, names, strict=True))
    for name in names:
        assert name not in (".", "..")
        assert not name.startswith(".")
        assert "/" not in name
        assert "\\" not in name
    folders = {str(run_folder("dag", run_id)) for run_id in RUN_IDS}
    assert len(folders) == len(RUN_IDS)
    assert {p.parent for p in (base / "dag").iterdir()} == {base / "dag"}  # nothing escaped the DAG folder
    assert safe_name("scheduled__2026-11-28") == "scheduled__2026-11-28"  # safe ids stay readable


# -- modes -------------------------------------------------------------------------------------
def _mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_run_files_are_private(base: Path) -> None:
    old = os.umask(0o022)
    try:
        folder = run_folder("dag", "run")
        write_jsonl(folder / "snapshot.jsonl", [{"login": "a"}])
        write_json(folder / "plan.json", {})
    finally:
        os.umask(old)
    assert _mode(base / "dag" / "run") == 0o700
    assert _mode(base / "dag") == 0o700
    assert _mode(base / "dag" / "run" / "snapshot.jsonl") == 0o600
    assert _mode(base / "dag" / "run" / "plan.json") == 0o600


def test_group_read_option(base: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OKTA_SALESFORCE_FILE_MODE", "0640")
    folder = run_folder("dag", "run")
    write_jsonl(folder / "report.jsonl", [{"login": "a"}])
    assert _mode(base / "dag" / "run") == 0o750
    assert _mode(base / "dag" / "run" / "report.jsonl") == 0o640
    monkeypatch.setenv("OKTA_SALESFORCE_FILE_MODE", "0666")
    with pytest.raises(ValueError, match="0600 or 0640"):
        write_jsonl(folder / "x.jsonl", [])


def test_an_existing_readable_file_is_tightened(base: Path) -> None:
    folder = run_folder("dag", "run")
    target = base / "dag" / "run" / "snapshot.jsonl"
    target.write_text("old")
    os.chmod(target, 0o644)
    write_jsonl(folder / "snapshot.jsonl", [{"login": "a"}])
    assert _mode(target) == 0o600


# -- retention ---------------------------------------------------------------------------------
def _age(folder: Path, days: float) -> None:
    past = time.time() - days * 86400
    for path in folder.rglob("*"):
        os.utime(path, (past, past))


def _age_file(path: Path, days: float) -> None:
    past = time.time() - days * 86400
    os.utime(path, (past, past))


def test_retention_removes_old_runs_when_a_new_run_starts(base: Path, monkeypatch) -> None:
    write_jsonl(run_folder("dag", "old") / "snapshot.jsonl", [{"login": "a"}])
    write_jsonl(run_folder("dag", "recent") / "snapshot.jsonl", [{"login": "a"}])
    write_jsonl(run_folder("other_dag", "old") / "snapshot.jsonl", [{"login": "a"}])
    _age(base / "dag" / "old", 31)
    _age(base / "dag" / "recent", 29)
    _age(base / "other_dag" / "old", 31)
    _age_file(base / "dag" / ".pruned", 2)  # the last pruning of this DAG was two days ago
    run_folder("dag", "new")
    assert sorted(p.name for p in (base / "dag").iterdir() if p.is_dir()) == ["new", "recent"]
    _age(base / "dag" / "recent", 31)
    run_folder("dag", "newer")  # pruned less than a day ago: not listed again
    assert (base / "dag" / "recent").exists()
    _age_file(base / "dag" / ".pruned", 2)
    run_folder("dag", "newest")
    assert not (base / "dag" / "recent").exists()
    assert (base / "other_dag" / "old").exists()  # another DAG's runs wait for their own new run
    monkeypatch.setenv("OKTA_SALESFORCE_RETENTION_DAYS", "0")
    assert prune_runs(days=None) == []  # 0 keeps everything
    assert prune_runs(days=30, dry_run=True) == [(base / "other_dag" / "old").as_uri()]
    assert (base / "other_dag" / "old").exists()
    assert prune_runs(days=30) == [(base / "other_dag" / "old").as_uri()]
    assert not (base / "other_dag" / "old").exists()


def test_cleanup_command(base: Path, capsys) -> None:
    from okta_salesforce.cli import main

    write_jsonl(run_folder("dag", "old") / "snapshot.jsonl", [{"login": "a"}])
    _age(base / "dag" / "old", 10)
    assert main(["cleanup", "--days", "7", "--dry-run"]) == 0
    assert "would remove" in capsys.readouterr().out
    assert (base / "dag" / "old").exists()
    assert main(["cleanup", "--days", "7"]) == 0
    assert not (base / "dag" / "old").exists()


# -- a bad character is a record's problem -------------------------------------------------------
def test_a_lone_surrogate_fails_only_its_record(base: Path) -> None:
    from okta_salesforce.sync.config import load_config
    from okta_salesforce.sync.mapping import Mapper
    from okta_salesforce.sync.models import OktaAssignment

    def assignment(login: str, title: str) -> OktaAssignment:
        profile = {"login": login, "email": login, "firstName": "A", "lastName": "B", "title": title}
        return OktaAssignment(
            okta_user_id=f"00u{login[:3]}",
            login=login,
            app_username=login,
            assignment_status="ACTIVE",
            scope="USER",
            user_status="ACTIVE",
            profile=profile,
        )

    records = [
        assignment("ann@x.example.com", "Lead"),
        assignment("bob@x.example.com", "Lead \udc80"),
        assignment("cy@x.example.com", "山田"),
    ]
    path = run_folder("dag", "run") / "snapshot.jsonl"
    assert write_jsonl(path, (r.to_dict() for r in records)) == 3  # the snapshot is written whole
    back = [OktaAssignment.from_dict(row) for row in read_jsonl(path)]
    assert back == records
    config = load_config(REPO / "include" / "okta_salesforce.yaml")
    mapper = Mapper(config)
    errors = {r.login: [(e.field, e.message) for e in mapper.map(r).errors] for r in back}
    assert errors["ann@x.example.com"] == []
    assert errors["cy@x.example.com"] == []
    assert errors["bob@x.example.com"] == [
        ("Title", "contains an invalid character (a lone UTF-16 surrogate)")
    ]


def test_values_the_fast_codec_cannot_hold_round_trip_exactly(base: Path) -> None:
    """orjson writes and reads run files; what it cannot hold exactly (a lone surrogate, an integer
    past 64 bits) goes through json, and other values keep json's rendering (datetimes via str)."""
    from datetime import UTC, datetime

    path = run_folder("dag", "run") / "values.jsonl"
    records = [
        {"big": 2**70, "negative": -(2**63), "text": "Zoë ✓", "nested": {"b": [1.5, True, None]}},
        {"id": "12345678901234567890123"},
        {"bad": "x\ud800y"},
    ]
    write_jsonl(path, records)
    assert list(read_jsonl(path)) == records
    write_jsonl(path, [{"at": datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)}])
    assert list(read_jsonl(path)) == [{"at": "2026-01-02 03:04:05+00:00"}]


def test_reading_in_binary_blocks_splits_lines_and_finds_long_integers_exactly(
    base: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Files are read in binary blocks; a line cut by a block's end, blank lines and an integer past
    64 bits in any block (orjson would read it as a float) all come back as written; a cut last line
    fails after the lines before it."""
    import okta_salesforce.storage as storage

    monkeypatch.setattr(storage, "_CHUNK", 64)
    path = run_folder("dag", "run") / "blocks.jsonl"
    records = [{"n": i, "login": f"user{i}@x.example.com"} for i in range(40)]
    records[7]["big"] = 2**70
    records[31]["big"] = -(2**66)
    records[32]["id"] = "123456789012345678901234567890"
    write_jsonl(path, records)
    raw = path.read_bytes()
    path.write_bytes(raw.replace(b"\n", b"\n\n  \n", 3))
    back = list(read_jsonl(path))
    assert back == records
    assert isinstance(back[7]["big"], int)
    assert isinstance(back[31]["big"], int)
    path.write_bytes(raw + b'{"n": 40, "login": "cut')
    seen = []
    with pytest.raises(ValueError):
        seen.extend(read_jsonl(path))
    assert seen == records


def test_run_files_are_named_in_one_place_per_run_and_try(base: Path) -> None:
    from types import SimpleNamespace

    ti = SimpleNamespace(dag_id="okta_salesforce_sync", run_id="manual__1", task_id="poll_okta", try_number=2)
    files = RunFiles(ti)
    folder = base / "okta_salesforce_sync" / "manual__1"
    snapshot = files.snapshot("users")
    assert snapshot.path == str(folder / "okta_users_poll_okta_try2.jsonl")
    assert files.pending_cursor(snapshot).name == "okta_cursor_okta_users_poll_okta_try2.json"
    assert files.plan().name == "plan_try2.jsonl"
    assert files.actions("create").name == "actions_create_try2.jsonl"
    assert files.deprovisions().name == "deprovisions_try2.jsonl"
    assert files.outcomes().name == "outcomes_poll_okta_try2.jsonl"
    assert (files.directory().name, files.report().name) == ("directory.json", "report.jsonl")
    mapped = RunFiles(SimpleNamespace(**{**vars(ti), "map_index": 3}))
    assert mapped.snapshot("full").name == "okta_full_poll_okta_3_try2.jsonl"
