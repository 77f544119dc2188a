"""Operator that reads who is assigned to the Salesforce app in Okta and stores it as a run file."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

from okta_salesforce.operators.params import as_logins

if TYPE_CHECKING:
    from airflow.sdk import Context, ObjectStoragePath

    from okta_salesforce.hooks.okta_events import CursorStore
    from okta_salesforce.sync.models import OktaAssignment

MODES = ("full", "incremental")


class OktaAssignmentsOperator(BaseOperator):
    """Read the assignments of an Okta app into a JSON Lines file; return its path and counts.

    Modes: ``full`` (every assignment; the file is authoritative, absence means unassigned),
    ``incremental`` (System Log changes since the last run, then the current state of the users
    they touched, ``assigned=False`` for removals). A non-empty ``users`` list (Okta logins) reads
    just those users, whatever the mode (provisioning on demand).

    The file holds one :class:`~okta_salesforce.sync.models.OktaAssignment` dict per line, under
    ``output_path`` (default: ``okta_salesforce.storage``'s base), one file per run and try.

    :param app_id: the Okta app id (``0oa...``); defaults to ``okta.app_id`` of the sync config.
    :param mode: ``full`` or ``incremental``.
    :param users: Okta logins to read instead (a list, or a comma/space separated string).
    :param output_path: base URL or path of the run files (``file://``, ``s3://`` ...).
    :param cursor_key: the Airflow Variable holding the System Log cursor of incremental runs.
    :param okta_conn_id: the ``okta`` connection.
    :param cursor_store: where cursors live (default: Airflow Variables).
    :param commit_cursor: save the System Log cursor as soon as the file is written. Pipelines set
        False and commit with :class:`CommitOktaCursorOperator` once every write succeeded, so a
        failed run reads the same events again instead of losing them.
    """

    template_fields: Sequence[str] = ("app_id", "mode", "users", "output_path", "cursor_key")

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

    def execute(self, context: Context) -> dict[str, Any]:
        from okta_salesforce.hooks.okta import OktaHook
        from okta_salesforce.hooks.okta_events import IncrementalReader, VariableCursorStore

        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, not {self.mode!r}")
        if not self.app_id:
            from okta_salesforce.sync.config import load_config

            self.app_id = load_config().okta_app_id
        logins = as_logins(self.users)
        target = self._output_file(context, "users" if logins else self.mode)
        summary: dict[str, Any] = {"mode": "users" if logins else self.mode, "complete": False}
        with OktaHook(okta_conn_id=self.okta_conn_id) as hook:
            if logins:
                summary["requested"] = len(logins)
                records: Iterable[OktaAssignment] = hook.iter_assignments_for_logins(self.app_id, logins)
                summary |= _write(target, records)
            elif self.mode == "full":
                summary |= _write(target, hook.iter_assignments(self.app_id)) | {"complete": True}
            else:
                store = self.cursor_store or VariableCursorStore()
                reader = IncrementalReader(hook, self.app_id, store=store, key=self.cursor_key)
                result = reader.poll()
                summary |= _write(target, reader.read(result))
                summary["cursor"] = {
                    "key": self.cursor_key,
                    "events": len(result.events),
                    "pages": result.pages,
                    "last_published": result.cursor.last_published,
                    "committed": self.commit_cursor,
                }
                if self.commit_cursor:
                    reader.commit(result)
                else:
                    from okta_salesforce.storage import write_json

                    pending = target.parent / f"okta_cursor_{target.stem}.json"
                    write_json(pending, result.cursor.to_dict())
                    summary["cursor"]["path"] = str(pending)
        self.log.info("Wrote %(count)d Okta assignment records to %(path)s", summary)
        return summary

    def _output_file(self, context: Context, label: str) -> ObjectStoragePath:
        from okta_salesforce.storage import run_folder

        ti = context["ti"]
        folder = run_folder(ti.dag_id, ti.run_id, base=self.output_path)
        suffix = f"_{ti.map_index}" if ti.map_index >= 0 else ""
        return folder / f"okta_{label}_{ti.task_id}{suffix}_try{ti.try_number}.jsonl"


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
