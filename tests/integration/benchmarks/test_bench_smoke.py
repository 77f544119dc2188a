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
    # One page for poll_okta; the deprovisioning re-check asks the System Log what changed since
    # the snapshot (nothing, in the benchmark: one empty page), and reads no user one by one.
    assert ours["calls"]["okta:apps.users.list"] == 1
    assert ours["calls"]["okta:logs.list"] == 1
    assert "okta:users.get" not in ours["calls"]
    assert "okta:apps.users.get" not in ours["calls"]
    assert ours["floor"] <= ours["total"] < base["total"]
    # The template per assigned user: read the Okta user, search Salesforce, then create or activate.
    assert base["calls"]["okta:users.get"] == base["assigned"]
    assert base["calls"]["salesforce:data.query"] >= base["assigned"]
    assert base["outcomes"]["failed"] == 0
    assert base["outcomes"]["created"] > 0
    assert base["outcomes"]["activated"] > 0
    assert base["baseline_over_ours"] == ours["baseline_over_ours"] > 1
    assert ours["peak_rss_mb"] > 0
    assert ours["first_call_seconds"] is not None


def test_tasks_share_one_access_token_through_the_store(document: dict) -> None:
    ours, _ = document["reconcile"]
    assert ours["calls"]["salesforce:oauth.token"] == 1


def test_parse_rows_compare_to_a_same_shape_dag(document: dict) -> None:
    trivial, sync = document["parse"]
    assert trivial["x_trivial"] == 1.0
    assert sync["file"] == "dags/okta_salesforce_sync.py"
    assert sync["dags"] == 1
    assert sync["errors"] == 0
    assert sync["shape_median_ms"] > 0
    assert sync["ratio"] > 0
    assert sync["processed_median_ms"] >= sync["median_ms"]  # parse, then serialize in the same process
    assert sync["processed_ratio"] > 0


def test_same_shape_dag_has_the_ids_edges_and_params(tmp_path: Path) -> None:
    import airflow.sdk  # noqa: F401
    from benchmarks.parse import shape_file, shape_of

    shapes = shape_of(str(REPO / "dags" / "okta_salesforce_sync.py"))
    reference = shape_file(REPO / "dags" / "okta_salesforce_sync.py", shapes, tmp_path)
    (mirrored,) = shape_of(str(reference))
    assert mirrored == shapes[0]
    assert "EmptyOperator" in reference.read_text()


def test_tables_render_and_the_document_is_json(document: dict) -> None:
    from benchmarks.report import render_markdown, render_text

    text = render_text(document)
    assert "ours/floor" in text
    assert "baseline/ours" in text
    assert "Issue 16's figures" in text
    assert "x same shape" in text
    assert "Machine: " in text
    assert "load average" in text
    assert "| N | approach |" in render_markdown(document)
    assert json.loads(json.dumps(document)) == document
