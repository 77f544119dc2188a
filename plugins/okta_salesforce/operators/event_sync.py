"""The events Dag's fast path: a small batch read, planned, written and reported in one task process.

Every task of the full pipeline (``poll_okta >> plan >> writers >> entitle >> report >> check_run``)
is a process of its own, which costs seconds before any work starts. For the few users an Okta event
names, :class:`EventSyncOperator` runs the very same operators one after the other inside its own
process, each handed the previous one's result exactly as XCom would hand it, so the escrow
write-ahead, the plan and its id, the deactivation guard and its re-check, the writers' per-record
outcomes, the report, the escrow settlement and the report Asset are the pipeline's own. Above
``max_users`` it does nothing itself and lets the full pipeline run instead (a branch).

It is a branch: it follows at most one of its downstream paths and skips every other task after it
(like a short-circuit, so the pipeline's ``all_done`` tasks are skipped too, not run on nothing):

* the full pipeline (``poll_okta``), for a batch over ``max_users``;
* ``approval_task_id`` (a :class:`~.deprovision.RequestDeprovisionApprovalOperator`), when the
  deactivation guard held deprovisioning: held users are never deactivated here;
* ``verdict_task_id`` (:class:`EventVerdictOperator`), when the run must fail: a writer's request
  failed on the last try, or per-record failures are over ``failures.max_failure_ratio``. The
  report and its Asset event are published first, as the pipeline's report task does.

A request failure with retries left fails the task instead (Airflow retries it: the next try reads
and plans again, the users stay in escrow meanwhile), as it fails a writer of the full pipeline.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.providers.standard.utils.skipmixin import SkipMixin
from airflow.sdk import BaseOperator

from okta_salesforce.operators.in_process import CapturedEvents, Stages
from okta_salesforce.operators.params import as_bool, as_logins
from okta_salesforce.operators.run_failures import RunFailed

if TYPE_CHECKING:
    from airflow.sdk import Asset, AssetAlias, Context

    from okta_salesforce.escrow_store import EscrowStore

#: Default largest batch of the fast path (the Dag reads ``OKTA_SALESFORCE_EVENT_FAST_PATH_MAX_USERS``).
DEFAULT_MAX_USERS = 50
#: XCom key of the logins handed to the full pipeline's ``poll_okta``.
USERS_KEY = "users"
#: XCom key of the held deprovisioning (the ``deprovision_users`` result) for the approval request.
HELD_KEY = "held"


class EventSyncOperator(BaseOperator, SkipMixin):
    """Provision the users of the triggering Okta events in this task when they are few; else branch.

    :param users: Okta logins asked for by hand (the ``users`` param), added to the events' users.
    :param dry_run: the run's ``dry_run`` param.
    :param allow_mass_deactivation: the run's param (effective only when the config trusts it).
    :param max_users: the largest batch synchronised here; above it the full pipeline runs. ``0``
        always runs the full pipeline.
    :param report_asset: the Asset the report updates (the pipeline's report Asset).
    :param report_alias: this task's outlet; the report's Asset event is added through it, so that a
        run that hands over to the full pipeline (or has nobody to provision) publishes nothing here.
    :param full_task_id: the first task of the full pipeline.
    :param approval_task_id: the task asking for approval of held deprovisioning.
    :param verdict_task_id: the task failing the run.
    :param target: the config target (see :class:`~.report.SyncReportOperator`).
    :param app_id: the Okta app id (default: the config's ``okta.app_id``).
    :param config_path: the sync config file (default: ``OKTA_SALESFORCE_CONFIG``).
    :param okta_conn_id: the ``okta`` connection.
    :param salesforce_conn_id: the ``salesforce_oauth`` connection.
    :param escrow_store: where escrow lives (default: Airflow Variables).
    """

    # The `dry_run` param shadows BaseOperator.dry_run(), a method Airflow 3 never calls.
    dry_run: bool | str  # type: ignore[assignment]
    template_fields: Sequence[str] = ("users", "dry_run", "allow_mass_deactivation", "max_users")

    def __init__(
        self,
        *,
        report_asset: Asset,
        report_alias: AssetAlias,
        users: list[str] | str | None = "{{ params.users }}",
        dry_run: bool | str = "{{ params.dry_run }}",
        allow_mass_deactivation: bool | str = "{{ params.allow_mass_deactivation }}",
        max_users: int | str = DEFAULT_MAX_USERS,
        full_task_id: str = "poll_okta",
        approval_task_id: str = "event_request_approval",
        verdict_task_id: str = "event_check_run",
        target: str = "default",
        app_id: str | None = None,
        config_path: str | None = None,
        okta_conn_id: str = "okta_default",
        salesforce_conn_id: str = "salesforce_oauth_default",
        escrow_store: EscrowStore | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(outlets=[report_alias], **kwargs)
        self.report_asset = report_asset
        self.report_alias = report_alias
        self.users = users
        self.dry_run = dry_run
        self.allow_mass_deactivation = allow_mass_deactivation
        self.max_users = max_users
        self.full_task_id = full_task_id
        self.approval_task_id = approval_task_id
        self.verdict_task_id = verdict_task_id
        self.target = target
        self.app_id = app_id
        self.config_path = config_path
        self.okta_conn_id = okta_conn_id
        self.salesforce_conn_id = salesforce_conn_id
        self.escrow_store = escrow_store

    def execute(self, context: Context) -> dict[str, Any]:
        from okta_salesforce.triggers.okta_events import users_from_asset_events

        ti = context["ti"]
        events = users_from_asset_events(context.get("triggering_asset_events"))
        logins = list(dict.fromkeys([*events, *as_logins(self.users)]))
        limit = int(self.max_users)
        if not logins:
            self.log.info("No Okta user named by the triggering events or the users param: nothing to do.")
            return self._follow(context, {"mode": "none", "users": 0}, [])
        if len(logins) > limit:
            self.log.info("%d users, over the fast path's %d: the full pipeline runs.", len(logins), limit)
            ti.xcom_push(key=USERS_KEY, value=logins)
            return self._follow(context, {"mode": "full", "users": len(logins)}, [self.full_task_id])
        self.log.info("%d users (at most %d): read, plan, write and report here.", len(logins), limit)
        result = self._sync(context, logins)
        follow = []
        deprovision = result.pop("deprovision")
        if result["held"]:
            ti.xcom_push(key=HELD_KEY, value=deprovision)
            follow.append(self.approval_task_id)
        if result["failure"]:
            follow.append(self.verdict_task_id)
        return self._follow(context, result, follow)

    # The pipeline, in this process ------------------------------------------------------------
    def _sync(self, context: Context, logins: list[str]) -> dict[str, Any]:
        from okta_salesforce.operators.deprovision import DeprovisionUsersOperator
        from okta_salesforce.operators.entitlements import ApplyEntitlementsOperator
        from okta_salesforce.operators.okta import OktaAssignmentsOperator
        from okta_salesforce.operators.plan import PlanSalesforceChangesOperator
        from okta_salesforce.operators.salesforce import (
            WRITER_GROUPS,
            ApplySalesforceChangesOperator,
            WritesUnfinished,
        )
        from okta_salesforce.sync.targets import config_target

        stages = Stages(context, self.log)
        dry_run, allow = as_bool(self.dry_run), as_bool(self.allow_mass_deactivation)
        sf, okta, config = self.salesforce_conn_id, self.okta_conn_id, self.config_path
        target = config_target(self.target)  # the config's targets: entry (None: no targets)
        warm_up = _salesforce_warm_up(sf)  # the token while Okta is read
        snapshot = stages.run(
            OktaAssignmentsOperator(
                task_id="poll_okta",
                app_id=self.app_id,
                users=logins,
                dry_run=dry_run,
                okta_conn_id=okta,
                escrow_store=self.escrow_store,
                config_path=config,
                target=target,
            )
        )
        if warm_up is not None:
            warm_up.join()
        plan = stages.run(
            PlanSalesforceChangesOperator(
                task_id="plan",
                snapshot=snapshot,
                users=logins,  # what poll_okta got, as in the full pipeline
                dry_run=dry_run,
                allow_mass_deactivation=allow,
                config_path=config,
                salesforce_conn_id=sf,
                target=target,
            )
        )
        writers = [
            stages.run(
                ApplySalesforceChangesOperator(
                    task_id=f"{verb}_users",
                    plan=plan,
                    actions=list(kinds),
                    config_path=config,
                    salesforce_conn_id=sf,
                    escrow_store=self.escrow_store,
                    target=target,
                ),
                tolerate=WritesUnfinished,
            )
            for verb, kinds in WRITER_GROUPS
        ]
        writers.append(
            stages.run(
                ApplyEntitlementsOperator(
                    task_id="entitle_users",
                    plan=plan,
                    user_outcomes=list(writers),
                    config_path=config,
                    salesforce_conn_id=sf,
                    target=target,
                ),
                tolerate=WritesUnfinished,
            )
        )
        deprovision = stages.run(
            DeprovisionUsersOperator(
                task_id="deprovision_users",
                plan=plan,
                allow_mass_deactivation=allow,
                config_path=config,
                okta_conn_id=okta,
                salesforce_conn_id=sf,
                target=target,
            ),
            tolerate=WritesUnfinished,
        )
        if stages.unfinished and _retry_left(context["ti"], self.retries):
            raise WritesUnfinished(
                f"Writes unfinished in {', '.join(stages.unfinished)} (see above); the users are pending "
                "in escrow and this task is retried: it reads and plans them again."
            )
        report = self._report(context, stages, plan, [*writers, deprovision])
        failure = None
        if stages.unfinished:
            pending = report["escrow"]["pending"]
            failure = (
                f"Writes unfinished in {', '.join(stages.unfinished)} after the last try; {pending} users "
                f"pending for later runs. Report: {report['path']}"
            )
        elif report["verdict"].get("failure_ratio"):
            failure = report["verdict"]["failure_ratio"]
        return {
            "mode": "fast",
            "users": len(logins),
            "requested": logins if len(logins) <= 20 else [*logins[:20], "..."],
            "counts": (plan or {}).get("counts"),
            "report": report,
            "unfinished": stages.unfinished,
            "failure": failure,
            "held": (deprovision or {}).get("held", 0),
            "deprovision": deprovision,
        }

    def _report(
        self, context: Context, stages: Stages, plan: dict[str, Any], outcomes: list[dict[str, Any] | None]
    ) -> dict[str, Any]:
        """Run the report (escrow settled, lines written) and add its Asset event through the alias."""
        from okta_salesforce.operators.report import SyncReportOperator

        captured = CapturedEvents()
        report = stages.run(
            SyncReportOperator(
                task_id="report",
                plan=plan,
                outcomes=outcomes,
                target=self.target,
                config_path=self.config_path,
                escrow_store=self.escrow_store,
                outlets=[self.report_asset],
            ),
            outlet_events=captured,
        )
        extra = getattr(captured[self.report_asset], "extra", None) or {}  # what the report set
        context["outlet_events"][self.report_alias].add(self.report_asset, extra=extra)
        return report

    # Branching -------------------------------------------------------------------------------
    def _follow(self, context: Context, result: dict[str, Any], follow: list[str]) -> dict[str, Any]:
        """Skip every task after this one except ``follow`` and what comes after them."""
        ti = context["ti"]
        dag = self.dag
        keep: set[str] = set()
        for task_id in follow:
            keep |= {task_id, *dag.get_task(task_id).get_flat_relative_ids(upstream=False)}
        skip = [task for task in self.get_flat_relatives(upstream=False) if task.task_id not in keep]
        if not skip:
            return result
        self.log.info("Following %s; skipping %d tasks.", follow or "nothing", len(skip))
        # Skipping ends execute (the task still succeeds): publish the result first.
        ti.xcom_push(key="return_value", value=result)
        self.skip(ti, skip)
        return result


class EventVerdictOperator(BaseOperator):
    """Fail the run the fast path says did not converge (it ran after the report was published).

    :param result: the fast path task's XCom (``failure`` holds why).
    """

    template_fields: Sequence[str] = ("result",)

    def __init__(self, *, result: dict[str, Any] | Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.result = result

    def execute(self, context: Context) -> None:
        failure = (self.result or {}).get("failure")
        if failure:
            raise RunFailed(failure)
        self.log.info("The run converged.")


def _salesforce_warm_up(conn_id: str) -> threading.Thread | None:
    """Fetch the Salesforce access token (cached per process) on a thread; None where that is unsafe.

    The plan stage then finds it cached. A failure here is left for the plan stage to raise. Only
    where the task's channel to its supervisor is thread-safe (Airflow 3.3): the token store and
    the connection are read through it.
    """
    from okta_salesforce.version_compat import AIRFLOW_V_3_3_PLUS

    if not AIRFLOW_V_3_3_PLUS:
        return None

    def fetch() -> None:
        from okta_salesforce.hooks.salesforce import SalesforceOAuthHook

        with contextlib.suppress(Exception):
            SalesforceOAuthHook(salesforce_conn_id=conn_id).get_conn()

    thread = threading.Thread(target=fetch, name="salesforce-warm-up", daemon=True)
    thread.start()
    return thread


def _retry_left(ti: Any, retries: int | None) -> bool:
    """Whether Airflow retries this task if it fails now."""
    max_tries = getattr(ti, "max_tries", None)
    if max_tries is None:
        max_tries = retries or 0
    return int(ti.try_number) <= int(max_tries)
