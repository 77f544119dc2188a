"""Where a run's files live: snapshots, plans, outcomes and reports, as JSON Lines in object storage.

Large payloads travel between tasks as files; XCom carries only their paths and counts.
The base location is ``OKTA_SALESFORCE_STORAGE`` (any URL Airflow's ``ObjectStoragePath``
understands: ``file://``, ``s3://``, ``gs://`` ...) and defaults to a folder under
``AIRFLOW_HOME`` so that a single-machine install works with no set-up.

Run files hold Okta profiles, so on a local disk they are private: folders ``0700`` and files
``0600``, or ``0750``/``0640`` with ``OKTA_SALESFORCE_FILE_MODE=0640`` where a shared volume needs
group read (object stores have no modes: their bucket policy decides). Run folders older than
``OKTA_SALESFORCE_RETENTION_DAYS`` (default 30, ``0`` keeps them) are removed when a new run of
the same DAG starts, and by ``okta-salesforce cleanup`` (docs/security.md).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from collections.abc import Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
from airflow.sdk import ObjectStoragePath

STORAGE_ENV = "OKTA_SALESFORCE_STORAGE"
FILE_MODE_ENV = "OKTA_SALESFORCE_FILE_MODE"
RETENTION_ENV = "OKTA_SALESFORCE_RETENTION_DAYS"
DEFAULT_RETENTION_DAYS = 30.0
#: File mode -> folder mode of local run files.
FILE_MODES = {0o600: 0o700, 0o640: 0o750}

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
#: Names kept as they are: no leading dot (so never ``.`` or ``..``), no ``~``, at most 100 characters.
_SAFE = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,99}")
_LOCAL_PROTOCOLS = ("file", "local")


def safe_name(value: str) -> str:
    """A file-system and object-store safe, collision-free folder name for ``value`` (a DAG or run id).

    A value that is already safe is kept as it is. Any other (``:``/``+`` in run ids, ``.``, ``..``,
    a leading dot, non-ASCII, over 100 characters) becomes its cleaned form plus ``~`` and 16 hex
    digits of its SHA-256: kept names never hold ``~``, and two different values never share a
    changed name (unless SHA-256 collides), so no two run ids map to one folder.
    """
    if _SAFE.fullmatch(value):
        return value
    cleaned = _UNSAFE.sub("_", value).strip(".")[:80] or "_"
    return f"{cleaned}~{hashlib.sha256(value.encode('utf-8', 'surrogatepass')).hexdigest()[:16]}"


def file_mode() -> int:
    """The mode of local run files: ``0600``, or ``0640`` with ``$OKTA_SALESFORCE_FILE_MODE``."""
    text = os.environ.get(FILE_MODE_ENV, "").strip()
    if not text:
        return 0o600
    try:
        mode = int(text, 8)
    except ValueError:
        mode = -1
    if mode not in FILE_MODES:
        raise ValueError(f"{FILE_MODE_ENV} must be 0600 or 0640, not {text!r}")
    return mode


def retention_days() -> float:
    """Days run folders are kept (``$OKTA_SALESFORCE_RETENTION_DAYS``, default 30; 0 keeps them)."""
    text = os.environ.get(RETENTION_ENV, "").strip()
    try:
        days = float(text) if text else DEFAULT_RETENTION_DAYS
    except ValueError:
        raise ValueError(f"{RETENTION_ENV} must be a number of days, not {text!r}") from None
    if days < 0:
        raise ValueError(f"{RETENTION_ENV} must not be negative")
    return days


def _local(path: ObjectStoragePath) -> str | None:
    """The local path of ``path`` when it is on this machine's disk, else ``None``."""
    return path.path if path.protocol in _LOCAL_PROTOCOLS else None


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
    """The folder of one DAG run, named by :func:`safe_name`; private on a local disk.

    Creating a run's folder also removes that DAG's run folders past the retention
    (:func:`prune_runs`), at most once a day per DAG (a ``.pruned`` marker in the DAG's folder
    records when: listing every run folder of an object store on every run would be slow).
    """
    dag_folder = storage_base(base) / safe_name(dag_id)
    folder = dag_folder / safe_name(run_id)
    if folder.exists():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    local = _local(folder)
    if local is not None:
        mode = FILE_MODES[file_mode()]
        for directory in (local, os.path.dirname(local)):
            if os.stat(directory).st_uid == os.getuid():
                os.chmod(directory, mode)
    _prune_daily(dag_folder, base=base, dag_id=dag_id, keep=folder.name)
    return folder


