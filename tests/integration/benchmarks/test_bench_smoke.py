"""Smoke run of the benchmark code: a tiny company, no latency; tables and sane counts, no timings."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def document() -> dict:
    import sys

    sys.path.insert(0, str(REPO))
    from benchmarks.runner import Settings, run_all

    settings = Settings(
        sizes=(200,),
        latency=0.0,
        baseline_max=200,
        baseline_concurrency=4,
        parse_repetitions=1,
        dags=[REPO / "dags" / "okta_salesforce_sync.py"],
        warm_up=False,
    )
    return run_all(settings, log=lambda _: None)


def test_both_approaches_reconcile_and_ours_makes_far_fewer_calls(document: dict) -> None:
    ours, base = document["reconcile"]
    assert (ours["approach"], base["approach"]) == ("ours", "baseline")
    assert ours["report_failed"] == 0
    assert ours["changes"] > 0
    assert ours["calls"]["okta:apps.users.list"] == 1
    assert ours["floor"] <= ours["total"] < base["total"]
    assert base["total"] >= ours["assigned"]  # one search per assignment at least
    assert base["outcomes"]["failed"] == 0
    assert base["baseline_over_ours"] == ours["baseline_over_ours"] > 1
    assert ours["peak_rss_mb"] > 0
    assert ours["first_call_seconds"] is not None


def test_parse_rows_compare_to_the_trivial_dag(document: dict) -> None:
    trivial, sync = document["parse"]
    assert trivial["ratio"] == 1.0
    assert sync["file"] == "dags/okta_salesforce_sync.py"
    assert sync["dags"] == 1
    assert sync["errors"] == 0


def test_tables_render_and_the_document_is_json(document: dict) -> None:
    from benchmarks.report import render_markdown, render_text

    text = render_text(document)
    assert "ours/floor" in text
    assert "baseline/ours" in text
    assert "Targets:" in text
    assert "| N | approach |" in render_markdown(document)
    assert json.loads(json.dumps(document)) == document
