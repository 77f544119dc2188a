"""How runs behave when things fail: writer retries, escrow and quarantine, Airflow retries, notifications.

The ``writer``, ``failures``, ``tasks`` and ``notifications`` sections of the sync config, as frozen
dataclasses, and their readers (called by :mod:`okta_salesforce.sync.config` with its parser, so
problems are reported with the key's path like every other section). ``docs/configuration.md``
documents each key.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

#: The chat formats of the webhook notifier (mirrors ``okta_salesforce.notifiers.WEBHOOK_FORMATS``,
#: which imports Airflow; the sync core does not).
WEBHOOK_FORMATS = ("slack", "teams", "google_chat", "discord", "json")


@dataclass(frozen=True)
class WriterConfig:
    """How the writer talks to Salesforce.

    :param batch_size: records per sObject Collections call (at most 200).
    :param retries: re-sends of a request that failed transiently (dropped connection, timeout, 5xx).
    :param retry_backoff_seconds: wait before the first re-send; doubled for each further one.
    :param max_retry_backoff_seconds: the longest wait between two attempts.
    :param timeout_seconds: how long one write request may take before it counts as failed.
    """

    batch_size: int = 200
    retries: int = 4
    retry_backoff_seconds: float = 1.0
    max_retry_backoff_seconds: float = 30.0
    timeout_seconds: float = 120.0


@dataclass(frozen=True)
class FailuresConfig:
    """What a failed write leads to.

    :param max_failure_ratio: per-record failures above this share of a run's writes fail the run.
    :param quarantine_after: consecutive per-record failures of a user's write before it is quarantined.
    :param quarantine_backoff_minutes: a quarantined user's first wait; doubled for each further failure.
    :param max_quarantine_backoff_hours: the longest wait of a quarantined user.
    """

    max_failure_ratio: float = 0.10
    quarantine_after: int = 5
    quarantine_backoff_minutes: float = 60.0
    max_quarantine_backoff_hours: float = 24.0


@dataclass(frozen=True)
class TasksConfig:
    """Airflow retries of the DAGs' tasks (after the writer's own retries are spent).

    :param retries: task retries.
    :param retry_delay_seconds: the first retry's delay (doubling up to 10 minutes).
    """

    retries: int = 2
    retry_delay_seconds: float = 30.0


@dataclass(frozen=True)
class NotifierSpec:
    """One failure notifier: the package's webhook notifier, or any Airflow notifier class.

    :param kind: ``webhook`` or ``notifier``.
    :param conn_id: the webhook's ``http`` connection (``webhook``).
    :param format: the webhook's chat format, or None for the connection's extra (``webhook``).
    :param class_path: the notifier's dotted class path (``notifier``).
    :param args: keyword arguments of the notifier class (``notifier``).
    """

    kind: str
    conn_id: str = "okta_salesforce_alerts"
    format: str | None = None
    class_path: str = ""
    args: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class NotificationsConfig:
    """:param on_failure: notifiers called when a task of the package's DAGs fails for good."""

    on_failure: tuple[NotifierSpec, ...] = ()


class Reader(Protocol):
    """The part of the config parser these readers use."""

    def fail(self, path: str, message: str) -> None: ...

    def mapping(self, value: Any, path: str, keys: set[str] | None = None) -> dict[str, Any]: ...

    def string(self, value: Any, path: str, *, required: bool = False) -> str | None: ...

    def number(
        self, value: Any, path: str, default: Any, *, integer: bool, low: float, high: float | None = None
    ) -> Any: ...


def read_writer(p: Reader, value: Any) -> WriterConfig:
    raw = p.mapping(
        value,
        "writer",
        {"batch_size", "retries", "retry_backoff_seconds", "max_retry_backoff_seconds", "timeout_seconds"},
    )
    base = WriterConfig()
    return WriterConfig(
        batch_size=p.number(
            raw.get("batch_size"), "writer.batch_size", base.batch_size, integer=True, low=1, high=200
        ),
        retries=p.number(raw.get("retries"), "writer.retries", base.retries, integer=True, low=0, high=20),
        retry_backoff_seconds=p.number(
            raw.get("retry_backoff_seconds"),
            "writer.retry_backoff_seconds",
            base.retry_backoff_seconds,
            integer=False,
            low=0,
        ),
        max_retry_backoff_seconds=p.number(
            raw.get("max_retry_backoff_seconds"),
            "writer.max_retry_backoff_seconds",
            base.max_retry_backoff_seconds,
            integer=False,
            low=0,
        ),
        timeout_seconds=p.number(
            raw.get("timeout_seconds"), "writer.timeout_seconds", base.timeout_seconds, integer=False, low=1
        ),
    )