class RunFiles:
    """The names of one task try's run files: every run file is named here, nowhere else.

    One folder per DAG run (:func:`run_folder`); a file a task writes again on a retry carries the
    try number, so a retry never overwrites what an earlier try published.

    :param ti: the task instance (``dag_id``, ``run_id``, ``task_id``, ``try_number``, ``map_index``).
    :param base: base URL or path of the run files (default :func:`storage_base`).
    """

    def __init__(self, ti: Any, *, base: str | None = None) -> None:
        self.folder = run_folder(ti.dag_id, ti.run_id, base=base)
        self.task_id: str = ti.task_id
        self.try_number: int = ti.try_number
        self.map_index: int = getattr(ti, "map_index", -1)

    def snapshot(self, mode: str) -> ObjectStoragePath:
        """The Okta snapshot of ``poll_okta`` (``mode``: full, incremental or users)."""
        mapped = f"_{self.map_index}" if self.map_index >= 0 else ""
        return self.folder / f"okta_{mode}_{self.task_id}{mapped}_try{self.try_number}.jsonl"

    def pending_cursor(self, snapshot: ObjectStoragePath) -> ObjectStoragePath:
        """The System Log cursor a snapshot left to commit later, beside it."""
        return snapshot.parent / f"okta_cursor_{snapshot.stem}.json"

    def plan(self) -> ObjectStoragePath:
        """Every action of the plan, skips and errors included (the report reads it)."""
        return self.folder / f"plan_try{self.try_number}.jsonl"

    def actions(self, kind: str) -> ObjectStoragePath:
        """The plan's actions of one write kind (the writer of that kind reads just these)."""
        return self.folder / f"actions_{kind}_try{self.try_number}.jsonl"

    def directory(self) -> ObjectStoragePath:
        """The Profile/UserRole/PermissionSet ids the plan resolved."""
        return self.folder / "directory.json"

    def deprovisions(self) -> ObjectStoragePath:
        """Who the plan deprovisions, with names (the approval lists it)."""
        return self.folder / f"deprovisions_try{self.try_number}.jsonl"

    def outcomes(self) -> ObjectStoragePath:
        """A writer task's per-record outcomes."""
        return self.folder / f"outcomes_{self.task_id}_try{self.try_number}.jsonl"

    def report(self) -> ObjectStoragePath:
        """The run's report (one per run: a retried report replaces it)."""
        return self.folder / "report.jsonl"


_PRUNE_MARKER = ".pruned"  # safe_name never starts a name with a dot: no run folder is called this


def _prune_daily(dag_folder: ObjectStoragePath, *, base: str | None, dag_id: str, keep: str) -> None:
    marker = dag_folder / _PRUNE_MARKER
    if retention_days() <= 0:
        return
    if marker.exists():
        last = _modified(marker.fs.info(marker.path))
        if last is not None and time.time() - last < 86400:
            return
    prune_runs(base=base, dag_id=dag_id, keep=keep)
    _write_chunks(marker, [str(int(time.time()))])


def _modified(info: dict[str, Any]) -> float | None:
    """A file's modification time (seconds) from an fsspec ``info`` dict, whatever the store."""
    for key in ("mtime", "LastModified", "last_modified", "updated", "modified"):
        value = info.get(key)
        if isinstance(value, (int, float)):
            return float(value)
        if isinstance(value, datetime):
            return value.timestamp()
        if isinstance(value, str):
            try:
                return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
            except ValueError:
                continue
    return None


def _newest_file(folder: ObjectStoragePath) -> float | None:
    times = [t for path in folder.rglob("*") if path.is_file() and (t := _modified(path.fs.info(path.path)))]
    return max(times) if times else None


def prune_runs(
    *,
    base: str | None = None,
    dag_id: str | None = None,
    days: float | None = None,
    keep: str | None = None,
    now: float | None = None,
    dry_run: bool = False,
) -> list[str]:
    """Remove run folders whose newest file is older than the retention; return what was removed.

    :param dag_id: only this DAG's runs (default: every DAG under the base).
    :param days: the retention (default :func:`retention_days`; ``0`` removes nothing).
    :param keep: a run folder name never removed (the run being created).
    :param dry_run: only list what would be removed.
    """
    days = retention_days() if days is None else days
    root = storage_base(base)
    if days <= 0 or not root.exists():
        return []
    cutoff = (time.time() if now is None else now) - days * 86400
    dag_folders = [root / safe_name(dag_id)] if dag_id else [p for p in root.iterdir() if p.is_dir()]
    removed = []
    for dag_folder in dag_folders:
        if not dag_folder.exists():
            continue
        for run in dag_folder.iterdir():
            if not run.is_dir() or run.name == keep:
                continue
            newest = _newest_file(run)
            if newest is not None and newest < cutoff:
                removed.append(str(run))
                if not dry_run:
                    run.rmdir(recursive=True)
    return removed


#: Characters gathered before one write: object-storage file objects do work per ``write()``
#: call (Airflow's wrapper tracks lineage on each), so many small writes are slow.
_CHUNK = 1 << 20
_ENCODER = json.JSONEncoder(ensure_ascii=False, sort_keys=True, default=str)
_ASCII_ENCODER = json.JSONEncoder(ensure_ascii=True, sort_keys=True, default=str)


#: orjson encodes and decodes run files 3 to 6 times faster than json (docs/benchmarks.md); types it
#: would render differently (datetimes, dataclasses, subclasses) go through ``str`` as with json.
_ORJSON_OPTIONS = (
    orjson.OPT_SORT_KEYS
    | orjson.OPT_NON_STR_KEYS
    | orjson.OPT_PASSTHROUGH_DATETIME
    | orjson.OPT_PASSTHROUGH_DATACLASS
    | orjson.OPT_PASSTHROUGH_SUBCLASS
)


