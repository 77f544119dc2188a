"""Counts and durations of every run through Airflow's Stats (StatsD or OpenTelemetry, as configured).

Metric names (each prefixed by Airflow with ``[metrics] statsd_prefix``, ``airflow`` by default), tagged
``dag_id`` and ``task_id`` where the backend supports tags:

======================================================  =========  ===========================================
name                                                    kind       meaning
======================================================  =========  ===========================================
``okta_salesforce.okta.assignments_read``               counter    Okta assignment records read by poll_okta
``okta_salesforce.okta.read_duration``                  timer      time poll_okta spent reading Okta
``okta_salesforce.salesforce.users_read``               counter    Salesforce users read by plan
``okta_salesforce.plan.actions.<kind>``                 counter    planned actions (create, activate, ...)
``okta_salesforce.plan.duration``                       timer      time plan spent reading and planning
``okta_salesforce.writes.<kind>.succeeded``             counter    records written by the writer of <kind>
``okta_salesforce.writes.<kind>.failed``                counter    per-record failures of the writer of <kind>
``okta_salesforce.writes.duration``                     timer      time one writer task spent writing
======================================================  =========  ===========================================

Emitting never fails a task: with metrics off, Stats is a no-op.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import timedelta

PREFIX = "okta_salesforce"
log = logging.getLogger(__name__)


def _stats():
    try:
        from airflow.sdk.observability.stats import Stats
    except ImportError:  # Airflow 3.1 and 3.2
        from airflow.stats import Stats
    return Stats


def count(name: str, value: int, tags: Mapping[str, str] | None = None) -> None:
    """Add ``value`` to the counter ``okta_salesforce.<name>``."""
    if value <= 0:
        return
    try:
        _stats().incr(f"{PREFIX}.{name}", value, tags=dict(tags or {}))
    except Exception:
        log.debug("Could not emit %s.%s", PREFIX, name, exc_info=True)


def duration(name: str, seconds: float, tags: Mapping[str, str] | None = None) -> None:
    """Record ``seconds`` in the timer ``okta_salesforce.<name>``."""
    try:
        _stats().timing(f"{PREFIX}.{name}", timedelta(seconds=seconds), tags=dict(tags or {}))
    except Exception:
        log.debug("Could not emit %s.%s", PREFIX, name, exc_info=True)


def task_tags(context: Mapping[str, object]) -> dict[str, str]:
    """``dag_id`` and ``task_id`` of the running task."""
    ti = context["ti"]
    return {"dag_id": str(ti.dag_id), "task_id": str(ti.task_id)}  # type: ignore[attr-defined]
