"""Deactivate or freeze the users a plan deprovisions: only with the guard's consent, only if still right.

:class:`DeprovisionUsersOperator` is the one place where a plan's deprovisioning is written. At
write time it

1. re-derives the deactivation guard's verdict from the actions it is about to apply and the
   config (a trigger param alone never bypasses it), and checks that the actions are the ones
   the plan's id names;
2. asks :func:`~okta_salesforce.sync.guards.deprovision_refusal` whether it may write: a plan
   past ``guards.max_plan_age_minutes`` is refused; a plan over the guard is refused unless the
   approval task of *this* run approved *this* plan id (a Reject, a timeout, a cleared or
   missing approval deactivate nobody);
3. re-reads every user to deprovision in Salesforce (``IN`` queries as long as a request may be)
   and, in Okta, the users the System Log names since the plan's snapshot began (everyone,
   when the log cannot be trusted: :mod:`~okta_salesforce.operators.recheck_okta`), and drops
   those the current state no longer calls for (re-assigned, already inactive, no longer
   managed), reporting why;
4. hands the rest to the writer (:func:`~okta_salesforce.sync.writer.apply_plan`), which
   enforces the same refusal again.

In a provisioning run (no approval task) a plan over the guard is *held*: nothing is written, the
report shows ``not_approved``, and :class:`RequestDeprovisionApprovalOperator` starts a run of
the approval DAG for it, so provisioning never waits for a person.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from airflow.providers.standard.operators.trigger_dagrun import TriggerDagRunOperator
from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowException

from okta_salesforce.operators.params import as_bool
from okta_salesforce.sync.target_names import (
    APPROVAL_DAG_ID,  # one approval DAG per target: ..._approval__<name>
)
from okta_salesforce.version_compat import AirflowSkipException

if TYPE_CHECKING:
    from airflow.sdk import Context

    from okta_salesforce.operators.deprovision_result import DeprovisionResult
    from okta_salesforce.operators.plan_handle import PlanHandle
    from okta_salesforce.storage import RunFiles
    from okta_salesforce.sync.config import SyncConfig
    from okta_salesforce.sync.guards import Approval
    from okta_salesforce.sync.models import (
        Action,
        DirectoryInfo,
        Outcome,
        Plan,
    )

DEPROVISION_ACTIONS = ("deactivate", "freeze")


#: Moved out of this module (DAG parsing imports it): the deprovisioning writer's result.
_MOVED = {"DeprovisionResult": "okta_salesforce.operators.deprovision_result"}


def __getattr__(name: str) -> Any:
    """The names that moved out of this module, still importable from here (imported when asked for)."""
    if name in _MOVED:
        import importlib

        return getattr(importlib.import_module(_MOVED[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class DeprovisionUsersOperator(BaseOperator):
    """Apply the plan's deactivations and freezes, with the guard, approval and re-check at write time.

    :param plan: the ``plan`` task's result (or the approval request's copy of it).
    :param approval_task_id: the approval task of this run whose answer may pass the guard;
        None in provisioning runs, where a plan over the guard is held for the approval DAG.
    :param allow_mass_deactivation: the run's param (effective only when the config's
        ``guards.trust_allow_mass_deactivation_param`` is true).
    :param config_path: the sync config file (default: ``OKTA_SALESFORCE_CONFIG``).
    :param okta_conn_id: the ``okta`` connection (for the re-check).
    :param salesforce_conn_id: the ``salesforce_oauth`` connection.
    :param target: the config's ``targets:`` entry (None: a config without targets).
    """

    template_fields: Sequence[str] = ("plan", "allow_mass_deactivation", "config_path")

    def __init__(
        self,
        *,
        plan: PlanHandle | dict[str, Any],
        approval_task_id: str | None = None,
        allow_mass_deactivation: bool | str = False,
        config_path: str | None = None,
        okta_conn_id: str = "okta_default",
        salesforce_conn_id: str = "salesforce_oauth_default",
        target: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.plan = plan
        self.approval_task_id = approval_task_id
        self.allow_mass_deactivation = allow_mass_deactivation
        self.config_path = config_path
        self.okta_conn_id = okta_conn_id
        self.salesforce_conn_id = salesforce_conn_id
        self.target = target

    def execute(self, context: Context) -> dict[str, Any]:
        from okta_salesforce.operators.deprovision_result import DeprovisionResult
        from okta_salesforce.operators.plan_handle import PlanHandle
        from okta_salesforce.storage import RunFiles, write_jsonl
        from okta_salesforce.sync.config import load_config
        from okta_salesforce.sync.guards import GUARD_TRIPPED, deprovision_refusal
        from okta_salesforce.sync.writer import apply_plan

        handle = PlanHandle.from_xcom(self.plan)
        files = RunFiles(context["ti"])
        actions = handle.actions(DEPROVISION_ACTIONS)
        outcomes: list[Outcome] = []
        if not actions:
            self.log.info("Nobody to deprovision.")
            return self._publish(context, files, outcomes, handle).to_xcom()
        config = load_config(self.config_path, target=self.target)
        plan = self._plan(handle, actions, config)
        approval = self._approval(context)
        refusal = None if handle.dry_run else deprovision_refusal(plan, approval, config.guards.max_plan_age)
        if refusal is not None and refusal.code == GUARD_TRIPPED and not self.approval_task_id:
            self.log.warning("Held for approval (%d users): %s", len(actions), refusal.message)
            write_jsonl(files.outcomes(), [])
            held = DeprovisionResult.of(str(files.outcomes()), DEPROVISION_ACTIONS, [], dry_run=False)
            return replace(held, held=len(actions), request=approval_request(handle)).to_xcom()
        if handle.dry_run or refusal is not None:
            if refusal is not None:
                self.log.warning("Deprovisioning nobody: %s", refusal.message)
            # The writer refuses (or, in a dry run, only describes) every action: no request is made.
            directory = handle.directory()
            outcomes = apply_plan(None, plan, config, directory, dry_run=handle.dry_run, approval=approval)  # type: ignore[arg-type]
        else:
            outcomes = self._write(plan, config, handle.directory(), approval, handle.snapshot_started)
        return self._publish(context, files, outcomes, handle).to_xcom()

    def _publish(
        self, context: Context, files: RunFiles, outcomes: list[Outcome], plan: PlanHandle
    ) -> DeprovisionResult:
        from okta_salesforce.operators.deprovision_result import DeprovisionResult
        from okta_salesforce.operators.salesforce import publish_outcomes

        return DeprovisionResult.from_xcom(
            publish_outcomes(
                context,
                self.log,
                files,
                DEPROVISION_ACTIONS,
                outcomes,
                dry_run=plan.dry_run,
                label="deprovisioning",
            )
        )

    def _approval(self, context: Context) -> Approval | None:
        """The answer of this run's approval task, if it has one."""
        if not self.approval_task_id:
            return None
        from okta_salesforce.operators.approval import APPROVAL_XCOM_KEY
        from okta_salesforce.sync.guards import Approval

        answer = context["ti"].xcom_pull(task_ids=self.approval_task_id, key=APPROVAL_XCOM_KEY)
        return Approval.from_response(answer)

    def _plan(self, handle: PlanHandle, actions: list[Action], config: SyncConfig) -> Plan:
        """The plan as the writer sees it, with the guard's verdict derived here, not trusted from XCom."""
        from okta_salesforce.sync.guards import check_deactivations, plan_fingerprint
        from okta_salesforce.sync.models import Plan

        bound = {
            "run_id": handle.run_id,
            "planned_at": handle.planned_at,
            "snapshot_started": handle.snapshot_started,
        }
        if plan_fingerprint(actions, **bound) != handle.plan_id:
            raise AirflowException(
                "The deprovisioning actions on file are not the ones the plan's id names (changed since "
                "the plan was made?): deprovisioning nobody."
            )
        guard = check_deactivations(
            config.guards,
            len(actions),
            handle.guard.managed_active,
            incremental=handle.incremental,
            allow_mass_deactivation=as_bool(self.allow_mass_deactivation, name="allow_mass_deactivation"),
        )
        return Plan(
            tuple(actions),
            incremental=handle.incremental,
            guard=guard,
            plan_id=handle.plan_id,
            planned_at=handle.planned_at,
        )

    # Writing -----------------------------------------------------------------------------------
    def _write(
        self,
        plan: Plan,
        config: SyncConfig,
        directory: DirectoryInfo,
        approval: Approval | None,
        snapshot_started: str | None,
    ) -> list[Outcome]:
        from dataclasses import replace

        from okta_salesforce.hooks.okta import OktaHook
        from okta_salesforce.hooks.salesforce import SalesforceOAuthHook
        from okta_salesforce.operators.recheck_okta import MODIFIED, recheck_assignments
        from okta_salesforce.sync.directory import bulk_uri_target, users_by_id
        from okta_salesforce.sync.models import Outcome
        from okta_salesforce.sync.recheck import recheck_deprovisions
        from okta_salesforce.sync.writer import apply_plan

        sf = SalesforceOAuthHook(salesforce_conn_id=self.salesforce_conn_id).get_conn()
        ids = [a.salesforce_id for a in plan.actions if a.salesforce_id]
        current = users_by_id(
            sf, config, ids, directory, uri_target=bulk_uri_target(sf), extra_fields=(MODIFIED,)
        )
        managed = plan.guard.managed_active if plan.guard else None  # as planned, carried by _plan
        with OktaHook(okta_conn_id=self.okta_conn_id) as okta:
            okta_now = recheck_assignments(
                okta,
                config.okta_app_id,
                config,
                plan.actions,
                current,
                snapshot_started=snapshot_started,
                complete=not plan.incremental,
                assigned_estimate=managed or None,
            )
        assignments = okta_now.assignments
        checked = recheck_deprovisions(plan.actions, current, assignments, config)
        for action, why in checked.dropped:
            self.log.warning("Not %s %s: %s", action.kind, action.login, why)
        outcomes = apply_plan(
            sf, replace(plan, actions=tuple(checked.write)), config, directory, approval=approval
        )
        outcomes += [
            Outcome(
                login=a.login, action=str(a.kind), success=True, salesforce_id=a.salesforce_id, message=why
            )
            for a, why in checked.dropped
        ]
        return outcomes


