"""The plan: what to do in Salesforce for each user, and why.

:func:`build_plan` diffs what Okta says (assignments) against what Salesforce has (users) and
returns a :class:`~okta_salesforce.sync.models.Plan`, a plain list of actions:

* ``create``: in scope, no Salesforce user matched; every mapped field;
* ``activate``: in scope, matched an inactive managed user; ``IsActive`` plus changed fields;
* ``update``: in scope, matched an active managed user whose always-applied fields differ; only
  the changed fields;
* ``unfreeze``: in scope, matched a frozen managed user;
* ``deactivate`` or ``freeze`` (``deprovisioning.mode``): a managed active user that no in-scope
  Okta user matches;
* ``skip``: nothing to do, with the reason (in sync, unmanaged, already inactive);
* ``error``: a bad profile, an ambiguous match, a username taken; never written.

:func:`stream_plan` computes the same plan in a streaming pass: the snapshot, the Salesforce users
and the actions live in a :class:`~okta_salesforce.sync.plan_store.PlanStore` on local disk, and
one user at a time is in memory, so a run's memory does not grow with the number of users. The
rules for one user are in :mod:`okta_salesforce.sync.decisions`. A config that links managers,
plans entitlements or moves profiles (``ProfileId`` applied always) adds the extensions of
:mod:`okta_salesforce.sync.plan_extensions`, which still look at every action at once.

Building a plan costs O(n log n) in the number of users (indexed look-ups on disk).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from okta_salesforce.sync.config import Apply, Source
from okta_salesforce.sync.decisions import Decisions, error
from okta_salesforce.sync.diff import diff
from okta_salesforce.sync.fields import reference_name_field
from okta_salesforce.sync.guards import check_deactivations
from okta_salesforce.sync.mapping import MappedUser
from okta_salesforce.sync.models import DEPROVISION_KINDS, WRITE_KINDS, Action, ActionKind, FieldError, Plan
from okta_salesforce.sync.plan_store import PlanStore
from okta_salesforce.sync.scoping import scope_reason

if TYPE_CHECKING:
    from okta_salesforce.sync.config import SyncConfig
    from okta_salesforce.sync.entitlement_reader import CurrentEntitlements
    from okta_salesforce.sync.matching import Match
    from okta_salesforce.sync.models import DirectoryInfo, GuardResult, OktaAssignment, SalesforceUser

_CHUNK = 1000


def build_plan(
    assignments: Iterable[OktaAssignment],
    sf_users: Iterable[SalesforceUser],
    config: SyncConfig,
    *,
    users: Sequence[str] | None = None,
    allow_mass_deactivation: bool = False,
    directory: DirectoryInfo | None = None,
    entitlements: CurrentEntitlements | None = None,
) -> Plan:
    """Plan the changes that bring Salesforce in step with the Okta assignments.

    :param assignments: the Okta app assignments (for a full run: every assigned user; users
        whose assignment was removed may be included with ``assigned=False``).
    :param sf_users: the Salesforce users read for this run (every user for a full run).
    :param config: the sync config.
    :param users: Okta logins for an incremental plan: only these users are considered, and a
        login without an assigned, in-scope assignment is deprovisioned if it matches a managed
        user. None plans a full run, where managed users no Okta user matches are deprovisioned.
    :param allow_mass_deactivation: the run's param; it passes the deactivation guard only when
        ``guards.trust_allow_mass_deactivation_param`` is true. The plan keeps its deprovisioning
        actions either way: ``plan.guard`` says whether the writer needs an approval for them.
    :param directory: resolved Profile/UserRole/PermissionSet names; when given, names the
        org does not have become per-record errors at plan time instead of at write time, and a
        create the managed filter would exclude is an error.
    :param entitlements: the managed entitlements users hold
        (:func:`~okta_salesforce.sync.entitlement_reader.read_entitlements`); with ``directory``,
        ``entitle`` actions assign and remove them per the ``entitlements`` rules.
    :raises ConfigError: with ``directory``, when the mapping gives a profile whose user type
        the managed filter excludes (:func:`~okta_salesforce.sync.managed_profiles.check_mapped_profiles`).
    """
    streamed = stream_plan(
        assignments,
        sf_users,
        config,
        users=users,
        allow_mass_deactivation=allow_mass_deactivation,
        directory=directory,
        entitlements=entitlements,
        folder=":memory:",
    )
    with streamed:
        return streamed.to_plan()


@dataclass
class StreamedPlan:
    """A plan whose actions stay on disk: read them with :meth:`actions`; :meth:`close` removes them.

    :param store: the store holding the actions (and the users, for :meth:`user`).
    :param incremental: True when only a subset of users was considered.
    :param guard: the deactivation guard's verdict.
    :param assignments_read: how many Okta assignments were read.
    :param directory: the resolved setup names the plan was made with.
    """

    store: PlanStore
    incremental: bool
    guard: GuardResult
    assignments_read: int
    directory: DirectoryInfo | None = None

    def actions(self, kinds: Iterable[ActionKind] | None = None) -> Iterator[Action]:
        """The actions in plan order (only ``kinds`` when given), streamed from disk."""
        return self.store.actions(kinds)

    def action_dicts(self, kinds: Iterable[ActionKind] | None = None) -> Iterator[dict[str, Any]]:
        """:meth:`actions` as dicts (:meth:`~okta_salesforce.sync.models.Action.to_dict`), for files."""
        return self.store.action_dicts(kinds)

    def writes(self) -> Iterator[Action]:
        """The actions that write to Salesforce, in plan order."""
        return self.store.actions(WRITE_KINDS)

    def summary(self) -> dict[str, int]:
        """Count of actions by kind (every kind present, zeros included)."""
        return self.store.counts()

    def user(self, user_id: str) -> SalesforceUser | None:
        """The Salesforce user read with this id."""
        return self.store.user_by_id(user_id)

    @property
    def users_read(self) -> int:
        return self.store.users_read

    def to_plan(self) -> Plan:
        """The whole plan in memory."""
        return Plan(actions=tuple(self.actions()), incremental=self.incremental, guard=self.guard)

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> StreamedPlan:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def stream_plan(
    assignments: Iterable[OktaAssignment],
    sf_users: Iterable[SalesforceUser],
    config: SyncConfig,
    *,
    users: Sequence[str] | None = None,
    allow_mass_deactivation: bool = False,
    directory: DirectoryInfo | None = None,
    entitlements: CurrentEntitlements | Callable[[], CurrentEntitlements | None] | None = None,
    frozen: Callable[[], Mapping[str, str]] | None = None,
    folder: str | None = None,
) -> StreamedPlan:
    """:func:`build_plan`, streamed: both inputs are consumed once, one chunk at a time.

    Same parameters as :func:`build_plan`, and:

    :param entitlements: may be a callable, called once the Salesforce users are read.
    :param frozen: called once the Salesforce users are read: User id → ``UserLogin`` id of the
        frozen users (for users read without their freeze state).
    :param folder: where the store's private temporary folder goes (``":memory:"``: in memory).
    """
    decisions = Decisions(config, directory)
    store = PlanStore(config.matching, decisions.managed, folder=folder)
    try:
        read = store.add_assignments(assignments, users)
        store.add_users(sf_users)
        if frozen is not None:
            store.set_frozen(frozen())
        current = entitlements() if callable(entitlements) else entitlements
        guard = _Pass(store, decisions).run(incremental=users is not None, allow=allow_mass_deactivation)
        _extend(store, config, directory, current)
    except BaseException:
        store.close()
        raise
    return StreamedPlan(
        store=store, incremental=users is not None, guard=guard, assignments_read=read, directory=directory
    )


class _Pass:
    """One streaming pass over the store: match, decide per user, then creates and deprovisions."""

    def __init__(self, store: PlanStore, decisions: Decisions) -> None:
        self.store = store
        self.decisions = decisions
        self.config = decisions.config
        self.index = 0
        self.pending: list[tuple[int, Action]] = []
        self.deprovisions = 0

    def emit(self, action: Action) -> None:
        action = self.decisions.resolve(action)
        self.deprovisions += action.kind in DEPROVISION_KINDS
        self.pending.append((self.index, action))
        self.index += 1
        if len(self.pending) >= _CHUNK:
            self.flush()

    def flush(self) -> None:
        self.store.add_actions(self.pending)
        self.pending = []

    def run(self, *, incremental: bool, allow: bool) -> GuardResult:
        store = self.store
        considered_active = store.match()
        for assignment, match, claims in store.matched():
            self._user(assignment, match, claims)
        taken_by, wanted, allocator = store.username_owner, store.wanted, store.allocator()
        for assignment, mapped in store.creates():
            self.emit(
                self.decisions.create(
                    assignment, mapped, taken_by=taken_by, wanted=wanted, allocator=allocator
                )
            )
        if not incremental:
            for user in store.users(unclaimed_managed_active=True):
                considered_active += 1
                self.emit(
                    self.decisions.deprovision(user, user.username, None, "no in-scope Okta user matches it")
                )
        self.flush()
        return check_deactivations(
            self.config.guards,
            self.deprovisions,
            considered_active,
            incremental=incremental,
            allow_mass_deactivation=allow,
        )

    def _user(self, assignment: OktaAssignment, match: Match, claims: int) -> None:
        user = match.user
        if match.error:
            self.emit(error(assignment, [FieldError(match.rule or "", match.error)], "ambiguous match"))
        elif user is not None and claims > 1:
            message = f"Salesforce user {user.username} ({user.id}) matches {claims} Okta users"
            self.emit(error(assignment, [FieldError(match.rule or "", message)], "ambiguous match", user))
        elif (why := scope_reason(assignment, self.config.scope)) is None:
            decided = self.decisions.in_scope(assignment, user)
            if isinstance(decided, MappedUser):
                self.store.add_create(assignment, decided)
            else:
                for action in decided:
                    self.emit(action)
        else:
            self.emit(self.decisions.out_of_scope(assignment, user, why))


def _needs_extensions(config: SyncConfig, directory: DirectoryInfo | None, entitlements: object) -> bool:
    """Whether :func:`~okta_salesforce.sync.plan_extensions.extend_plan` can change anything."""
    from okta_salesforce.sync.managers import MANAGER_FIELD
    from okta_salesforce.sync.profile_changes import PROFILE_FIELD

    if config.field(MANAGER_FIELD) is not None:
        return True
    if directory is None:
        return False
    profile = config.field(PROFILE_FIELD)
    moves = profile is not None and profile.apply is Apply.ALWAYS and profile.source is not Source.GENERATED
    return moves or (entitlements is not None and bool(config.entitlements.rules))


def _extend(
    store: PlanStore,
    config: SyncConfig,
    directory: DirectoryInfo | None,
    entitlements: CurrentEntitlements | None,
) -> None:
    """Add the extensions' actions (managers, entitlements, profile moves) when the config has any."""
    from okta_salesforce.sync.plan_extensions import check_described_fields, extend_plan

    if not _needs_extensions(config, directory, entitlements):
        if directory is not None:
            check_described_fields(directory, config)
        return
    plan = Plan(actions=tuple(store.actions()))
    assignments = list(store.selected())
    extended = extend_plan(plan, assignments, list(store.users()), config, directory, entitlements)
    if extended is not plan:
        store.clear_actions()
        store.add_actions(enumerate(extended.actions))


__all__ = ["Apply", "Source", "StreamedPlan", "build_plan", "diff", "reference_name_field", "stream_plan"]
