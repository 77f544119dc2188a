"""Run files: JSON Lines round trips through ObjectStoragePath."""

from __future__ import annotations

from okta_salesforce.storage import read_json, read_jsonl, run_folder, storage_base, write_json, write_jsonl


def test_default_base_is_under_airflow_home(monkeypatch, tmp_path) -> None:
    monkeypatch.delenv("OKTA_SALESFORCE_STORAGE", raising=False)
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path))
    assert str(storage_base()).endswith(f"{tmp_path}/okta_salesforce")


def test_run_folder_is_path_safe_and_jsonl_round_trips(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("OKTA_SALESFORCE_STORAGE", tmp_path.as_uri())
    folder = run_folder("okta_salesforce_sync", "scheduled__2026-11-28T10:00:00+00:00")
    assert ":" not in folder.name
    assert "+" not in folder.name
    records = [{"login": "山田.太郎@acme.example.com", "n": 1}, {"login": "o'brien@acme.example.com", "n": 2}]
    path = folder / "snapshot.jsonl"
    assert write_jsonl(path, records) == 2
    assert list(read_jsonl(str(path))) == records
    assert "山田" in (tmp_path / "okta_salesforce_sync" / folder.name / "snapshot.jsonl").read_text("utf-8")
    write_json(folder / "plan.json", {"actions": []})
    assert read_json(folder / "plan.json") == {"actions": []}
