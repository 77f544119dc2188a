"""Apply a plan to Salesforce through sObject Collections, record by record outcomes.

:func:`apply_plan` writes creates (``POST composite/sobjects``), activations, updates and
deactivations (``PATCH composite/sobjects`` on User), freezes and unfreezes (``PATCH`` on
UserLogin) and permission set assignments (``POST`` PermissionSetAssignment) in batches of at
most 200 with ``allOrNone: false``, so one bad record never sinks its batch. Every action gets
an :class:`~okta_salesforce.sync.models.Outcome`.

Reruns converge: a create refused with ``DUPLICATE_USERNAME`` because an earlier attempt
landed re-reads that username and links to (and activates) the existing user, and a create
refused with ``DUPLICATE_COMM_NICKNAME`` is retried once with a suffixed nickname. Before
every request the API budget is checked against ``Sforce-Limit-Info``; past the configured
share, writing stops and the remaining actions are reported as ``API_BUDGET``.

Transient failures (dropped connection, timeout, HTTP 5xx) are retried with backoff by
:class:`~okta_salesforce.sync.transport.Transport`. A create batch is never re-sent blind: before
each re-send the writer reads its usernames back, links the users whose create landed although
the answer was lost, and re-sends only the rest. A request that still fails stops the writer:
its records are ``REQUEST_FAILED`` and the rest ``NOT_ATTEMPTED``; the caller escrows them.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from okta_salesforce.sync.collections_sender import CollectionsSender
from okta_salesforce.sync.diff import diff
from okta_salesforce.sync.directory import user_login_ids, users_by_username
from okta_salesforce.sync.fields import USER_FIELDS
from okta_salesforce.sync.guards import deprovision_refusal
from okta_salesforce.sync.mapping import Mapper, truncate_utf16
from okta_salesforce.sync.models import DEPROVISION_KINDS, Action, ActionKind, Outcome, Plan
from okta_salesforce.sync.outcomes import DEFERRED, PAST, Item
from okta_salesforce.sync.scoping import ManagedFilter
from okta_salesforce.sync.transport import WriteStopped

if TYPE_CHECKING:
    from simple_salesforce import Salesforce

    from okta_salesforce.sync.config import SyncConfig
    from okta_salesforce.sync.guards import ApiBudget, Approval, Refusal
    from okta_salesforce.sync.models import DirectoryInfo

log = logging.getLogger(__name__)
#: The fields whose names the writer resolves to ids, and the sObject each names.
_REFERENCES = {
    name: spec.references for name, spec in USER_FIELDS.items() if spec.references in ("Profile", "UserRole")
}


def apply_plan(
    sf: Salesforce,
    plan: Plan,
    config: SyncConfig,
    directory: DirectoryInfo,
    *,
    dry_run: bool = False,
    sleep: Callable[[float], None] | None = None,
    approval: Approval | None = None,
) -> list[Outcome]:
    """Apply ``plan`` to Salesforce and return one outcome per action (more for permission sets).

    Deactivations and freezes are refused (``GUARD_TRIPPED``, ``PLAN_EXPIRED``) when
    :func:`~okta_salesforce.sync.guards.deprovision_refusal` says so: no guard verdict, a blocked
    guard without an approval of this plan, or a plan older than ``guards.max_plan_age_minutes``.

    :param sf: a simple-salesforce client (its ``api_usage`` feeds the API budget).
    :param plan: the plan from :func:`~okta_salesforce.sync.plan.build_plan`.
    :param config: the sync config (batch size, budget share, mapping for links).
    :param directory: resolved Profile/UserRole/PermissionSet names.
    :param dry_run: write nothing; every write action gets a successful "dry run" outcome.
    :param sleep: how the retries wait (default ``time.sleep``; tests pass a no-op).
    :param approval: the approval this run holds for the plan's deprovisioning, if any.
    """
    if any(a.kind is ActionKind.ENTITLE for a in plan.actions):  # entitlement_writer applies them, after
        plan = replace(plan, actions=tuple(a for a in plan.actions if a.kind is not ActionKind.ENTITLE))
    return SalesforceWriter(sf, config, directory, dry_run=dry_run, sleep=sleep, approval=approval).apply(
        plan
    )


class SalesforceWriter(CollectionsSender):
    """Applies plans with one simple-salesforce client.

    :param sf: the client.
    :param config: the sync config.
    :param directory: resolved setup names.
    :param dry_run: write nothing.
    :param budget: the API budget (from ``config.guards.api_budget_share`` by default).
    :param sleep: how the retries wait (default ``time.sleep``).
    :param approval: the approval this run holds for the plan's deprovisioning, if any.
    """

    def __init__(
        self,
        sf: Salesforce,
        config: SyncConfig,
        directory: DirectoryInfo,
        *,
        dry_run: bool = False,
        budget: ApiBudget | None = None,
        sleep: Callable[[float], None] | None = None,
        approval: Approval | None = None,
    ) -> None:
        super().__init__(sf, config, dry_run=dry_run, budget=budget, sleep=sleep)
        self.approval = approval
        self.config = config
        self.directory = directory
        self.managed = ManagedFilter(config.managed)
        self.always = Mapper(config).always
        self._grants: list[tuple[Action, str, str]] = []
        self._links: list[Item] = []
        self._retries: list[Item] = []
        self._total = self._succeeded = 0

    # Entry points --------------------------------------------------------------------------
    def apply(self, plan: Plan) -> list[Outcome]:
        """Apply every action of ``plan``; returns the outcomes (also kept in ``self.outcomes``)."""
        self._apply(plan.actions, deprovision_refusal(plan, self.approval, self.config.guards.max_plan_age))
        self._log_summary()
        return self.outcomes

    def apply_batches(self, plan: Plan, batches: Iterable[Sequence[Action]]) -> Iterator[list[Outcome]]:
        """Apply actions a batch at a time (memory bounded by the batch, not the plan); yields each
        batch's outcomes. ``plan`` gives the guard verdict and time (its own actions are ignored)."""
        refusal = deprovision_refusal(plan, self.approval, self.config.guards.max_plan_age)
        for batch in batches:
            self._apply(batch, refusal)
            outcomes, self.outcomes = self.outcomes, []
            self._total += len(outcomes)
            self._succeeded += sum(o.success for o in outcomes)
            yield outcomes
        self._log_summary()

    def _apply(self, actions: Iterable[Action], refusal: Refusal | None) -> None:
        creates: list[Item] = []
        user_patches: list[Item] = []
        freezes: list[Action] = []
        for action in actions:
            if action.kind is ActionKind.ERROR:
                self.fail(action, "INVALID_INPUT", action.reason, [e.field for e in action.errors if e.field])
            elif action.kind is ActionKind.SKIP:
                self.ok(action, action.salesforce_id, action.reason)
            elif self.dry_run:
                self.ok(action, action.salesforce_id, f"dry run: would {action.kind} ({action.reason})")
            elif action.kind in DEPROVISION_KINDS and refusal is not None:
                self.fail(action, refusal.code, refusal.message)
            elif action.kind in (ActionKind.FREEZE, ActionKind.UNFREEZE):
                freezes.append(action)
            elif (item := self._user_item(action)) is not None:
                (creates if action.kind is ActionKind.CREATE else user_patches).append(item)
        if not self.dry_run:
            self._send("POST", creates)
            if self._retries:
                retries, self._retries = self._retries, []
                self._send("POST", retries)
            if self._links:
                self._link(self._links)
            self._send("PATCH", user_patches)
            self._write_freezes(freezes)
            self._write_grants()

    # Records ---------------------------------------------------------------------------------
    def _user_item(self, action: Action) -> Item | None:
        create = action.kind is ActionKind.CREATE
        record: dict[str, Any] = {"attributes": {"type": "User"}}
        if not create:
            record["id"] = action.salesforce_id
        unknown = []
        for name, value in action.fields.items():
            resolved, ok = self._resolve(name, value)
            if not ok:
                unknown.append(name)
            record[name] = resolved
        if unknown:
            detail = ", ".join(f"{n} {action.fields[n]!r}" for n in unknown)
            self.fail(action, "UNKNOWN_REFERENCE", f"no such record in Salesforce for {detail}", unknown)
            return None
        if create:
            return Item(action, record, str(action.kind), self._created, self._create_failed)
        return Item(action, record, str(action.kind), self._patched)

    def _resolve(self, name: str, value: Any) -> tuple[Any, bool]:
        """A reference field's name as an id: ``(value, known)``; other fields pass through."""
        references = _REFERENCES.get(name)
        if references is None or value in (None, ""):
            return value, True
        table = self.directory.profiles if references == "Profile" else self.directory.roles
        if value in table:
            return table[value], True
        return value, value in table.values()

    # Callbacks -------------------------------------------------------------------------------
    def _created(self, item: Item, result: dict[str, Any]) -> Outcome:
        note = item.extra.get("note")
        self._queue_grants(item.action, result["id"])
        return self.outcome(
            item.action, True, result["id"], message=f"created ({note})" if note else "created"
        )

    def _patched(self, item: Item, result: dict[str, Any]) -> Outcome:
        action = item.action
        user_id = action.salesforce_id or result.get("id")
        if action.kind is ActionKind.ACTIVATE and user_id:
            self._queue_grants(action, user_id)
        return self.outcome(action, True, user_id, message=PAST[action.kind])

    def _create_failed(self, item: Item, error: dict[str, Any]) -> object | None:
        code = error.get("statusCode")
        if code == "DUPLICATE_USERNAME":
            self._links.append(item)
            return DEFERRED
        if code == "DUPLICATE_COMM_NICKNAME" and not item.extra.get("renamed"):
            nickname = str(item.record.get("CommunityNickname") or item.action.login.split("@")[0])
            digest = hashlib.sha256(f"{item.action.login}#nickname".encode()).hexdigest()[:6]
            item.record["CommunityNickname"] = truncate_utf16(nickname, 33) + "." + digest
            item.extra.update(renamed=True, note=f"nickname taken; used {item.record['CommunityNickname']!r}")
            self._retries.append(item)
            return DEFERRED
        return None

    # Creates whose answer was lost -----------------------------------------------------------
    def before_resend(self, method: str, batch: list[Item]) -> Callable[[], None] | None:
        """Before a create batch is re-sent, read its usernames back: records whose create landed
        although its answer was lost leave ``batch`` for the duplicate-username link, so nobody is
        created twice."""
        if method != "POST" or not all(i.label == str(ActionKind.CREATE) for i in batch):
            return None

        def landed() -> None:
            usernames = [str(i.record.get("Username", "")) for i in batch]
            found = users_by_username(self.sf, self.config, usernames, self.directory)
            for item in [i for i in batch if str(i.record.get("Username", "")).lower() in found]:
                batch.remove(item)
                item.extra.setdefault("note", "the answer to its create was lost")
                self._links.append(item)
            if found:
                log.info("%d creates landed although their answer was lost; linking them.", len(found))

        return landed

    # Duplicate usernames: link instead of failing ----------------------------------------------
    def _link(self, items: list[Item]) -> None:
        """Creates refused with DUPLICATE_USERNAME: link to the existing user when it is ours."""
        self._links = []
        usernames = [str(i.record.get("Username", "")) for i in items]
        try:
            found = self.transport.call(
                lambda: users_by_username(self.sf, self.config, usernames, self.directory)
            )
        except WriteStopped as stop:
            for item in items:
                self.fail_item(item, stop.code, f"username exists; could not read it ({stop.message})")
            self.transport.stop(stop.not_attempted())
            return
        patches = []
        for item in items:
            user = found.get(str(item.record.get("Username", "")).lower())
            if user is None:
                self.fail_item(
                    item,
                    "DUPLICATE_USERNAME",
                    "the username is taken in another Salesforce org; map a different Username",
                    ["Username"],
                )
                continue
            reason = self.managed.reason(user)
            if reason is not None and not self.managed.adoptable(user):
                self.fail_item(
                    item,
                    "DUPLICATE_USERNAME",
                    f"the username belongs to Salesforce user {user.id}, which is not managed: {reason}",
                    ["Username"],
                )
                continue
            changes = diff(user, item.action.fields, self.always)
            fields = {k: self._resolve(k, v["new"])[0] for k, v in changes.items()}
            if not user.is_active:
                fields["IsActive"] = True
            note = f"linked to existing user {user.id} (an earlier attempt created it)"
            if not fields:
                self._queue_grants(item.action, user.id)
                self.outcomes.append(self.outcome(item.action, True, user.id, message=note))
                continue
            record = {"attributes": {"type": "User"}, "id": user.id, **fields}
            extra = {"note": f"{note}; updated {', '.join(fields)}"}
            patches.append(Item(item.action, record, item.label, self._linked, extra=extra))
        self._send("PATCH", patches)

    def _linked(self, item: Item, result: dict[str, Any]) -> Outcome:
        self._queue_grants(item.action, item.record["id"])
        return self.outcome(item.action, True, item.record["id"], message=item.extra["note"])

    # Freezes -----------------------------------------------------------------------------------
    def _write_freezes(self, actions: list[Action]) -> None:
        """Freeze and unfreeze through ``UserLogin.IsFrozen`` (reading missing UserLogin ids first)."""
        if not actions:
            return
        missing = [a.salesforce_id for a in actions if not a.user_login_id and a.salesforce_id]
        login_ids: dict[str, str] = {}
        if missing:
            try:
                login_ids = self.transport.call(lambda: user_login_ids(self.sf, missing))
            except WriteStopped as stop:
                self.transport.stop(stop.not_attempted())
        items = []
        for action in actions:
            login_id = action.user_login_id or login_ids.get(action.salesforce_id or "")
            if not login_id and self.stopped is None:
                self.fail(action, "NOT_FOUND", "no UserLogin row for this user", ["IsFrozen"])
                continue
            record = {
                "attributes": {"type": "UserLogin"},
                "id": login_id,
                "IsFrozen": action.kind is ActionKind.FREEZE,
            }
            items.append(Item(action, record, str(action.kind), self._frozen))
        self._send("PATCH", items)

    def _frozen(self, item: Item, result: dict[str, Any]) -> Outcome:
        return self.outcome(item.action, True, item.action.salesforce_id, message=PAST[item.action.kind])

    # Permission sets ---------------------------------------------------------------------------
    def _queue_grants(self, action: Action, user_id: str) -> None:
        self._grants.extend((action, user_id, name) for name in action.permission_sets)

    def _write_grants(self) -> None:
        """Assign the permission sets of created and activated users (already assigned is fine)."""
        items = []
        for action, user_id, name in self._grants:
            record = {"attributes": {"type": "PermissionSetAssignment"}, "AssigneeId": user_id}
            item = Item(
                action, record, "permission_set", self._granted, self._grant_failed, extra={"name": name}
            )
            set_id = self.directory.permission_sets.get(name)
            if set_id is None:
                self.fail_item(
                    item, "UNKNOWN_REFERENCE", "no PermissionSet with this name", ["PermissionSetId"]
                )
                continue
            record["PermissionSetId"] = set_id
            items.append(item)
        self._send("POST", items)

    def _granted(self, item: Item, result: dict[str, Any]) -> Outcome:
        return self.item_outcome(item, True, message="assigned")

    def _grant_failed(self, item: Item, error: dict[str, Any]) -> Outcome | None:
        if error.get("statusCode") == "DUPLICATE_VALUE":
            return self.item_outcome(item, True, message="already assigned")
        return None

    # Log -----------------------------------------------------------------------------------------
    def _log_summary(self) -> None:
        total = self._total + len(self.outcomes)
        ok = self._succeeded + sum(1 for o in self.outcomes if o.success)
        log.info(
            "Applied plan%s: %d outcomes, %d succeeded, %d failed; %d requests re-sent%s",
            " (dry run)" if self.dry_run else "",
            total,
            ok,
            total - ok,
            self.transport.retried,
            f"; stopped: {self.stopped.message}" if self.stopped else "",
        )
