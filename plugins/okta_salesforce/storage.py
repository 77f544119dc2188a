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


#: Characters gathered before one write: object-storage file objects do work per ``write()``
#: call (Airflow's wrapper tracks lineage on each), so many small writes are slow.
_CHUNK = 1 << 20
_ENCODER = json.JSONEncoder(ensure_ascii=False, sort_keys=True, default=str)


def _write_chunks(path: ObjectStoragePath, pieces: Iterable[str]) -> None:
    with path.open("w", encoding="utf-8") as fh:
        buffer: list[str] = []
        size = 0
        for piece in pieces:
            buffer.append(piece)
            size += len(piece)
            if size >= _CHUNK:
                fh.write("".join(buffer))
                buffer.clear()
                size = 0
        if buffer:
            fh.write("".join(buffer))


def write_jsonl(path: ObjectStoragePath, records: Iterable[dict[str, Any]]) -> int:
    """Write records as JSON Lines (UTF-8, non-ASCII kept readable); return how many were written."""
    count = 0

    def lines() -> Iterator[str]:
        nonlocal count
        for record in records:
            yield _ENCODER.encode(record) + "\n"
            count += 1

    _write_chunks(path, lines())
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
    _write_chunks(path, _ENCODER.iterencode(document))


def read_json(path: ObjectStoragePath | str) -> Any:
    """Read one JSON document."""
    source = path if isinstance(path, ObjectStoragePath) else ObjectStoragePath(path)
    with source.open("r", encoding="utf-8") as fh:
        return json.load(fh)