def read_failures(p: Reader, value: Any) -> FailuresConfig:
    keys = {
        "max_failure_ratio",
        "quarantine_after",
        "quarantine_backoff_minutes",
        "max_quarantine_backoff_hours",
    }
    raw = p.mapping(value, "failures", keys)
    base = FailuresConfig()
    return FailuresConfig(
        max_failure_ratio=p.number(
            raw.get("max_failure_ratio"),
            "failures.max_failure_ratio",
            base.max_failure_ratio,
            integer=False,
            low=0,
            high=1,
        ),
        quarantine_after=p.number(
            raw.get("quarantine_after"),
            "failures.quarantine_after",
            base.quarantine_after,
            integer=True,
            low=1,
        ),
        quarantine_backoff_minutes=p.number(
            raw.get("quarantine_backoff_minutes"),
            "failures.quarantine_backoff_minutes",
            base.quarantine_backoff_minutes,
            integer=False,
            low=0,
        ),
        max_quarantine_backoff_hours=p.number(
            raw.get("max_quarantine_backoff_hours"),
            "failures.max_quarantine_backoff_hours",
            base.max_quarantine_backoff_hours,
            integer=False,
            low=0,
        ),
    )


def read_tasks(p: Reader, value: Any) -> TasksConfig:
    raw = p.mapping(value, "tasks", {"retries", "retry_delay_seconds"})
    base = TasksConfig()
    return TasksConfig(
        retries=p.number(raw.get("retries"), "tasks.retries", base.retries, integer=True, low=0, high=20),
        retry_delay_seconds=p.number(
            raw.get("retry_delay_seconds"),
            "tasks.retry_delay_seconds",
            base.retry_delay_seconds,
            integer=False,
            low=0,
        ),
    )


def read_notifications(p: Reader, value: Any) -> NotificationsConfig:
    raw = p.mapping(value, "notifications", {"on_failure"})
    entries = raw.get("on_failure")
    if entries is None:
        return NotificationsConfig()
    if not isinstance(entries, list):
        p.fail("notifications.on_failure", "expected a list of notifiers")
        return NotificationsConfig()
    specs = []
    for i, entry in enumerate(entries):
        path = f"notifications.on_failure[{i}]"
        if not isinstance(entry, dict) or len(entry) != 1:
            p.fail(path, "expected a mapping with one key: webhook or notifier")
            continue
        ((kind, body),) = entry.items()
        if kind == "webhook":
            item = p.mapping(body, f"{path}.webhook", {"conn_id", "format"})
            fmt = p.string(item.get("format"), f"{path}.webhook.format")
            if fmt is not None and fmt not in WEBHOOK_FORMATS:
                p.fail(
                    f"{path}.webhook.format",
                    f"unknown format {fmt!r} (expected one of {', '.join(WEBHOOK_FORMATS)})",
                )
                fmt = None
            conn_id = p.string(item.get("conn_id"), f"{path}.webhook.conn_id") or NotifierSpec.conn_id
            specs.append(NotifierSpec(kind="webhook", conn_id=conn_id, format=fmt))
        elif kind == "notifier":
            item = p.mapping(body, f"{path}.notifier", {"class", "args"})
            class_path = p.string(item.get("class"), f"{path}.notifier.class", required=True) or ""
            if class_path and "." not in class_path:
                p.fail(f"{path}.notifier.class", f"expected a dotted class path, got {class_path!r}")
            args = p.mapping(item.get("args"), f"{path}.notifier.args")
            specs.append(NotifierSpec(kind="notifier", class_path=class_path, args=dict(args)))
        else:
            p.fail(path, f"unknown notifier {kind!r} (expected webhook or notifier)")
    return NotificationsConfig(on_failure=tuple(specs))
