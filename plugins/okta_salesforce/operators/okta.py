"""Operator that reads who is assigned to the Salesforce app in Okta and stores it as a run file."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

from okta_salesforce import metrics
from okta_salesforce.operators.params import as_bool, as_logins, as_names

if TYPE_CHECKING:
    from airflow.sdk import Context, ObjectStoragePath

    from okta_salesforce.escrow_store import EscrowStore
    from okta_salesforce.hooks.okta import OktaHook
    from okta_salesforce.hooks.okta_events import CursorStore, IncrementalReader, PollResult
    from okta_salesforce.hooks.okta_groups import GroupReader
    from okta_salesforce.storage import RunFiles
    from okta_salesforce.sync.config import SyncConfig
    from okta_salesforce.sync.escrow import PendingUser
    from okta_salesforce.sync.models import OktaAssignment
    from okta_salesforce.sync.snapshot import CursorState, EscrowWriteAhead, OktaSnapshot

MODES = ("full", "incremental")  # sync.snapshot FULL, INCREMENTAL (not imported when DAGs are parsed)


class OktaAssignmentsOperator(BaseOperator):
    """Read the assignments of an Okta app into a JSON Lines file; return its path and counts.

    Modes: ``full`` (every assignment; the file is authoritative, absence means unassigned),
    ``incremental`` (System Log changes since the last run, then the current state of the users
    they touched, ``assigned=False`` for removals). A non-empty ``users`` list (Okta logins) reads
    just those users, whatever the mode (provisioning on demand).

    Incremental and on-demand reads add the users pending in escrow (see
    :mod:`okta_salesforce.sync.escrow`) whose retry is due, so a failed write is retried even when
    no new event names its user. Unless it is a dry run, every user read is then written ahead
    into escrow, and only after that the System Log cursor is saved: the cursor never passes an
    event whose user is neither converged nor pending. A dry run changes neither.

    The file holds one :class:`~okta_salesforce.sync.models.OktaAssignment` dict per line, under
    ``output_path`` (default: ``okta_salesforce.storage``'s base), one file per run and try.

    :param app_id: the Okta app id (``0oa...``); defaults to ``okta.app_id`` of the sync config.
    :param mode: ``full`` or ``incremental``.
    :param users: Okta logins to read instead (a list, or a comma/space separated string).
    :param output_path: base URL or path of the run files (``file://``, ``s3://`` ...).
    :param cursor_key: the Airflow Variable holding the System Log cursor of incremental runs.
    :param okta_conn_id: the ``okta`` connection.
    :param cursor_store: where cursors live (default: Airflow Variables).
    :param commit_cursor: save the System Log cursor once the users are written ahead into escrow.
        False leaves it in a file for :class:`CommitOktaCursorOperator`.
    :param dry_run: read only: no write-ahead, no cursor move.
    :param escrow_key: the Airflow Variable holding escrow (default: per Okta app, see
        :func:`okta_salesforce.escrow_store.escrow_key`).
    :param escrow_store: where escrow lives (default: Airflow Variables).
    :param config_path: the sync config file (default: ``OKTA_SALESFORCE_CONFIG``).
    :param groups: Okta group names to read into each record's ``groups`` (default: those the sync
        config reads, :func:`~okta_salesforce.sync.entitlements_config.group_names`); ``[]`` reads
        none. Full runs list the groups' members (a few requests per group), other runs read each
        user's groups (one request per user): see :mod:`okta_salesforce.hooks.okta_groups`.
    :param target: the config's ``targets:`` entry (None: a config without targets).
    """

    # The `dry_run` param shadows BaseOperator.dry_run(), a method Airflow 3 never calls.
    dry_run: bool | str  # type: ignore[assignment]
    template_fields: Sequence[str] = (
        "app_id",
        "mode",
        "users",
        "output_path",
        "cursor_key",
        "dry_run",
        "escrow_key",
    )

    def __init__(
        self,
        *,
        app_id: str | None = None,
        mode: str = "full",
        users: list[str] | str | None = None,
        output_path: str | None = None,
        cursor_key: str = "okta_salesforce_log_cursor",
        okta_conn_id: str = "okta_default",
        cursor_store: CursorStore | None = None,
        commit_cursor: bool = True,
        dry_run: bool | str = False,
        escrow_key: str | None = None,
        escrow_store: EscrowStore | None = None,
        config_path: str | None = None,
        groups: list[str] | str | None = None,
        target: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.app_id = app_id
        self.mode = mode
        self.users = users
        self.output_path = output_path
        self.cursor_key = cursor_key
        self.okta_conn_id = okta_conn_id
        self.cursor_store = cursor_store
        self.commit_cursor = commit_cursor
        self.dry_run = dry_run
        self.escrow_key = escrow_key
        self.escrow_store = escrow_store
        self.config_path = config_path
        self.groups = groups
        self.target = target

    def execute(self, context: Context) -> dict[str, Any]:
        from okta_salesforce.config_location import resolve_config_path
        from okta_salesforce.hooks.okta import OktaHook
        from okta_salesforce.hooks.okta_groups import GroupReader
        from okta_salesforce.storage import RunFiles
        from okta_salesforce.sync.config import load_config
        from okta_salesforce.sync.entitlements_config import group_names
        from okta_salesforce.sync.okta_attributes import profile_attributes
        from okta_salesforce.sync.progress import Progress
        from okta_salesforce.sync.snapshot import FULL, USERS

        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, not {self.mode!r}")
        config = load_config(resolve_config_path(self.config_path), target=self.target)
        app_id = self.app_id or config.okta_app_id
        logins = as_logins(self.users)
        mode = USERS if logins else self.mode
        dry_run = as_bool(self.dry_run, name="dry_run")
        files = RunFiles(context["ti"], base=self.output_path)
        group_list = _group_list(self.groups)
        self._progress = Progress(self.log, "Okta assignments read")
        self._tags = metrics.task_tags(context)
        started_at = _now().isoformat()  # before the first request: the snapshot holds no later change
        with OktaHook(okta_conn_id=self.okta_conn_id) as hook:
            groups = GroupReader(hook, list(group_names(config)) if group_list is None else group_list)
            if mode == FULL:
                # Profiles trimmed at read time to the attributes the config reads; each user is
                # the plain dict of its snapshot line from the page to the file.
                read = hook.iter_assignment_rows(app_id, attributes=profile_attributes(config))
                rows = groups.attach_rows(self._progress.iterate(read))
                snapshot = _write(files.snapshot(mode), rows, mode=mode, complete=True, dry_run=dry_run)
            else:  # escrow (and the Salesforce error codes it reads) only where it is used
                from okta_salesforce.escrow_store import VariableEscrowStore, escrow_key

                escrow = _EscrowAccess(
                    self.escrow_store or VariableEscrowStore(),
                    self.escrow_key or escrow_key(app_id, config.target),
                    config,
                )
                snapshot = self._read_changes(hook, groups, app_id, logins, files, escrow, dry_run=dry_run)
        return self._log(replace(snapshot, started_at=started_at)).to_xcom()

    def _read_changes(
        self,
        hook: OktaHook,
        groups: GroupReader,
        app_id: str,
        logins: list[str],
        files: RunFiles,
        escrow: _EscrowAccess,
        *,
        dry_run: bool,
    ) -> OktaSnapshot:
        """An incremental or on-demand read, plus the users escrow has due; written ahead unless dry."""
        from okta_salesforce.hooks.okta_events import IncrementalReader, VariableCursorStore
        from okta_salesforce.sync.snapshot import INCREMENTAL, USERS

        due = escrow.due()
        result = reader = None
        if logins:
            records = list(hook.iter_assignments_for_logins(app_id, logins))
        else:
            store = self.cursor_store or VariableCursorStore()
            reader = IncrementalReader(hook, app_id, store=store, key=self.cursor_key)
            result = reader.poll()
            records = reader.read(result)
        pending = read_pending(hook, app_id, due, {r.login.casefold() for r in records})
        records = list(groups.attach([*records, *pending], bulk=False))
        target = files.snapshot(USERS if logins else INCREMENTAL)
        snapshot = _write(target, records, mode=USERS if logins else INCREMENTAL, dry_run=dry_run)
        changes: dict[str, Any] = {"pending": tuple(r.login for r in pending)}
        if logins:
            changes["requested"] = len(logins)
        if not dry_run:
            changes["escrow"] = escrow.write_ahead(records)
        if reader is not None and result is not None:
            commit = self.commit_cursor and not dry_run
            changes["cursor"] = self._cursor(reader, result, files.pending_cursor(target), commit=commit)
        return replace(snapshot, **changes)

    def _cursor(
        self, reader: IncrementalReader, result: PollResult, pending: ObjectStoragePath, *, commit: bool
    ) -> CursorState:
        from okta_salesforce.sync.snapshot import CursorState

        if commit:
            reader.commit(result)
        else:
            from okta_salesforce.storage import write_json

            write_json(pending, result.cursor.to_dict())
        return CursorState(
            key=self.cursor_key,
            events=len(result.events),
            pages=result.pages,
            last_published=result.cursor.last_published,
            committed=commit,
            path=None if commit else str(pending),
        )

    def _log(self, snapshot: OktaSnapshot) -> OktaSnapshot:
        progress = self._progress
        if progress.count == 0:  # incremental and on-demand reads are counted when written
            progress.count = snapshot.count
        seconds = progress.done()
        metrics.count("okta.assignments_read", progress.count, self._tags)
        metrics.duration("okta.read_duration", seconds, self._tags)
        self.log.info("Wrote %d Okta assignment records to %s", snapshot.count, snapshot.path)
        if snapshot.pending:
            self.log.info("Retrying %d users pending in escrow.", len(snapshot.pending))
        return snapshot


class _EscrowAccess:
    """Escrow as ``poll_okta`` uses it: the users due for a retry, and the write-ahead."""

    def __init__(self, store: EscrowStore, key: str, config: SyncConfig) -> None:
        self.store, self.key, self.config = store, key, config

    def due(self) -> list[PendingUser]:
        from okta_salesforce.escrow_store import load_escrow

        return load_escrow(self.store, self.key, self.config.failures).due(_now())

    def write_ahead(self, records: list[OktaAssignment]) -> EscrowWriteAhead:
        """Put every user read into escrow before the cursor may move past their events."""
        from okta_salesforce.escrow_store import change_escrow
        from okta_salesforce.sync.snapshot import EscrowWriteAhead

        pairs = [(r.login, r.okta_user_id or None) for r in records]
        escrow, added = change_escrow(self.store, self.key, lambda e: e.hold(pairs, _now()))
        return EscrowWriteAhead(key=self.key, written_ahead=len(pairs), added=added, pending=len(escrow))


def read_pending(
    hook: OktaHook, app_id: str, pending: Sequence[PendingUser], skip: set[str]
) -> list[OktaAssignment]:
    """The current Okta state of the pending users not in ``skip`` (case-folded logins).

    Users with an Okta id are read by id (a deleted one comes back ``assigned=False``); the others
    by login, and a login Okta does not know is reported unassigned, so the plan can deprovision
    the Salesforce user it was recorded for.
    """
    from okta_salesforce.sync.models import OktaAssignment

    wanted = [p for p in pending if p.login.casefold() not in skip]
    by_id = {p.okta_user_id: p.login for p in wanted if p.okta_user_id}
    records = hook.get_assignments(app_id, by_id) if by_id else []
    logins = [p.login for p in wanted if not p.okta_user_id]
    found = list(hook.iter_assignments_for_logins(app_id, logins)) if logins else []
    known = {r.login.casefold() for r in found}
    missing = [
        OktaAssignment(
            okta_user_id="",
            login=login,
            app_username=login,
            assignment_status="UNASSIGNED",
            scope="",
            user_status="DELETED",
            profile={"login": login},
            assigned=False,
        )
        for login in logins
        if login.casefold() not in known
    ]
    return [*records, *found, *missing]


def _group_list(groups: list[str] | str | None) -> list[str] | None:
    """Group names from a list, a JSON list or one name (names may hold spaces); None when not given."""
    if groups is None:
        return None
    return as_names(groups, name="groups", split=False)


def _now() -> datetime:
    return datetime.now(UTC)


def _write(
    target: ObjectStoragePath,
    records: Iterable[OktaAssignment | dict[str, Any]],
    *,
    mode: str,
    dry_run: bool,
    complete: bool = False,
) -> OktaSnapshot:
    """Stream ``records`` (or their snapshot lines) into ``target`` as JSON Lines; return the snapshot."""
    from okta_salesforce.storage import write_jsonl
    from okta_salesforce.sync.snapshot import OktaSnapshot

    counts = {"assigned": 0, "unassigned": 0}

    def rows() -> Iterator[dict[str, Any]]:
        for record in records:
            row = record if isinstance(record, dict) else record.to_dict()
            counts["assigned" if row["assigned"] else "unassigned"] += 1
            yield row

    count = write_jsonl(target, rows())
    return OktaSnapshot(
        path=str(target),
        mode=mode,
        complete=complete,
        dry_run=dry_run,
        count=count,
        assigned=counts["assigned"],
        unassigned=counts["unassigned"],
    )


class CommitOktaCursorOperator(BaseOperator):
    """Save the System Log cursor an incremental ``poll_okta`` left pending, once the run succeeded.

    Placed after the report with the default ``all_success`` trigger rule: when a writer fails,
    the cursor stays where it was and the next run reads the same events again (plans are
    idempotent, so nothing is written twice). Full and on-demand runs have no cursor: no-op.

    :param poll: the ``poll_okta`` task's XCom.
    :param cursor_store: where cursors live (default: Airflow Variables).
    """

    template_fields: Sequence[str] = ("poll",)

    def __init__(
        self, *, poll: OktaSnapshot | dict[str, Any], cursor_store: CursorStore | None = None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.poll = poll
        self.cursor_store = cursor_store

    def execute(self, context: Context) -> dict[str, Any] | None:
        from okta_salesforce.hooks.okta_events import EventCursor, VariableCursorStore
        from okta_salesforce.storage import read_json
        from okta_salesforce.sync.snapshot import CursorState, OktaSnapshot

        mode: str | None
        if isinstance(self.poll, OktaSnapshot):
            mode, pending = self.poll.mode, self.poll.cursor
        else:  # any poll result, even one without a snapshot (a full or on-demand run: nothing to do)
            mode, pending = (
                (self.poll or {}).get("mode"),
                CursorState.from_xcom((self.poll or {}).get("cursor")),
            )
        if pending is None or not pending.path:
            self.log.info("No pending System Log cursor (a %s run).", mode)
            return None
        cursor = EventCursor.from_dict(read_json(pending.path))
        if cursor is None:
            raise ValueError(f"The pending cursor file {pending.path} holds no cursor.")
        (self.cursor_store or VariableCursorStore()).save(pending.key, cursor)
        self.log.info("System Log cursor %s now at %s.", pending.key, cursor.last_published)
        return {"key": pending.key, "last_published": cursor.last_published}
