"""The writer's records in flight and the outcomes it records for them.

:class:`Item` is one sObject Collections record on its way to Salesforce, tied to the plan action
it serves; :class:`OutcomeRecorder` turns successes and failures into
:class:`~okta_salesforce.sync.models.Outcome` rows, one per action (more for permission sets);
:class:`WriteResult` is what a writer task hands on: its outcomes file and counts.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Self

from okta_salesforce.sync.models import Action, ActionKind, Outcome

#: What a failure handler returns when a follow-up (link, rename) will report the record.
DEFERRED = object()

#: Past tense of each write, for success messages.
PAST = {
    ActionKind.ACTIVATE: "activated",
    ActionKind.UPDATE: "updated",
    ActionKind.DEACTIVATE: "deactivated",
    ActionKind.FREEZE: "frozen",
    ActionKind.UNFREEZE: "unfrozen",
}


@dataclass
class Item:
    """One record on its way to Salesforce.

    :param action: the plan action it serves.
    :param record: the sObject Collections record.
    :param label: the outcome's ``action`` (the action kind, or ``permission_set``).
    :param on_success: builds the outcome of a success.
    :param on_failure: handles a failure: returns an outcome, :data:`DEFERRED` when a follow-up
        will report it, or None for the generic failure outcome.
    """

    action: Action
    record: dict[str, Any]
    label: str
    on_success: Callable[[Item, dict[str, Any]], Outcome]
    on_failure: Callable[[Item, dict[str, Any]], Outcome | object | None] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def salesforce_id(self) -> str | None:
        return self.record.get("id") or self.record.get("AssigneeId") or self.action.salesforce_id


class OutcomeRecorder:
    """Collects the outcomes of one plan's application in ``self.outcomes``."""

    def __init__(self) -> None:
        self.outcomes: list[Outcome] = []

    @staticmethod
    def outcome(
        action: Action,
        success: bool,
        salesforce_id: str | None,
        *,
        code: str | None = None,
        message: str = "",
        fields: Sequence[str] = (),
        label: str | None = None,
    ) -> Outcome:
        """An outcome for ``action`` (``label`` overrides the action kind, e.g. ``permission_set``)."""
        return Outcome(
            login=action.login,
            action=label or str(action.kind),
            success=success,
            salesforce_id=salesforce_id,
            error_code=code,
            message=message,
            fields=tuple(fields),
        )

    def item_outcome(
        self,
        item: Item,
        success: bool,
        *,
        code: str | None = None,
        message: str = "",
        fields: Sequence[str] = (),
    ) -> Outcome:
        """An outcome for ``item`` (a permission set's name leads its message)."""
        if "name" in item.extra:
            message = f"{item.extra['name']}: {message}"
        return self.outcome(
            item.action,
            success,
            item.salesforce_id,
            code=code,
            message=message,
            fields=fields,
            label=item.label,
        )

    def ok(self, action: Action, salesforce_id: str | None, message: str) -> None:
        self.outcomes.append(self.outcome(action, True, salesforce_id, message=message))

    def fail(self, action: Action, code: str, message: str, fields: Sequence[str] = ()) -> None:
        self.outcomes.append(
            self.outcome(action, False, action.salesforce_id, code=code, message=message, fields=fields)
        )

    def fail_item(self, item: Item, code: str, message: str, fields: Sequence[str] = ()) -> None:
        self.outcomes.append(self.item_outcome(item, False, code=code, message=message, fields=fields))


@dataclass(frozen=True)
class WriteResult:
    """What a writer task hands the report: its outcomes file and how many succeeded or failed.

    :param path: the writer's outcomes, one :class:`~okta_salesforce.sync.models.Outcome` per line.
    :param actions: the action kinds the writer applies.
    :param dry_run: nothing was written.
    """

    path: str
    actions: tuple[str, ...]
    dry_run: bool = False
    success: int = 0
    failed: int = 0

    @classmethod
    def of(cls, path: str, actions: Sequence[str], outcomes: Sequence[Outcome], *, dry_run: bool) -> Self:
        """The result of writing ``outcomes`` to ``path``."""
        success = sum(1 for o in outcomes if o.success)
        return cls(path, tuple(actions), dry_run, success=success, failed=len(outcomes) - success)

    def to_xcom(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "actions": list(self.actions),
            "dry_run": self.dry_run,
            "success": self.success,
            "failed": self.failed,
        }

    @classmethod
    def from_xcom(cls, data: WriteResult | Mapping[str, Any]) -> WriteResult:
        if isinstance(data, WriteResult):
            return data
        if not data or "path" not in data:
            raise ValueError("outcomes: expected a writer task's result (with a 'path'), got nothing")
        return cls(
            path=str(data["path"]),
            actions=tuple(data.get("actions") or ()),
            dry_run=bool(data.get("dry_run")),
            success=int(data.get("success") or 0),
            failed=int(data.get("failed") or 0),
        )
