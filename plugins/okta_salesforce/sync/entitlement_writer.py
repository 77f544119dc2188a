"""Apply ``entitle`` actions: permission set licenses, permission sets and groups, second-pass managers.

:func:`apply_entitlements` runs after the user writes (a created user's id comes from its
create outcome) and writes, each step batched through sObject Collections (at most 200 records
per call, ``allOrNone`` false, so one refused record never sinks its batch):

1. ``POST composite/sobjects``: PermissionSetLicenseAssign (licenses before the sets that need them);
2. ``POST composite/sobjects``: PermissionSetAssignment with ``PermissionSetId`` or
   ``PermissionSetGroupId``;
3. ``DELETE composite/sobjects?ids=...``: PermissionSetAssignment rows no longer granted;
4. ``DELETE composite/sobjects?ids=...``: PermissionSetLicenseAssign rows no longer granted;
5. ``PATCH composite/sobjects``: ``ManagerId`` of users whose manager was created in this run.

Reruns converge: an assignment that already exists (``DUPLICATE_VALUE``) counts as assigned, one
already gone (``ENTITY_IS_DELETED``) as removed. Each action gets one
:class:`~okta_salesforce.sync.models.Outcome` (label ``entitle``) that succeeds only when every
item did, and whose message says what happened to each. Requests go through the user writer's
:class:`~okta_salesforce.sync.transport.Transport`: transient failures are retried in the task
(``writer.retries``; re-sending is safe, a repeat is a duplicate or already gone), the API budget
and a request that still fails stop writing (``API_BUDGET``, ``REQUEST_FAILED``, then
``NOT_ATTEMPTED``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

from okta_salesforce.sync.entitlements_config import EntitlementType
from okta_salesforce.sync.guards import ApiBudget
from okta_salesforce.sync.managers import MANAGER_FIELD
from okta_salesforce.sync.models import Action, ActionKind, Outcome
from okta_salesforce.sync.transport import REQUEST_FAILED, Transport, WriteStopped

if TYPE_CHECKING:
    from simple_salesforce import Salesforce

    from okta_salesforce.sync.config import SyncConfig
    from okta_salesforce.sync.models import DirectoryInfo

log = logging.getLogger(__name__)

COLLECTIONS = "composite/sobjects"
MAX_BATCH = 200
_LABEL = "entitle"
_PAST = {"assign": "assigned", "remove": "removed", "link": "linked"}


def created_ids(outcomes: Iterable[Outcome]) -> dict[str, str]:
    """Login (case-folded) → User id of every successful create in ``outcomes``."""
    return {
        o.login.casefold(): o.salesforce_id
        for o in outcomes
        if o.success and o.action == str(ActionKind.CREATE) and o.salesforce_id
    }


def apply_entitlements(
    sf: Salesforce | None,
    actions: Iterable[Action],
    config: SyncConfig,
    directory: DirectoryInfo,
    *,
    created: Mapping[str, str] | None = None,
    dry_run: bool = False,
    budget: ApiBudget | None = None,
    sleep: Callable[[float], None] | None = None,
) -> list[Outcome]:
    """Apply the ``entitle`` actions among ``actions``; one outcome per action.

    :param sf: a simple-salesforce client (None only for a dry run).
    :param created: login (case-folded) → id of users created in this run (:func:`created_ids`):
        creates' own entitlements, and managers linked in the second pass.
    :param dry_run: write nothing; every action gets a successful "dry run" outcome.
    :param sleep: how the retries wait (default ``time.sleep``; tests pass a no-op).
    """
    entitle = [a for a in actions if a.kind is ActionKind.ENTITLE]
    if dry_run:
        return [
            Outcome(a.login, _LABEL, True, a.salesforce_id, message=f"dry run: would {a.reason}")
            for a in entitle
        ]
    transport = Transport(
        sf,
        budget or ApiBudget(config.guards.api_budget_share),
        retries=config.writer.retries,
        backoff=config.writer.retry_backoff_seconds,
        max_backoff=config.writer.max_retry_backoff_seconds,
        **({"sleep": sleep} if sleep else {}),
    )
    return _Writer(transport, config, directory, dict(created or {})).apply(entitle)


@dataclass
class _Item:
    """One entitlement of one action on its way to Salesforce."""

    action: Action
    verb: str  # assign, remove, link
    what: str  # "permission set group Sales_Cloud_Users"
    record: dict[str, Any] = field(default_factory=dict)
    delete_id: str | None = None
    ok_codes: tuple[str, ...] = ()
    ok_note: str = ""
    result: tuple[bool, str, str, tuple[str, ...]] | None = None  # success, code, message, fields


class _Writer:
    def __init__(
        self, transport: Transport, config: SyncConfig, directory: DirectoryInfo, created: dict[str, str]
    ) -> None:
        self.transport = transport
        self.sf = transport.sf
        self.directory = directory
        self.created = created
        self.batch_size = min(config.writer.batch_size, MAX_BATCH)
        self.timeout = config.writer.timeout_seconds

    def apply(self, actions: Sequence[Action]) -> list[Outcome]:
        steps: dict[str, list[_Item]] = {
            "licenses": [],
            "sets": [],
            "unsets": [],
            "unlicenses": [],
            "managers": [],
        }
        per_action: list[tuple[Action, list[_Item]]] = []
        for action in actions:
            items = self._items(action, steps)
            per_action.append((action, items))
        self._post(steps["licenses"])
        self._post(steps["sets"])
        self._delete(steps["unsets"])
        self._delete(steps["unlicenses"])
        self._send("PATCH", steps["managers"])
        outcomes = [self._outcome(action, items) for action, items in per_action]
        failed = sum(1 for o in outcomes if not o.success)
        log.info("Entitlements: %d users, %d failed", len(outcomes), failed)
        return outcomes

    # Items -------------------------------------------------------------------------------
    def _items(self, action: Action, steps: dict[str, list[_Item]]) -> list[_Item]:
        user_id = action.salesforce_id or self.created.get(action.login.casefold())
        items: list[_Item] = []
        for entry in action.entitlements:
            kind, name, op = EntitlementType(entry["type"]), entry["name"], entry["op"]
            label = kind.value.replace("_", " ")
            item = _Item(action, op, f"{label} {name}")
            items.append(item)
            if not user_id:
                item.result = (False, "NOT_ATTEMPTED", "the user was not created in this run", ())
                continue
            if op == "remove":
                item.delete_id = entry.get("id")
                item.ok_codes, item.ok_note = ("ENTITY_IS_DELETED",), " (already removed)"
                lic = kind is EntitlementType.PERMISSION_SET_LICENSE
                steps["unlicenses" if lic else "unsets"].append(item)
                continue
            record_id = self._id_of(kind, name)
            if record_id is None:
                item.result = (False, "UNKNOWN_REFERENCE", f"no {kind.sobject} named {name!r}", ())
                continue
            key = {
                EntitlementType.PERMISSION_SET: "PermissionSetId",
                EntitlementType.PERMISSION_SET_GROUP: "PermissionSetGroupId",
                EntitlementType.PERMISSION_SET_LICENSE: "PermissionSetLicenseId",
            }[kind]
            sobject = (
                "PermissionSetLicenseAssign"
                if kind is EntitlementType.PERMISSION_SET_LICENSE
                else "PermissionSetAssignment"
            )
            item.record = {"attributes": {"type": sobject}, "AssigneeId": user_id, key: record_id}
            item.ok_codes, item.ok_note = ("DUPLICATE_VALUE",), " (already assigned)"
            steps["licenses" if kind is EntitlementType.PERMISSION_SET_LICENSE else "sets"].append(item)
        manager_login = action.fields.get(MANAGER_FIELD)
        if manager_login:
            item = _Item(action, "link", f"manager {manager_login}")
            items.append(item)
            manager_id = self.created.get(str(manager_login).casefold())
            if not user_id:
                item.result = (False, "NOT_ATTEMPTED", "the user was not created in this run", ())
            elif not manager_id:
                item.result = (
                    False,
                    "MANAGER_NOT_PROVISIONED",
                    f"the manager {manager_login} was not created in this run",
                    (MANAGER_FIELD,),
                )
            else:
                item.record = {"attributes": {"type": "User"}, "id": user_id, MANAGER_FIELD: manager_id}
                steps["managers"].append(item)
        return items

    def _id_of(self, kind: EntitlementType, name: str) -> str | None:
        return {
            EntitlementType.PERMISSION_SET: self.directory.permission_sets,
            EntitlementType.PERMISSION_SET_GROUP: self.directory.permission_set_groups,
            EntitlementType.PERMISSION_SET_LICENSE: self.directory.permission_set_licenses,
        }[kind].get(name)

    # Requests ----------------------------------------------------------------------------
    def _post(self, items: list[_Item]) -> None:
        self._send("POST", items)

    def _restful(self) -> Callable[..., Any]:
        if self.sf is None:
            raise RuntimeError("Entitlement writes need a Salesforce client; only a dry run has none")
        return self.sf.restful

    def _send(self, method: str, items: list[_Item]) -> None:
        restful = self._restful()
        for start in range(0, len(items), self.batch_size):
            batch = items[start : start + self.batch_size]
            records = [i.record for i in batch]
            self._batch(
                batch,
                partial(
                    restful,
                    COLLECTIONS,
                    method=method,
                    json={"allOrNone": False, "records": records},
                    timeout=self.timeout,
                ),
            )

    def _delete(self, items: list[_Item]) -> None:
        restful = self._restful()
        for start in range(0, len(items), self.batch_size):
            batch = items[start : start + self.batch_size]
            ids = ",".join(str(i.delete_id) for i in batch)
            self._batch(
                batch,
                partial(
                    restful,
                    COLLECTIONS,
                    method="DELETE",
                    params={"ids": ids, "allOrNone": "false"},
                    timeout=self.timeout,
                ),
            )

    def _batch(self, batch: list[_Item], request: Callable[[], Any]) -> None:
        """One request for ``batch`` (retried by the transport when the failure is transient;
        assignments and deletes are safe to re-send: a repeat is a duplicate or already gone)."""
        try:
            results = self.transport.call(request)
            if not isinstance(results, list) or len(results) != len(batch):
                raise WriteStopped(
                    REQUEST_FAILED, "unexpected sObject Collections response (not one result per record)"
                )
        except WriteStopped as stop:
            for item in batch:
                item.result = (False, stop.code, stop.message, ())
            self.transport.stop(stop.not_attempted())
            return
        for item, result in zip(batch, results, strict=True):
            if result.get("success"):
                item.result = (True, "", "", ())
                continue
            errors = result.get("errors") or [{"statusCode": "UNKNOWN_ERROR", "message": "no error detail"}]
            code = str(errors[0].get("statusCode") or "UNKNOWN_ERROR")
            if code in item.ok_codes:
                item.result = (True, "", item.ok_note, ())
                continue
            message = "; ".join(str(e.get("message", "")) for e in errors)
            fields = tuple(f for e in errors for f in e.get("fields") or [])
            item.result = (False, code, message, fields)

    # Outcomes ----------------------------------------------------------------------------
    def _outcome(self, action: Action, items: list[_Item]) -> Outcome:
        user_id = action.salesforce_id or self.created.get(action.login.casefold())
        parts, failed = [], []
        for item in items:
            success, code, message, fields = item.result or (False, "NOT_ATTEMPTED", "not attempted", ())
            if success:
                parts.append(f"{_PAST[item.verb]} {item.what}{message}")
            else:
                parts.append(f"{item.verb} {item.what} failed: {code}: {message}")
                failed.append((code, fields))
        fields_out = tuple(dict.fromkeys(f for _, fs in failed for f in fs))
        return Outcome(
            login=action.login,
            action=_LABEL,
            success=not failed,
            salesforce_id=user_id,
            error_code=failed[0][0] if failed else None,
            message="; ".join(parts),
            fields=fields_out,
        )
