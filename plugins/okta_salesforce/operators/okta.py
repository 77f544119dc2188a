"""Operator that reads who is assigned to the Salesforce app in Okta and stores it as a run file."""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

from okta_salesforce import metrics
from okta_salesforce.operators.params import as_bool, as_logins

if TYPE_CHECKING:
    from airflow.sdk import Context, ObjectStoragePath

    from okta_salesforce.escrow_store import EscrowStore
    from okta_salesforce.hooks.okta import OktaHook
    from okta_salesforce.hooks.okta_events import CursorStore
    from okta_salesforce.sync.escrow import PendingUser
    from okta_salesforce.sync.models import OktaAssignment

MODES = ("full", "incremental")


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
        from okta_salesforce.escrow_store import VariableEscrowStore, escrow_key, load_escrow
        from okta_salesforce.hooks.okta import OktaHook
        from okta_salesforce.hooks.okta_events import IncrementalReader, VariableCursorStore
        from okta_salesforce.hooks.okta_groups import GroupReader
        from okta_salesforce.sync.config import load_config
        from okta_salesforce.sync.entitlements_config import group_names
        from okta_salesforce.sync.okta_attributes import profile_attributes
        from okta_salesforce.sync.progress import Progress

        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, not {self.mode!r}")
        config = load_config(resolve_config_path(self.config_path), target=self.target)
        if not self.app_id:
            self.app_id = config.okta_app_id
        dry_run = as_bool(self.dry_run)
        logins = as_logins(self.users)
        mode = "users" if logins else self.mode
        target = self._output_file(context, mode)
        summary: dict[str, Any] = {"mode": mode, "complete": False, "dry_run": dry_run}
        escrow_store = self.escrow_store or VariableEscrowStore()
        key = self.escrow_key or escrow_key(self.app_id, config.target)
        due = [] if mode == "full" else load_escrow(escrow_store, key, config.failures).due(_now())
        group_list = _group_list(self.groups)
        self._progress = Progress(self.log, "Okta assignments read")
        self._tags = metrics.task_tags(context)
        with OktaHook(okta_conn_id=self.okta_conn_id) as hook:
            groups = GroupReader(hook, list(group_names(config)) if group_list is None else group_list)
            if mode == "full":
                # Profiles trimmed at read time to the attributes the config reads.
                read = hook.iter_assignments(self.app_id, attributes=profile_attributes(config))
                records_all = groups.attach(self._progress.iterate(read), bulk=True)
                summary |= _write(target, records_all) | {"complete": True}
                return self._log(summary)
            result = None
            if logins:
                summary["requested"] = len(logins)
                records = list(hook.iter_assignments_for_logins(self.app_id, logins))
            else:
                store = self.cursor_store or VariableCursorStore()
                reader = IncrementalReader(hook, self.app_id, store=store, key=self.cursor_key)
                result = reader.poll()
                records = reader.read(result)
            pending = read_pending(hook, self.app_id, due, {r.login.casefold() for r in records})
            summary["pending"] = [r.login for r in pending]
            records = list(groups.attach([*records, *pending], bulk=False))
            summary |= _write(target, records)
            if not dry_run:
                summary["escrow"] = self._write_ahead(escrow_store, key, records)
            if result is not None:
                summary["cursor"] = self._cursor(
                    reader, result, target, commit=self.commit_cursor and not dry_run
                )
        return self._log(summary)

    def _write_ahead(self, store: EscrowStore, key: str, records: list[OktaAssignment]) -> dict[str, Any]:
        """Put every user read into escrow before the cursor may move past their events."""
        from okta_salesforce.escrow_store import change_escrow

        pairs = [(r.login, r.okta_user_id or None) for r in records]
        escrow, added = change_escrow(store, key, lambda e: e.hold(pairs, _now()))
        return {"key": key, "written_ahead": len(pairs), "added": added, "pending": len(escrow)}

    def _cursor(self, reader: Any, result: Any, target: ObjectStoragePath, *, commit: bool) -> dict[str, Any]:
        cursor = {
            "key": self.cursor_key,
            "events": len(result.events),
            "pages": result.pages,
            "last_published": result.cursor.last_published,
            "committed": commit,
        }
        if commit:
            reader.commit(result)
        else:
            from okta_salesforce.storage import write_json

            pending = target.parent / f"okta_cursor_{target.stem}.json"
            write_json(pending, result.cursor.to_dict())
            cursor["path"] = str(pending)
        return cursor

    def _log(self, summary: dict[str, Any]) -> dict[str, Any]:
        progress = self._progress
        if progress.count == 0:  # incremental and on-demand reads are counted when written
            progress.count = summary.get("count", 0)
        seconds = progress.done()
        metrics.count("okta.assignments_read", progress.count, self._tags)
        metrics.duration("okta.read_duration", seconds, self._tags)
        self.log.info("Wrote %(count)d Okta assignment records to %(path)s", summary)
        if summary.get("pending"):
            self.log.info("Retrying %d users pending in escrow.", len(summary["pending"]))
        return summary

    def _output_file(self, context: Context, label: str) -> ObjectStoragePath:
        from okta_salesforce.storage import run_folder

        ti = context["ti"]
        folder = run_folder(ti.dag_id, ti.run_id, base=self.output_path)
        suffix = f"_{ti.map_index}" if ti.map_index >= 0 else ""
        return folder / f"okta_{label}_{ti.task_id}{suffix}_try{ti.try_number}.jsonl"


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
    """Group names from a list or a rendered list (names may hold spaces); None when not given."""
    if groups is None:
        return None
    if isinstance(groups, str):
        text = groups.strip()
        groups = ast.literal_eval(text) if text.startswith("[") else [text] if text else []
    return [str(g).strip() for g in groups if str(g).strip()]  # type: ignore[union-attr]


def _now() -> datetime:
    return datetime.now(UTC)


def _write(target: ObjectStoragePath, records: Iterable[OktaAssignment]) -> dict[str, Any]:
    """Stream ``records`` into ``target`` as JSON Lines; return the path and counts."""
    from okta_salesforce.storage import write_jsonl

    counts = {"assigned": 0, "unassigned": 0}

    def rows() -> Iterator[dict[str, Any]]:
        for record in records:
            counts["assigned" if record.assigned else "unassigned"] += 1
            yield record.to_dict()

    count = write_jsonl(target, rows())
    return {"path": str(target), "count": count, **counts}


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
        self, *, poll: dict[str, Any] | Any, cursor_store: CursorStore | None = None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.poll = poll
        self.cursor_store = cursor_store

    def execute(self, context: Context) -> dict[str, Any] | None:
        from okta_salesforce.hooks.okta_events import EventCursor, VariableCursorStore
        from okta_salesforce.storage import read_json

        cursor_info = (self.poll or {}).get("cursor") or {}
        if not cursor_info.get("path"):
            self.log.info("No pending System Log cursor (a %s run).", (self.poll or {}).get("mode"))
            return None
        cursor = EventCursor.from_dict(read_json(cursor_info["path"]))
        if cursor is None:
            raise ValueError(f"The pending cursor file {cursor_info['path']} holds no cursor.")
        (self.cursor_store or VariableCursorStore()).save(cursor_info["key"], cursor)
        self.log.info("System Log cursor %s now at %s.", cursor_info["key"], cursor.last_published)
        return {"key": cursor_info["key"], "last_published": cursor.last_published}
