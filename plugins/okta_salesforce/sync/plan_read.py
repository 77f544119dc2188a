"""Read Salesforce for a plan and stream the plan: the plan task's reads, in one place.

A complete snapshot streams every Salesforce user page by page into
:func:`~okta_salesforce.sync.plan.stream_plan` (the freeze state and the entitlements are read once
the users are), the pages read ahead in the background (:class:`~okta_salesforce.sync.prefetch.Prefetch`)
so that waiting for them overlaps storing the snapshot and the pages before; a partial one reads
only the users its (few) assignments could match.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from simple_salesforce import Salesforce

    from okta_salesforce.sync.config import SyncConfig
    from okta_salesforce.sync.models import OktaAssignment, SalesforceUser
    from okta_salesforce.sync.plan import StreamedPlan
    from okta_salesforce.sync.progress import Progress


def plan_from_salesforce(
    sf: Salesforce,
    config: SyncConfig,
    assignments: Iterable[OktaAssignment],
    subset: list[str] | None,
    allow_mass_deactivation: bool,
    progress: Progress,
) -> StreamedPlan:
    """Read Salesforce and plan: every user streamed for a complete snapshot (``subset`` None), else
    only the users the snapshot's (few) assignments could match."""
    from okta_salesforce.sync.directory import (
        frozen_user_logins,
        iter_users,
        read_salesforce,
        resolve_directory,
    )
    from okta_salesforce.sync.entitlement_reader import read_entitlements
    from okta_salesforce.sync.plan import stream_plan
    from okta_salesforce.sync.prefetch import Prefetch

    if subset is None:
        directory = resolve_directory(sf, config)
        # The Salesforce pages are requested in the background from here on: while the snapshot
        # is stored, then while each page is. The client is used by one thread at a time: the
        # reader's until every user is read, this one's after (freeze state, entitlements).
        with Prefetch(iter_users(sf, config, directory, progress=progress), batch=2000, depth=2) as read:

            def users() -> Iterator[SalesforceUser]:
                yield from read
                progress.done()

            return stream_plan(
                assignments,
                users(),
                config,
                allow_mass_deactivation=allow_mass_deactivation,
                directory=directory,
                entitlements=lambda: read_entitlements(sf, config, directory),
                frozen=lambda: frozen_user_logins(sf),
            )
    state = read_salesforce(sf, config, assignments, progress=progress)
    progress.done()
    return stream_plan(
        assignments,
        state.users,
        config,
        users=subset,
        allow_mass_deactivation=allow_mass_deactivation,
        directory=state.directory,
        entitlements=state.entitlements,
    )
