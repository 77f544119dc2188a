"""The run's report lines: every planned action joined with its writer's outcome, and their summary.

Pure functions over :class:`~okta_salesforce.sync.models.Action` and
:class:`~okta_salesforce.sync.models.Outcome`; the report task writes the lines to a run file.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from okta_salesforce.sync.models import DEPROVISION_KINDS, Action, ActionKind, Outcome

#: Outcomes of report lines (the ``outcome`` key).
SUCCESS, FAILED, DRY_RUN, NOT_APPROVED, NOT_RUN, UNCHANGED = (
    "success",
    "failed",
    "dry_run",
    "not_approved",
    "not_run",
    "unchanged",
)


def report_lines(
    actions: Iterable[Action], outcomes: Iterable[Outcome], *, dry_run: bool, guard_blocked: bool
) -> Iterator[dict[str, Any]]:
    """One report line per action, joined with its outcome by (login, action)."""
    by_key: dict[tuple[str, str], Outcome] = {}
    for written in outcomes:
        by_key.setdefault((written.login, written.action), written)
    for action in actions:
        line: dict[str, Any] = {
            "login": action.login,
            "okta_user_id": action.okta_user_id,
            "salesforce_id": action.salesforce_id,
            "username": action.username,
            "action": str(action.kind),
            "reason": action.reason,
            "changed_fields": sorted(
                action.changes or (action.fields if action.kind is ActionKind.CREATE else {})
            ),
            "error_code": None,
            "message": "",
            "fields": [],
        }
        outcome = by_key.get((action.login, str(action.kind)))
        if action.kind is ActionKind.ERROR:
            line.update(
                outcome=FAILED,
                error_code="INVALID_INPUT",
                message="; ".join(str(e) for e in action.errors) or action.reason,
                fields=[e.field for e in action.errors if e.field],
            )
        elif action.kind is ActionKind.SKIP:
            line["outcome"] = UNCHANGED
        elif dry_run:
            line["outcome"] = DRY_RUN
        elif outcome is not None:
            line.update(
                outcome=SUCCESS if outcome.success else FAILED,
                salesforce_id=outcome.salesforce_id or action.salesforce_id,
                error_code=outcome.error_code,
                message=outcome.message,
                fields=list(outcome.fields),
            )
        elif action.kind in DEPROVISION_KINDS and guard_blocked:
            line.update(outcome=NOT_APPROVED, message="held back by the deactivation guard")
        else:
            line.update(outcome=NOT_RUN, message="the writer task did not run")
        yield line


def summarize(lines: Iterable[dict[str, Any]]) -> dict[str, dict[str, int]]:
    """``{action: {outcome: count}}``."""
    counts: dict[str, Counter[str]] = {}
    for line in lines:
        counts.setdefault(line["action"], Counter())[line["outcome"]] += 1
    return {action: dict(sorted(c.items())) for action, c in sorted(counts.items())}


def summary_table(lines: Sequence[dict[str, Any]]) -> str:
    """A fixed-width table of actions by outcome, for the task log."""
    counts = summarize(lines)
    outcomes = sorted({o for c in counts.values() for o in c})
    width = max([len("action"), *(len(a) for a in counts)])
    header = f"{'action':<{width}} " + " ".join(f"{o:>12}" for o in outcomes)
    rows = [header, "-" * len(header)]
    for action, by_outcome in counts.items():
        rows.append(f"{action:<{width}} " + " ".join(f"{by_outcome.get(o, 0):>12}" for o in outcomes))
    return "\n".join(rows)
