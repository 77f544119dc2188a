"""The run's report lines: every planned action joined with its writer's outcome, and their summary.

Pure functions over the rows of the plan's and the writers' files (:meth:`Action.to_dict
<okta_salesforce.sync.models.Action.to_dict>`, :meth:`Outcome.to_dict
<okta_salesforce.sync.models.Outcome.to_dict>`); the report task writes the lines to a run file.
The lines are a stream: the outcomes are looked up by ``(login, action)`` in whatever holds them
(a dict, or the report's disk-backed :class:`~okta_salesforce.sync.report_store.ReportStore`), and
:class:`ReportTally` keeps what the report needs of them as they pass.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Protocol

from okta_salesforce.sync.escrow import UNANSWERED_CODES
from okta_salesforce.sync.models import DEPROVISION_KINDS, ActionKind, FieldError, Outcome

#: Outcomes of report lines (the ``outcome`` key).
SUCCESS, FAILED, DRY_RUN, NOT_APPROVED, NOT_RUN, UNCHANGED = (
    "success",
    "failed",
    "dry_run",
    "not_approved",
    "not_run",
    "unchanged",
)


_CREATE, _ERROR, _SKIP = str(ActionKind.CREATE), str(ActionKind.ERROR), str(ActionKind.SKIP)
_DEPROVISION = frozenset(str(kind) for kind in DEPROVISION_KINDS)
_WRITES = frozenset(str(kind) for kind in ActionKind) - {_ERROR, _SKIP}
#: How many failed lines the task log shows (the report has them all).
LOGGED_FAILURES = 20


class OutcomeLookup(Protocol):
    """The writers' outcomes by ``(login, action)``, the first recorded of each, as rows
    (:meth:`Outcome.to_dict`): a dict (:func:`first_outcomes`), or the report's store."""

    def get(self, key: tuple[str, str], /) -> Mapping[str, Any] | None: ...


def first_outcomes(outcomes: Iterable[Outcome]) -> dict[tuple[str, str], Mapping[str, Any]]:
    """The outcomes in memory by ``(login, action)``, the first of each key (for small runs and tests)."""
    by_key: dict[tuple[str, str], Mapping[str, Any]] = {}
    for written in outcomes:
        by_key.setdefault((written.login, written.action), written.to_dict())
    return by_key


def report_lines(
    actions: Iterable[Mapping[str, Any]], outcomes: OutcomeLookup, *, dry_run: bool, guard_blocked: bool
) -> Iterator[dict[str, Any]]:
    """One report line per action, joined with its outcome by (login, action), one at a time.

    :param actions: the plan's actions as its file holds them (:meth:`Action.to_dict`): read as
        rows, no :class:`~okta_salesforce.sync.models.Action` is built for a line.
    """
    for action in actions:
        kind = str(action["kind"])
        login = action["login"]
        changes = action.get("changes") or (action.get("fields") if kind == _CREATE else None) or {}
        line: dict[str, Any] = {
            "login": login,
            "okta_user_id": action.get("okta_user_id"),
            "salesforce_id": action.get("salesforce_id"),
            "username": action.get("username"),
            "action": kind,
            "reason": action.get("reason", ""),
            "changed_fields": sorted(changes),
            "error_code": None,
            "message": "",
            "fields": [],
        }
        if kind == _ERROR:
            errors = [FieldError(**e) for e in action.get("errors") or ()]
            line.update(
                outcome=FAILED,
                error_code="INVALID_INPUT",
                message="; ".join(str(e) for e in errors) or line["reason"],
                fields=[e.field for e in errors if e.field],
            )
        elif kind == _SKIP:
            line["outcome"] = UNCHANGED
        elif dry_run:
            line["outcome"] = DRY_RUN
        elif (outcome := outcomes.get((login, kind))) is not None:
            line.update(
                outcome=SUCCESS if outcome["success"] else FAILED,
                salesforce_id=outcome.get("salesforce_id") or line["salesforce_id"],
                error_code=outcome.get("error_code"),
                message=outcome.get("message", ""),
                fields=list(outcome.get("fields") or ()),
            )
        elif kind in _DEPROVISION and guard_blocked:
            line.update(outcome=NOT_APPROVED, message="held back by the deactivation guard")
        else:
            line.update(outcome=NOT_RUN, message="the writer task did not run")
        yield line


class BatchOutcomeLookup(Protocol):
    """The writers' outcomes of many ``(login, action)`` keys at once (the report's store)."""

    def outcomes_for(
        self, keys: Iterable[tuple[str, str]]
    ) -> Mapping[tuple[str, str], Mapping[str, Any]]: ...


def joined_lines(
    actions: Iterable[Mapping[str, Any]],
    outcomes: BatchOutcomeLookup,
    *,
    dry_run: bool,
    guard_blocked: bool,
    chunk: int = 2000,
) -> Iterator[dict[str, Any]]:
    """:func:`report_lines`, the outcomes looked up a chunk of actions at a time (one query each)."""
    rows: list[Mapping[str, Any]] = []
    for action in actions:
        rows.append(action)
        if len(rows) >= chunk:
            yield from _joined_chunk(rows, outcomes, dry_run=dry_run, guard_blocked=guard_blocked)
            rows = []
    if rows:
        yield from _joined_chunk(rows, outcomes, dry_run=dry_run, guard_blocked=guard_blocked)


