"""The secrets canary's scanner on planted files (fast; no deployment needed)."""

from __future__ import annotations

import json
from pathlib import Path

from e2e_harness import scan_texts, scan_tree, secret_fragments

PEM = (
    "-----BEGIN PRIVATE KEY-----\n"
    "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n"
    "BKcwggSjAgEAAoIBAQC7\n"
    "-----END PRIVATE KEY-----\n"
)


def test_scanner_reports_a_planted_secret_by_name_and_place(tmp_path: Path) -> None:
    needles = secret_fragments("api token", "00planted-token-0123456789")
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "clean.log").write_text("token=***\n")
    (tmp_path / "logs" / "leak.log").write_text("Authorization: SSWS 00planted-token-0123456789\n")
    findings = scan_tree(tmp_path, needles)
    assert [str(f) for f in findings] == ["api token in logs/leak.log"]
    assert "0123456789" not in str(findings[0])


def test_private_key_lines_are_found_even_json_escaped() -> None:
    needles = secret_fragments("jwt key", PEM)
    assert set(needles) == {"jwt key[line 1]", "jwt key[line 2]"}
    leaked_in_json = json.dumps({"private_key": PEM})
    findings = scan_texts([("xcom", leaked_in_json)], needles)
    assert {f.secret_name for f in findings} == set(needles)


def test_clean_texts_give_no_findings() -> None:
    needles = secret_fragments("secret", "sandbox-consumer-secret-000")
    assert scan_texts([("api", '{"password": "***"}'), ("log", "nothing here")], needles) == []
