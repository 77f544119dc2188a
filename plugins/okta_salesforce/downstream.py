"""Reading run reports downstream: which reports a run's triggering Asset events name, read safely.

A DAG scheduled on the report Asset (``okta_salesforce.pipeline.REPORT_ASSET``) gets every event
queued since its previous run in ``triggering_asset_events``: with ``max_active_runs=1``, events that
arrive while a run works are delivered together to the next one. :func:`reports_from_events` turns
them into one :class:`Report` per (DAG id, run id, target), oldest first, the newest event winning
when a report was published twice (a cleared report task). :meth:`Report.lines` reads a report
only from below the package's storage root (:func:`okta_salesforce.storage.storage_base`): an
Asset event's ``extra`` or a trigger param is not trusted to name any file or URL a worker can reach.

Example, a data engineer's own task::

    @task
    def failed_users(triggering_asset_events=None) -> list[str]:
        return [
            line["login"]
            for report in reports_from_events(triggering_asset_events)
            for line in report.lines()
            if line["outcome"] == "failed"
        ]
"""

from __future__ import annotations

import datetime as dt
import os
import posixpath
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow.sdk import ObjectStoragePath

#: The ``target`` of a single-target config (reports written before targets existed count as it).
DEFAULT_TARGET = "default"

#: The identity of a report: (DAG id, run id, target).
ReportKey = tuple[str, str, str]

_LOCAL = ("", "file", "local")
_EPOCH = dt.datetime.min.replace(tzinfo=dt.UTC)


class ReportLocationError(ValueError):
    """A report location outside the storage root (or not a report at all)."""


class ReportContentError(ValueError):
    """A report line that does not belong to the report it was read from."""


@dataclass(frozen=True)
class Report:
    """One published run report.

    :param location: where the report file is (``file://...``, ``s3://...``), below the storage root.
    :param dag_id: the DAG that published it (``None``: read it from the report's lines).
    :param run_id: the run that published it (``None``: read it from the report's lines).
    :param target: the config target the run synchronised.
    """

    location: str
    dag_id: str | None = None
    run_id: str | None = None
    target: str | None = None

    @property
    def key(self) -> ReportKey | None:
        """(DAG id, run id, target) when the event named them all."""
        if self.dag_id and self.run_id:
            return (self.dag_id, self.run_id, self.target or DEFAULT_TARGET)
        return None

    def path(self, *, base: str | None = None) -> ObjectStoragePath:
        """The report file, checked to be below the storage root."""
        return report_path(self.location, base=base)

    def lines(self, *, base: str | None = None) -> Iterator[dict[str, Any]]:
        """The report's lines (``target`` filled in for older reports), each checked to belong to it.

        :raises ReportLocationError: the location is outside the storage root.
        :raises ReportContentError: a line names another DAG, run or target than the report.
        """
        from okta_salesforce.storage import read_jsonl

        key = self.key
        for number, line in enumerate(read_jsonl(self.path(base=base)), start=1):
            line.setdefault("target", DEFAULT_TARGET)
            for field in ("dag_id", "run_id", "target"):
                if not isinstance(line.get(field), str) or not line[field]:
                    raise ReportContentError(f"{self.location} line {number}: {field} is missing")
            line_key = (line["dag_id"], line["run_id"], line["target"])
            if key is None:
                key = line_key
            for field, expected, found in zip(("dag_id", "run_id", "target"), key, line_key, strict=True):
                if found != expected:
                    raise ReportContentError(
                        f"{self.location} line {number}: {field} is {found!r}, the report is {expected!r}"
                    )
            yield line


def reports_from_events(events: Mapping[Any, Iterable[Any]] | None) -> list[Report]:
    """Every report the triggering Asset events name, once per (DAG id, run id, target), oldest first.

    Events without ``extra["report"]`` are ignored. The publishing DAG and run come from the
    event's source (``source_dag_id``/``source_run_id``), else from ``extra`` (``dag_id``,
    ``run_id``: an event created through the REST API to replay a report); ``target`` from
    ``extra["target"]`` (default ``"default"``). When two events name the same report, the newest wins.

    :param events: the ``triggering_asset_events`` of the task's context.
    """
    seen: dict[int, Any] = {}
    for batch in (events or {}).values():
        for event in batch:
            seen.setdefault(id(event), event)  # an event reached through an alias is listed twice
    ordered = sorted(seen.values(), key=lambda event: getattr(event, "timestamp", None) or _EPOCH)
    by_key: dict[Any, Report] = {}
    for event in ordered:
        extra = getattr(event, "extra", None) or {}
        location = extra.get("report")
        if not location:
            continue
        report = Report(
            location=str(location),
            dag_id=getattr(event, "source_dag_id", None) or extra.get("dag_id"),
            run_id=getattr(event, "source_run_id", None) or extra.get("run_id"),
            target=extra.get("target") or DEFAULT_TARGET,
        )
        key = report.key or report.location
        by_key.pop(key, None)  # re-insert: the newest event's position and location
        by_key[key] = report
    return list(by_key.values())


def report_path(location: str, *, base: str | None = None) -> ObjectStoragePath:
    """``location`` as a path, if it is below the storage root; else :class:`ReportLocationError`.

    Local paths are compared after resolving ``..`` and symbolic links; object-store URLs must
    have the root's scheme, connection and bucket, and no ``..`` segment.

    :param base: the storage root (default: ``OKTA_SALESFORCE_STORAGE``, as the sync DAGs write).
    """
    from airflow.sdk import ObjectStoragePath

    from okta_salesforce.storage import storage_base
    from okta_salesforce.version_compat import storage_conn_id

    root = storage_base(base)
    try:
        path = ObjectStoragePath(location)
    except (ValueError, TypeError, ImportError) as err:  # unknown scheme, or its filesystem not installed
        raise ReportLocationError(f"report: {location!r} is not a readable location ({err})") from None
    if path.protocol in _LOCAL and root.protocol in _LOCAL:
        inside = _inside(os.path.realpath(path.path), os.path.realpath(root.path), os.sep)
    else:
        inside = (
            path.protocol == root.protocol
            and storage_conn_id(path) == storage_conn_id(root)
            and ".." not in path.path.split("/")
            and _inside(posixpath.normpath(path.path), posixpath.normpath(root.path), "/")
        )
    if not inside:
        raise ReportLocationError(
            f"report: {location!r} is outside the okta-salesforce storage root {str(root)!r} "
            "(OKTA_SALESFORCE_STORAGE); only reports the sync DAGs wrote can be loaded"
        )
    return path


def _inside(path: str, root: str, sep: str) -> bool:
    return path.startswith(root.rstrip(sep) + sep)
