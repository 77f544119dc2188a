"""Run the pipeline's operators one after the other in one task process, as the task runner would.

The events Dag's fast path (:mod:`okta_salesforce.operators.event_sync`) uses :class:`Stages`:
each operator's ``execute`` gets the running task's context with the operator's own task id (so its
run files and metrics are named as in the full pipeline), and returns what XCom would have received.
"""

from __future__ import annotations

import contextlib
from collections import defaultdict
from collections.abc import Iterator
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow.sdk import BaseOperator, Context


class CapturedEvents(defaultdict):
    """Stands in for ``outlet_events`` in the report stage: the extra it sets, by Asset name.

    By name: Airflow 3.1's Assets are not hashable.
    """

    def __init__(self) -> None:
        super().__init__(SimpleNamespace)

    def __getitem__(self, asset: Any) -> SimpleNamespace:
        return super().__getitem__(asset.name)


class StageInstance:
    """The running task instance as one stage sees it: the stage's own task id; XCom kept here."""

    def __init__(self, ti: Any, task_id: str) -> None:
        self._ti = ti
        self.task_id = task_id
        self.xcom: dict[str, Any] = {}

    def __getattr__(self, name: str) -> Any:
        return getattr(self._ti, name)

    def xcom_push(self, key: str, value: Any, **_: Any) -> None:
        self.xcom[key] = value


class Stages:
    """Runs the pipeline's operators in this process, as the task runner would run them in their own."""

    def __init__(self, context: Context, log: Any) -> None:
        self.context = context
        self.log = log
        self.unfinished: list[str] = []

    def run(
        self,
        operator: BaseOperator,
        *,
        tolerate: type[Exception] | tuple[type[Exception], ...] = (),
        outlet_events: Any = None,
    ) -> Any:
        """``operator.execute`` with its own task id in the context; what XCom would have received.

        An exception of a ``tolerate`` type is logged and its stage recorded as unfinished; the
        stage's result is then what it published before raising (writers publish their outcomes).
        """
        stage = StageInstance(self.context["ti"], operator.task_id)
        context: dict[str, Any] = {**self.context, "ti": stage, "task_instance": stage, "task": operator}
        if outlet_events is not None:
            context["outlet_events"] = outlet_events
        try:
            with as_task_runner(operator):
                return operator.execute(context)  # type: ignore[arg-type]
        except tolerate as exc:
            self.log.warning("%s: %s", operator.task_id, exc)
            self.unfinished.append(operator.task_id)
            return stage.xcom.get("return_value")


@contextlib.contextmanager
def as_task_runner(operator: BaseOperator) -> Iterator[None]:
    """Run ``operator.execute`` as its task runner would (no warning about a nested operator)."""
    try:
        from airflow.sdk.bases.operator import ExecutorSafeguard
    except ImportError:  # pragma: no cover - a future Airflow without it
        yield
        return
    token = ExecutorSafeguard.tracker.set(operator)
    try:
        yield
    finally:
        ExecutorSafeguard.tracker.reset(token)