def approval_request(plan: PlanHandle) -> PlanHandle:
    """The approval DAG's ``plan`` conf: the plan, its report limited to the deprovisioning, not dry."""
    paths = {k: v for k, v in plan.action_paths.items() if k in DEPROVISION_ACTIONS}
    path = next((paths[k] for k in DEPROVISION_ACTIONS if k in paths), plan.path)
    return replace(plan, action_paths=paths, path=path, counts={}, dry_run=False)


class RequestDeprovisionApprovalOperator(TriggerDagRunOperator):
    """Start a run of the approval DAG for deprovisioning the ``deprovision_users`` task held back.

    Skipped when nothing was held, and when an approval run is already queued or running (its
    approvers are not asked twice; what this run held is planned again by a later run).

    A ``TriggerDagRunOperator`` (whose module imports Airflow's ORM, ~13 ms of a parse) on
    purpose: Airflow draws the DAG dependency on the approval DAG and the "Triggered DAG" link only
    for that class, and the DAG processor imports the module anyway when it serializes any DAG
    (``_DependencyDetector``), so a lighter base would save nothing where DAGs are processed.

    :param held: the ``deprovision_users`` task's result (``None`` when it did not finish).
    """

    template_fields: Sequence[str] = (*TriggerDagRunOperator.template_fields, "held")

    def __init__(
        self,
        *,
        held: DeprovisionResult | dict[str, Any] | None,
        trigger_dag_id: str = APPROVAL_DAG_ID,
        **kwargs: Any,
    ) -> None:
        super().__init__(trigger_dag_id=trigger_dag_id, wait_for_completion=False, **kwargs)
        self.held = held

    def execute(self, context: Context) -> None:
        from okta_salesforce.operators.deprovision_result import DeprovisionResult

        held = DeprovisionResult.from_xcom(self.held) if self.held else None
        if held is None or held.request is None:
            raise AirflowSkipException("Nothing held for approval.")
        pending = context["ti"].get_dr_count(dag_id=self.trigger_dag_id, states=["queued", "running"])
        if pending:
            raise AirflowSkipException(
                f"{self.trigger_dag_id} already has a run waiting; the {held.held} users held "
                "here are planned again by a later run (the daily reconcile at the latest)."
            )
        self.conf = {
            "plan": held.request.to_xcom(),
            "source": {"dag_id": context["ti"].dag_id, "run_id": context["ti"].run_id},
        }
        self.log.info("Asking for approval of %s deprovisionings in %s.", held.held, self.trigger_dag_id)
        super().execute(context)