def _joined_chunk(
    rows: list[Mapping[str, Any]], outcomes: BatchOutcomeLookup, *, dry_run: bool, guard_blocked: bool
) -> Iterator[dict[str, Any]]:
    keys = () if dry_run else ((row["login"], kind) for row in rows if (kind := str(row["kind"])) in _WRITES)
    found = outcomes.outcomes_for(keys)
    return report_lines(rows, found, dry_run=dry_run, guard_blocked=guard_blocked)


class EarlierWrites(Protocol):
    """Successful writes of the run's earlier tries (outcome rows), by login (the report's store)."""

    def take(self, login: str) -> list[dict[str, Any]]: ...
    def planned_again(self, login: str, action: str) -> None: ...
    def remaining(self) -> Iterator[dict[str, Any]]: ...


def with_earlier_writes(lines: Iterable[dict[str, Any]], earlier: EarlierWrites) -> Iterator[dict[str, Any]]:
    """The lines, with the writes an earlier try of the run made reported as made.

    A try that plans again (the events fast path's next try, a cleared run) finds the users the
    failed try wrote in sync: their ``skip`` line gives way to a line per earlier write (outcome
    ``success``, the reason naming the try's outcomes file). A write this try planned again keeps
    this try's line; an earlier write of a user this plan does not hold gets a line at the end.
    """
    for line in lines:
        if line["action"] == _SKIP:
            writes = earlier.take(line["login"])
            if writes:
                yield from (_earlier_line(write, line) for write in writes)
                continue
        elif line["action"] != _ERROR:
            earlier.planned_again(line["login"], line["action"])
        yield line
    yield from (_earlier_line(write, None) for write in earlier.remaining())


def _earlier_line(write: dict[str, Any], skip: dict[str, Any] | None) -> dict[str, Any]:
    """The report line of an earlier try's successful write (ids from this try's ``skip`` line)."""
    return {
        "login": write["login"],
        "okta_user_id": skip["okta_user_id"] if skip else None,
        "salesforce_id": write.get("salesforce_id") or (skip["salesforce_id"] if skip else None),
        "username": skip["username"] if skip else None,
        "action": write["action"],
        "reason": f"written by an earlier try of this run ({write.get('source', 'its outcomes file')})",
        "changed_fields": [],
        "error_code": None,
        "message": write.get("message", ""),
        "fields": [],
        "outcome": SUCCESS,
    }


class ReportTally:
    """What the report needs of its lines, kept as they stream past: counts, failures, the writes.

    :meth:`add` returns the line, so a tally sits in a stream (``map(tally.add, lines)``).
    """

    def __init__(self) -> None:
        self.users = 0
        self.failed = 0
        self.writes = 0
        self.failed_writes = 0
        self.first_failures: list[dict[str, Any]] = []
        self._pairs: dict[tuple[str, str], int] = {}

    def add(self, line: dict[str, Any]) -> dict[str, Any]:
        self.users += 1
        action, outcome = line["action"], line["outcome"]
        pairs = self._pairs
        pairs[action, outcome] = pairs.get((action, outcome), 0) + 1
        if action != _SKIP:
            self.writes += 1
        if outcome == FAILED:
            self.failed += 1
            if len(self.first_failures) < LOGGED_FAILURES:
                self.first_failures.append(dict(line))
            # A per-record failure (escrow's Settlement.FAILED); unanswered ones are not counted.
            if action != _SKIP and line.get("error_code") not in UNANSWERED_CODES:
                self.failed_writes += 1
        return line

    def counts(self) -> dict[str, dict[str, int]]:
        """``{action: {outcome: count}}``, sorted."""
        counts: dict[str, dict[str, int]] = {}
        for (action, outcome), count in sorted(self._pairs.items()):
            counts.setdefault(action, {})[outcome] = count
        return counts


def summarize(lines: Iterable[dict[str, Any]]) -> dict[str, dict[str, int]]:
    """``{action: {outcome: count}}``."""
    tally = ReportTally()
    for line in lines:
        tally.add(line)
    return tally.counts()


def summary_table(counts: Mapping[str, Mapping[str, int]]) -> str:
    """A fixed-width table of actions by outcome (:func:`summarize`'s counts), for the task log."""
    outcomes = sorted({o for c in counts.values() for o in c})
    width = max([len("action"), *(len(a) for a in counts)])
    header = f"{'action':<{width}} " + " ".join(f"{o:>12}" for o in outcomes)
    rows = [header, "-" * len(header)]
    for action, by_outcome in counts.items():
        rows.append(f"{action:<{width}} " + " ".join(f"{by_outcome.get(o, 0):>12}" for o in outcomes))
    return "\n".join(rows)
