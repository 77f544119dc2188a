"""Failures reach people: the ``notifications`` of the config as Airflow failure callbacks.

:func:`failure_callbacks` turns ``notifications.on_failure`` into one :class:`FailureAlert`, set
as ``on_failure_callback`` on every task of the package's DAGs (through their ``default_args``),
so a failure anywhere (``poll_okta``, ``plan``, a writer, the report) calls the notifiers once,
after Airflow's retries are spent. Each entry is either the package's
:class:`~okta_salesforce.notifiers.WebhookNotifier` (``webhook: {conn_id, format}``) or any Airflow
notifier class (``notifier: {class, args}``, e.g. the SMTP or Slack provider's); the alert's text
is in the context as ``message`` (use ``{{ message }}`` in a notifier's templated arguments).

A failure that only repeats one already announced (the report failing because a writer failed)
carries ``already_notified = True`` and is not announced twice.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow.sdk import BaseNotifier

    from okta_salesforce.sync.config_runtime import NotifierSpec

log = logging.getLogger(__name__)


def build_notifier(spec: NotifierSpec) -> BaseNotifier:
    """A fresh notifier for ``spec`` (notifiers render their templates in place: never reuse one)."""
    if spec.kind == "webhook":
        from okta_salesforce.notifiers import WebhookNotifier

        return WebhookNotifier(
            text="{{ message }}", title="{{ title }}", http_conn_id=spec.conn_id, format=spec.format
        )
    # importlib, not Airflow's import_string: airflow.utils.module_loading is gone in Airflow 3.3.
    module_name, _, class_name = spec.class_path.rpartition(".")
    notifier: BaseNotifier = getattr(importlib.import_module(module_name), class_name)(**spec.args)
    return notifier


def failure_message(context: Any) -> tuple[str, str]:
    """``(title, message)`` for a failed task: where it failed and the error (our errors hold no secrets)."""
    ti = context.get("ti") or context.get("task_instance")
    dag = context.get("dag")
    dag_id = getattr(dag, "dag_id", None) or getattr(ti, "dag_id", "?")
    task_id = getattr(ti, "task_id", "?")
    error = context.get("exception")
    title = f"okta-salesforce: {dag_id} failed"
    message = f"Task {task_id} of {dag_id} (run {context.get('run_id')}) failed"
    if error is not None:
        message += f": {type(error).__name__}: {error}"
    return title, message


class FailureAlert:
    """An ``on_failure_callback`` that calls every configured notifier once per failed task.

    :param specs: the ``notifications.on_failure`` entries: validated ones, or the file's mappings as
        DAG parsing reads them (:mod:`okta_salesforce.sync.dag_config`), validated when a task fails.
    """

    def __init__(self, specs: Sequence[NotifierSpec | Mapping[str, Any]]) -> None:
        self.specs = tuple(specs)

    def __call__(self, context: Any) -> None:
        if getattr(context.get("exception"), "already_notified", False):
            log.info("Not notifying: this failure repeats one already announced.")
            return
        title, message = failure_message(context)
        self.send(context, title, message)

    def send(self, context: Any, title: str, message: str) -> None:
        """Send ``title``/``message`` through every notifier; one failing never stops the others."""
        from okta_salesforce.sync.config_runtime import notifier_spec

        merged = {**dict(context), "title": title, "message": message}
        for entry in self.specs:
            try:
                spec = notifier_spec(entry)
            except Exception:
                log.exception("An entry of notifications.on_failure is invalid: run `okta-salesforce check`.")
                continue
            try:
                build_notifier(spec)(merged)
            except Exception:
                log.exception("Notifier %s failed.", spec.kind if spec.kind == "webhook" else spec.class_path)


def failure_callbacks(config_path: str | None = None, target: str | None = None) -> list[FailureAlert]:
    """The DAGs' ``on_failure_callback`` list from the config (empty when none is configured).

    :param target: the config's ``targets:`` entry (None: a config without targets).

    Reads only ``notifications.on_failure`` (:mod:`okta_salesforce.sync.dag_config`); the entries are
    validated when a task fails.
    """
    from okta_salesforce.config_location import resolve_config_path
    from okta_salesforce.sync.dag_config import read_dag_config

    try:
        config = read_dag_config(resolve_config_path(config_path), target)
    except FileNotFoundError as err:
        log.warning("No sync config (%s): the DAGs get no failure notifiers.", err)
        return []
    specs = config.notifications.on_failure
    return [FailureAlert(specs)] if specs else []
