"""Where a run's files live: snapshots, plans, outcomes and reports, as JSON Lines in object storage.

Large payloads travel between tasks as files; XCom carries only their paths and counts.
The base location is ``OKTA_SALESFORCE_STORAGE`` (any URL Airflow's ``ObjectStoragePath``
understands: ``file://``, ``s3://``, ``gs://`` ...) and defaults to a folder under
``AIRFLOW_HOME`` so that a single-machine install works with no set-up.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from airflow.sdk import ObjectStoragePath

STORAGE_ENV = "OKTA_SALESFORCE_STORAGE"

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def storage_base(base: str | None = None) -> ObjectStoragePath:
    """The root folder for run files.

    ``base`` if given, else ``$OKTA_SALESFORCE_STORAGE``, else ``$AIRFLOW_HOME/okta_salesforce``.
    """
    url = base or os.environ.get(STORAGE_ENV)
    if not url:
        home = Path(os.environ.get("AIRFLOW_HOME", Path.home() / "airflow"))
        url = (home / "okta_salesforce").resolve().as_uri()
    return ObjectStoragePath(url)


def run_folder(dag_id: str, run_id: str, *, base: str | None = None) -> ObjectStoragePath:
    """The folder of one DAG run (run ids hold ``:`` and ``+``; they are made path-safe)."""
    folder = storage_base(base) / _UNSAFE.sub("_", dag_id) / _UNSAFE.sub("_", run_id)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def write_jsonl(path: ObjectStoragePath, records: Iterable[dict[str, Any]]) -> int:
    """Write records as JSON Lines (UTF-8, non-ASCII kept readable); return how many were written."""
    count = 0
    with path.open("w", encoding="utf-8") as fh:
        for record in records:
            fh.write(json.dumps(record, ensure_ascii=False, sort_keys=True, default=str))
            fh.write("\n")
            count += 1
    return count


def read_jsonl(path: ObjectStoragePath | str) -> Iterator[dict[str, Any]]:
    """Stream the records of a JSON Lines file, one dict at a time."""
    source = path if isinstance(path, ObjectStoragePath) else ObjectStoragePath(path)
    with source.open("r", encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                yield json.loads(line)


def write_json(path: ObjectStoragePath, document: Any) -> None:
    """Write one JSON document."""
    with path.open("w", encoding="utf-8") as fh:
        json.dump(document, fh, ensure_ascii=False, sort_keys=True, default=str)


def read_json(path: ObjectStoragePath | str) -> Any:
    """Read one JSON document."""
    source = path if isinstance(path, ObjectStoragePath) else ObjectStoragePath(path)
    with source.open("r", encoding="utf-8") as fh:
        return json.load(fh)
