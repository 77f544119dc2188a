"""Reading reports downstream: the triggering events' reports, the storage root, the docs' own task."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from okta_salesforce.downstream import (
    Report,
    ReportContentError,
    ReportLocationError,
    report_path,
    reports_from_events,
)
from okta_salesforce.storage import run_folder, write_jsonl

REPO = Path(__file__).resolve().parents[2]


def test_every_report_once_per_dag_run_and_target_oldest_first_newest_event_wins(report_events) -> None:
    event = report_events.event
    events = report_events.triggering(
        event("file:///s/b2", "okta_salesforce_sync", "r2", minute=2),
        event("file:///s/a", "okta_salesforce_reconcile", "r1", minute=1),
        event("file:///s/b3", "okta_salesforce_sync", "r2", minute=4),  # the report task ran again
        event(
            "file:///s/c", "okta_salesforce_sync", "r1", minute=3, alias="reports"
        ),  # also reached through an alias
        event(None, "okta_salesforce_sync", "r9", minute=5),  # no report: not ours
        event(
            "file:///s/e",
            None,
            None,
            minute=6,
            dag_id="okta_salesforce_sync",
            run_id="manual__x",
            target="emea",
        ),
    )

    reports = reports_from_events(events)

    assert [(r.location, r.key) for r in reports] == [
        ("file:///s/a", ("okta_salesforce_reconcile", "r1", "default")),
        ("file:///s/c", ("okta_salesforce_sync", "r1", "default")),
        ("file:///s/b3", ("okta_salesforce_sync", "r2", "default")),
        ("file:///s/e", ("okta_salesforce_sync", "manual__x", "emea")),
    ]
    assert reports_from_events(None) == []
    assert reports_from_events(report_events.triggering()) == []


def test_report_paths_must_be_below_the_storage_root(storage: Path, tmp_path: Path) -> None:
    inside = storage / "okta_salesforce_sync" / "r1" / "report.jsonl"
    assert report_path(inside.as_uri()).path == str(inside)
    assert report_path(str(inside)).path == str(inside)
    outside = [
        "file:///etc/passwd",
        "/etc/passwd",
        (storage / ".." / "elsewhere" / "report.jsonl").as_uri(),
        f"{storage}/../elsewhere/report.jsonl",
        storage.as_uri(),  # the root itself is no report
        f"{storage}-sibling/report.jsonl",
        "s3://bucket/okta_salesforce/report.jsonl",
        "http://169.254.169.254/latest/meta-data",
        "nosuch://x/report.jsonl",
    ]
    for location in outside:
        with pytest.raises(ReportLocationError, match=r"storage root|not a readable location"):
            report_path(location)


def test_a_symlink_out_of_the_storage_root_is_refused(storage: Path, tmp_path: Path) -> None:
    secret = tmp_path / "secret.jsonl"
    secret.write_text('{"login": "x"}\n')
    (storage / "link.jsonl").symlink_to(secret)
    with pytest.raises(ReportLocationError):
        report_path((storage / "link.jsonl").as_uri())


def test_object_store_roots_compare_scheme_connection_bucket_and_prefix() -> None:
    base = "s3://aws_reports@bucket/okta_salesforce"
    assert report_path("s3://aws_reports@bucket/okta_salesforce/sync/r1/report.jsonl", base=base)
    for location in (
        "s3://bucket/okta_salesforce/sync/r1/report.jsonl",  # another connection
        "s3://aws_reports@other/okta_salesforce/r/report.jsonl",
        "s3://aws_reports@bucket/okta_salesforce/../private/report.jsonl",
        "gs://bucket/okta_salesforce/r/report.jsonl",
    ):
        with pytest.raises(ReportLocationError):
            report_path(location, base=base)


def test_lines_default_the_target_and_refuse_lines_of_another_run(storage: Path) -> None:
    path = run_folder("okta_salesforce_sync", "r1") / "report.jsonl"
    write_jsonl(path, [{"dag_id": "okta_salesforce_sync", "run_id": "r1", "login": "ada"}])
    assert [line["target"] for line in Report(str(path)).lines()] == ["default"]
    assert [line["login"] for line in Report(str(path), "okta_salesforce_sync", "r1").lines()] == ["ada"]

    with pytest.raises(ReportContentError, match="line 1: dag_id is 'okta_salesforce_sync'"):
        list(Report(str(path), "okta_salesforce_reconcile", "r1").lines())
    write_jsonl(
        path,
        [
            {"dag_id": "okta_salesforce_sync", "run_id": "r1", "login": "ada"},
            {"dag_id": "okta_salesforce_sync", "run_id": "r2", "login": "bob"},
        ],
    )
    with pytest.raises(ReportContentError, match="line 2: run_id is 'r2', the report is 'r1'"):
        list(Report(str(path)).lines())
    write_jsonl(path, [{"dag_id": "okta_salesforce_sync", "login": "ada"}])
    with pytest.raises(ReportContentError, match="line 1: run_id is missing"):
        list(Report(str(path)).lines())


def test_the_docs_own_task_reads_every_triggering_report(storage: Path, report_events) -> None:
    """The ``@task`` of docs/downstream.md, run as written, against two reports of one run."""
    page = (REPO / "docs" / "downstream.md").read_text(encoding="utf-8")
    (code,) = [
        block for block in re.findall(r"```python\n(.*?)```", page, re.S) if "def failed_users" in block
    ]
    namespace: dict[str, Any] = {}
    exec(compile(code, "docs/downstream.md", "exec"), namespace)
    dag = namespace["okta_salesforce_failed_users"]()
    task = dag.get_task("failed_users")

    reports = []
    for run_id, outcomes in (("r1", ["failed", "success"]), ("r2", ["failed"])):
        path = run_folder("okta_salesforce_sync", run_id) / "report.jsonl"
        write_jsonl(
            path,
            [
                {
                    "dag_id": "okta_salesforce_sync",
                    "run_id": run_id,
                    "target": "default",
                    "login": f"user{n}@{run_id}",
                    "action": "create",
                    "outcome": outcome,
                    "error_code": "LICENSE_LIMIT_EXCEEDED" if outcome == "failed" else None,
                }
                for n, outcome in enumerate(outcomes)
            ],
        )
        reports.append(report_events.event(str(path), "okta_salesforce_sync", run_id, minute=len(reports)))

    failed = task.python_callable(triggering_asset_events=report_events.triggering(*reports))

    assert failed == [
        {
            "run": "okta_salesforce_sync r1",
            "login": "user0@r1",
            "action": "create",
            "error_code": "LICENSE_LIMIT_EXCEEDED",
        },
        {
            "run": "okta_salesforce_sync r2",
            "login": "user0@r2",
            "action": "create",
            "error_code": "LICENSE_LIMIT_EXCEEDED",
        },
    ]
