"""How runs behave when things fail: writer retries, escrow and quarantine, Airflow retries, notifications.

The ``writer``, ``failures``, ``tasks`` and ``notifications`` sections of the sync config, as frozen
pydantic dataclasses (see :mod:`okta_salesforce.sync.config_reader`). ``docs/configuration.md``
documents each key.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import Annotated, Any, Literal, get_args

from pydantic import Field, PlainValidator, TypeAdapter, model_validator
from pydantic.dataclasses import dataclass as pydantic_dataclass
from pydantic_core import PydanticCustomError

from okta_salesforce.sync.config_reader import SECTION, Int, Number, Section, Text, problems

#: The chat formats of the webhook notifier (mirrors ``okta_salesforce.notifiers.WEBHOOK_FORMATS``,
#: which imports Airflow; the sync core does not).
WebhookFormat = Literal["slack", "teams", "google_chat", "discord", "json"]
WEBHOOK_FORMATS: tuple[str, ...] = get_args(WebhookFormat)


@pydantic_dataclass(frozen=True, config=SECTION)
class WriterConfig(Section):
    """How the writer talks to Salesforce.

    :param batch_size: records per sObject Collections call (at most 200).
    :param retries: re-sends of a request that failed transiently (dropped connection, timeout, 5xx).
    :param retry_backoff_seconds: wait before the first re-send; doubled for each further one.
    :param max_retry_backoff_seconds: the longest wait between two attempts.
    :param timeout_seconds: how long one write request may take before it counts as failed.
    """

    batch_size: Int = Field(default=200, ge=1, le=200)
    retries: Int = Field(default=4, ge=0, le=20)
    retry_backoff_seconds: Number = Field(default=1.0, ge=0)
    max_retry_backoff_seconds: Number = Field(default=30.0, ge=0)
    timeout_seconds: Number = Field(default=120.0, ge=1)


@pydantic_dataclass(frozen=True, config=SECTION)
class FailuresConfig(Section):
    """What a failed write leads to.

    :param max_failure_ratio: per-record failures above this share of a run's writes fail the run.
    :param quarantine_after: consecutive per-record failures of a user's write before it is quarantined.
    :param quarantine_backoff_minutes: a quarantined user's first wait; doubled for each further failure.
    :param max_quarantine_backoff_hours: the longest wait of a quarantined user.
    """

    max_failure_ratio: Number = Field(default=0.10, ge=0, le=1)
    quarantine_after: Int = Field(default=5, ge=1)
    quarantine_backoff_minutes: Number = Field(default=60.0, ge=0)
    max_quarantine_backoff_hours: Number = Field(default=24.0, ge=0)


@pydantic_dataclass(frozen=True, config=SECTION)
class TasksConfig(Section):
    """Airflow retries of the DAGs' tasks (after the writer's own retries are spent).

    :param retries: task retries.
    :param retry_delay_seconds: the first retry's delay (doubling up to 10 minutes).
    """

    retries: Int = Field(default=2, ge=0, le=20)
    retry_delay_seconds: Number = Field(default=30.0, ge=0)


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


@pydantic_dataclass(frozen=True, config=SECTION)
class _Webhook(Section):
    conn_id: Text = NotifierSpec.conn_id
    format: WebhookFormat | None = None


@pydantic_dataclass(frozen=True, config=SECTION)
class _Notifier(Section):
    class_path: Text = Field(alias="class")
    args: dict[str, Any] = field(default_factory=dict)

    @model_validator(mode="after")
    def _dotted(self) -> _Notifier:
        if "." not in self.class_path:
            problems((".class", f"expected a dotted class path, got {self.class_path!r}"))
        return self


@pydantic_dataclass(frozen=True, config=SECTION)
class _OnFailure(Section):
    """One entry of ``on_failure`` in the file: ``{webhook: {...}}`` or ``{notifier: {...}}``."""

    webhook: _Webhook | None = None
    notifier: _Notifier | None = None

    @model_validator(mode="before")
    @classmethod
    def _one_kind(cls, data: Any) -> Any:
        if not isinstance(data, dict) or len(data) != 1:
            raise PydanticCustomError("config_shape", "expected a mapping with one key: webhook or notifier")
        ((kind, body),) = data.items()
        if kind not in ("webhook", "notifier"):
            message = "unknown notifier {kind} (expected webhook or notifier)"
            raise PydanticCustomError("config_shape", message, {"kind": repr(kind)})
        return {kind: {} if body is None else body}


@cache
def _on_failure_adapter() -> TypeAdapter[_OnFailure]:
    return TypeAdapter(_OnFailure)


def notifier_spec(value: Any) -> NotifierSpec:
    """One ``on_failure`` entry of the file (or an already validated one) as a :class:`NotifierSpec`."""
    if isinstance(value, NotifierSpec):
        return value
    entry = _on_failure_adapter().validate_python(value)
    if entry.webhook is not None:
        return NotifierSpec(kind="webhook", conn_id=entry.webhook.conn_id, format=entry.webhook.format)
    assert entry.notifier is not None
    return NotifierSpec(kind="notifier", class_path=entry.notifier.class_path, args=dict(entry.notifier.args))


@pydantic_dataclass(frozen=True, config=SECTION)
class NotificationsConfig(Section):
    """:param on_failure: notifiers called when a task of the package's DAGs fails for good."""

    on_failure: tuple[
        Annotated[NotifierSpec, PlainValidator(notifier_spec, json_schema_input_type=_OnFailure)], ...
    ] = ()