def json_line(record: dict[str, Any]) -> bytes:
    """One JSON line, UTF-8; a record holding text UTF-8 cannot encode (a lone surrogate) is written escaped.

    The value reads back unchanged, so the bad character becomes that record's error downstream
    (the mapping refuses it) instead of failing the whole file.
    """
    try:
        return orjson.dumps(record, default=str, option=_ORJSON_LINE)
    except (TypeError, ValueError):  # a lone surrogate, an integer past 64 bits: json copes
        pass
    line = _ENCODER.encode(record)
    if not line.isascii():
        try:
            return (line + "\n").encode("utf-8")
        except UnicodeEncodeError:
            line = _ASCII_ENCODER.encode(record)
    return (line + "\n").encode("ascii")


_ORJSON_LINE = _ORJSON_OPTIONS | orjson.OPT_APPEND_NEWLINE


def _create_private(path: ObjectStoragePath) -> None:
    """Create (or truncate) a local file with the run-file mode before it is written; never via a symlink."""
    local = _local(path)
    if local is None:
        return
    mode = file_mode()
    fd = os.open(local, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0), mode)
    try:
        os.fchmod(fd, mode)
    finally:
        os.close(fd)


def _write_chunks(path: ObjectStoragePath, pieces: Iterable[str]) -> None:
    write_lines(path, (piece.encode("utf-8") for piece in pieces))


def write_jsonl(path: ObjectStoragePath, records: Iterable[dict[str, Any]]) -> int:
    """Write records as JSON Lines (UTF-8, non-ASCII kept readable); return how many were written.

    Lines are encoded to bytes (orjson) and written in binary chunks: no text layer re-encodes them.
    """
    return write_lines(path, map(json_line, records))


def write_lines(path: ObjectStoragePath, lines: Iterable[bytes]) -> int:
    """Write lines already encoded (:func:`json_line`) in binary chunks; return how many were written."""
    _create_private(path)
    count = 0
    with path.open("wb") as fh:
        buffer: list[bytes] = []
        size = 0
        for line in lines:
            buffer.append(line)
            size += len(line)
            count += 1
            if size >= _CHUNK:
                fh.write(b"".join(buffer))
                buffer.clear()
                size = 0
        if buffer:
            fh.write(b"".join(buffer))
    return count


def read_jsonl(path: ObjectStoragePath | str) -> Iterator[dict[str, Any]]:
    """Stream the records of a JSON Lines file, one dict at a time.

    Binary blocks split on newlines, decoded by orjson. orjson reads an integer past 64 bits as a float
    without a word (it does not raise), so a block with 20 digits in a row goes line by line through
    :func:`loads_line`, which gives such lines to ``json``: one ``translate`` and ``find`` per block decide.
    """
    source = path if isinstance(path, ObjectStoragePath) else ObjectStoragePath(path)
    with source.open("rb") as fh:
        rest = b""
        while block := fh.read(_CHUNK):
            if rest:
                block = rest + block
            end = block.rfind(b"\n") + 1
            rest = block[end:]
            if end:
                yield from _records(block[:end] if rest else block)
        if rest:
            yield from _records(rest)


#: Every digit becomes ``0`` (other bytes are kept): 20 ``0`` in a row are 20 digits in a row.
_DIGITS_TO_ZERO = bytes.maketrans(b"0123456789", b"0" * 10)
_TWENTY_DIGITS = b"0" * 20


def _records(block: bytes) -> Iterator[Any]:
    """The records of whole lines of a JSON Lines file (blank lines skipped)."""
    lines = block.split(b"\n")
    if block.translate(_DIGITS_TO_ZERO).find(_TWENTY_DIGITS) >= 0:
        for line in lines:
            if line.strip():
                yield loads_line(line)
        return
    for line in lines:
        if not line:
            continue
        try:
            record = orjson.loads(line)
        except ValueError:  # a blank line; an escaped lone surrogate, NaN, Infinity: json reads them
            if not line.strip():
                continue
            record = json.loads(line.decode("utf-8"))
        yield record


#: 20 digits in a row may be an integer past 64 bits, which orjson would read as a float.
_LONG_NUMBER = re.compile(rb"\d{20}")


def loads_line(line: bytes) -> Any:
    """One JSON line: orjson, or json (strict UTF-8) where orjson would lose or refuse a value."""
    if not _LONG_NUMBER.search(line):
        try:
            return orjson.loads(line)
        except ValueError:  # an escaped lone surrogate, NaN, Infinity: json reads them
            pass
    return json.loads(line.decode("utf-8"))


def write_json(path: ObjectStoragePath, document: Any) -> None:
    """Write one JSON document."""
    _write_chunks(path, _ENCODER.iterencode(document))


def read_json(path: ObjectStoragePath | str) -> Any:
    """Read one JSON document."""
    source = path if isinstance(path, ObjectStoragePath) else ObjectStoragePath(path)
    with source.open("r", encoding="utf-8") as fh:
        return json.load(fh)
