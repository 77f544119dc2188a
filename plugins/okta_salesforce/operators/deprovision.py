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
3. re-reads every user to deprovision in Okta and Salesforce and drops those the current state
   no longer calls for (re-assigned, already inactive, no longer managed), reporting why;
4. hands the rest to the writer (:func:`~okta_salesforce.sync.writer.apply_plan`), which
   enforces the same refusal again.

In a provisioning run (no approval task) a plan over the guard is *held*: nothing is written, the
report shows ``not_approved``, and :class:`RequestDeprovisionApprovalOperator` starts a run of
the approval DAG for it, so provisioning never waits for a person.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.providers.standard.operators.trigger_dagrun import TriggerDagRunOperator
from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowException

from okta_salesforce.operators.params import as_bool
from okta_salesforce.sync.targets import APPROVAL_DAG_ID  # one approval DAG per target: ..._approval__<name>
from okta_salesforce.version_compat import AirflowSkipException

if TYPE_CHECKING:
    from airflow.sdk import Context

    from okta_salesforce.hooks.okta import OktaHook
    from okta_salesforce.sync.config import SyncConfig
    from okta_salesforce.sync.models import Action, OktaAssignment, Outcome, Plan, SalesforceUser

DEPROVISION_ACTIONS = ("deactivate", "freeze")


class DeprovisionUsersOperator(BaseOperator):
    """Apply the plan's deactivations and freezes, with the guard, approval and re-check at write time.

    :param plan: the ``plan`` task's XCom (or the approval request's copy of it).
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
        plan: dict[str, Any] | Any,
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
        from okta_salesforce.storage import read_json, run_folder, write_jsonl
        from okta_salesforce.sync.config import load_config
        from okta_salesforce.sync.guards import GUARD_TRIPPED, Approval, deprovision_refusal
        from okta_salesforce.sync.models import DirectoryInfo
        from okta_salesforce.sync.writer import apply_plan

        ti = context["ti"]
        target = run_folder(ti.dag_id, ti.run_id) / f"outcomes_{ti.task_id}_try{ti.try_number}.jsonl"
        actions = self._actions()
        dry_run = bool(self.plan.get("dry_run"))
        result: dict[str, Any] = {
            "path": str(target),
            "actions": list(DEPROVISION_ACTIONS),
            "dry_run": dry_run,
        }
        if not actions:
            self.log.info("Nobody to deprovision.")
            write_jsonl(target, [])
            return result
        config = load_config(self.config_path, target=self.target)
        plan = self._plan(actions, config)
        directory = DirectoryInfo.from_dict(read_json(self.plan["directory_path"]))
        approval = None
        if self.approval_task_id:
            from okta_salesforce.operators.approval import APPROVAL_XCOM_KEY

            answer = ti.xcom_pull(task_ids=self.approval_task_id, key=APPROVAL_XCOM_KEY)
            approval = Approval.from_response(answer)
        refusal = None if dry_run else deprovision_refusal(plan, approval, config.guards.max_plan_age)
        outcomes: list[Outcome]
        if refusal is not None and refusal.code == GUARD_TRIPPED and not self.approval_task_id:
            self.log.warning("Held for approval (%d users): %s", len(actions), refusal.message)
            write_jsonl(target, [])
            return {**result, "held": len(actions), "request": approval_request(self.plan)}
        if dry_run or refusal is not None:
            if refusal is not None:
                self.log.warning("Deprovisioning nobody: %s", refusal.message)
            # The writer refuses (or, in a dry run, only describes) every action: no request is made.
            outcomes = apply_plan(None, plan, config, directory, dry_run=dry_run, approval=approval)  # type: ignore[arg-type]
        else:
            outcomes = self._write(plan, config, directory, approval)
        write_jsonl(target, (o.to_dict() for o in outcomes))
        counts = Counter("success" if o.success else "failed" for o in outcomes)
        self._raise_for_unfinished(context, outcomes, {**result, **counts})
        self.log.info(
            "deactivate/freeze %d records: %d succeeded, %d failed",
            len(outcomes),
            counts["success"],
            counts["failed"],
        )
        return {**result, **counts}

    def _raise_for_unfinished(
        self, context: Context, outcomes: list[Outcome], result: dict[str, Any]
    ) -> None:
        """As the other writers do: a request failure or the API budget fails the try, outcomes published."""
        from okta_salesforce.operators.salesforce import WritesUnfinished
        from okta_salesforce.sync.transport import STOP_CODES

        stopped = [o for o in outcomes if o.error_code in STOP_CODES]
        if stopped:
            context["ti"].xcom_push(key="return_value", value=result)
            raise WritesUnfinished(
                f"{len(stopped)} deprovisioning writes unfinished ({stopped[0].error_code}): "
                f"{stopped[0].message}. They are pending and retried by the next try or run."
            )

    # Reading the plan ------------------------------------------------------------------------
    def _actions(self) -> list[Action]:
        from okta_salesforce.storage import read_jsonl
        from okta_salesforce.sync.models import Action

        paths = self.plan.get("action_paths") or {}
        return [
            Action.from_dict(row)
            for kind in DEPROVISION_ACTIONS
            if kind in paths
            for row in read_jsonl(paths[kind])
        ]

    def _plan(self, actions: list[Action], config: SyncConfig) -> Plan:
        """The plan as the writer sees it, with the guard's verdict derived here, not trusted from XCom."""
        from okta_salesforce.sync.guards import check_deactivations, plan_fingerprint
        from okta_salesforce.sync.models import Plan

        planned_at = str(self.plan.get("planned_at") or "")
        plan_id = str(self.plan.get("plan_id") or "")
        if (
            plan_fingerprint(actions, run_id=str(self.plan.get("run_id") or ""), planned_at=planned_at)
            != plan_id
        ):
            raise AirflowException(
                "The deprovisioning actions on file are not the ones the plan's id names (changed since "
                "the plan was made?): deprovisioning nobody."
            )
        managed_active = int((self.plan.get("guard") or {}).get("managed_active") or 0)
        incremental = bool(self.plan.get("incremental"))
        guard = check_deactivations(
            config.guards,
            len(actions),
            managed_active,
            incremental=incremental,
            allow_mass_deactivation=as_bool(self.allow_mass_deactivation),
        )
        return Plan(
            tuple(actions), incremental=incremental, guard=guard, plan_id=plan_id, planned_at=planned_at
        )

    # Writing -----------------------------------------------------------------------------------
    def _write(self, plan: Plan, config: SyncConfig, directory: Any, approval: Any) -> list[Outcome]:
        from dataclasses import replace

        from okta_salesforce.hooks.okta import OktaHook
        from okta_salesforce.hooks.salesforce import SalesforceOAuthHook
        from okta_salesforce.sync.directory import users_by_id
        from okta_salesforce.sync.models import Outcome
        from okta_salesforce.sync.recheck import recheck_deprovisions
        from okta_salesforce.sync.writer import apply_plan

        sf = SalesforceOAuthHook(salesforce_conn_id=self.salesforce_conn_id).get_conn()
        current = users_by_id(
            sf, config, [a.salesforce_id for a in plan.actions if a.salesforce_id], directory
        )
        managed = ((self.plan or {}).get("guard") or {}).get("managed_active")
        with OktaHook(okta_conn_id=self.okta_conn_id) as okta:
            assignments = current_assignments(
                okta, config.okta_app_id, plan.actions, current, assigned_estimate=managed
            )
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


def current_assignments(
    okta: OktaHook,
    app_id: str,
    actions: Sequence[Action],
    users: dict[str, SalesforceUser],
    *,
    assigned_estimate: int | None = None,
) -> list[OktaAssignment]:
    """The current Okta state of everyone who could match the users to deprovision.

    Reads each action's Okta user by id (when the plan had one) and looks up, by login, the
    action's login and the Salesforce user's FederationIdentifier (a user re-created or
    re-assigned in Okta since the plan is found this way). Both reads are concurrent.

    Those are about three requests per user. When re-reading the app's assignments page by page
    costs fewer (``assigned_estimate``, e.g. the plan's managed active users, over 500 per page),
    the app's current assignments are listed instead and those with one of these ids or logins
    kept: the same users, found assigned or not, in a fraction of the requests (a full reconcile
    deprovisioning 10 % of 10,000 users: 21 pages instead of about 800 user reads).
    """
    by_id = {a.okta_user_id: a.login for a in actions if a.okta_user_id}
    logins: dict[str, None] = {}
    for action in actions:
        logins.setdefault(action.login)
        user = users.get(action.salesforce_id or "")
        federation_id = user.fields.get("FederationIdentifier") if user else None
        if federation_id:
            logins.setdefault(str(federation_id))
    pages = -(-(assigned_estimate or 0) // okta.page_size) + 1
    if assigned_estimate is not None and pages < len(logins) + 2 * len(actions):
        wanted = {login.lower() for login in logins}
        return [
            a for a in okta.iter_assignments(app_id) if a.okta_user_id in by_id or a.login.lower() in wanted
        ]
    for login, found in okta.find_users(logins).items():
        if found and found.get("id") and found["id"] not in by_id:
            by_id[str(found["id"])] = login
    return okta.get_assignments(app_id, by_id)


def approval_request(plan: dict[str, Any]) -> dict[str, Any]:
    """The approval DAG's ``plan`` conf: the plan's XCom, its report limited to the deprovisioning."""
    paths = plan.get("action_paths") or {}
    path = next((paths[k] for k in DEPROVISION_ACTIONS if k in paths), plan.get("path"))
    keep = ("plan_id", "planned_at", "run_id", "deprovisions", "directory_path", "incremental", "guard")
    return {
        **{k: plan.get(k) for k in keep},
        "action_paths": {k: v for k, v in paths.items() if k in DEPROVISION_ACTIONS},
        "path": path,
        "dry_run": False,
    }


class RequestDeprovisionApprovalOperator(TriggerDagRunOperator):
    """Start a run of the approval DAG for deprovisioning the ``deprovision_users`` task held back.

    Skipped when nothing was held, and when an approval run is already queued or running (its
    approvers are not asked twice; what this run held is planned again by a later run).

    :param held: the ``deprovision_users`` task's XCom.
    """

    template_fields: Sequence[str] = (*TriggerDagRunOperator.template_fields, "held")

    def __init__(
        self, *, held: dict[str, Any] | Any, trigger_dag_id: str = APPROVAL_DAG_ID, **kwargs: Any
    ) -> None:
        super().__init__(trigger_dag_id=trigger_dag_id, wait_for_completion=False, **kwargs)
        self.held = held

    def execute(self, context: Context) -> None:
        request = (self.held or {}).get("request")
        if not request:
            raise AirflowSkipException("Nothing held for approval.")
        pending = context["ti"].get_dr_count(dag_id=self.trigger_dag_id, states=["queued", "running"])
        if pending:
            raise AirflowSkipException(
                f"{self.trigger_dag_id} already has a run waiting; the {self.held.get('held')} users held "
                "here are planned again by a later run (the daily reconcile at the latest)."
            )
        self.conf = {
            "plan": request,
            "source": {"dag_id": context["ti"].dag_id, "run_id": context["ti"].run_id},
        }
        self.log.info(
            "Asking for approval of %s deprovisionings in %s.", self.held.get("held"), self.trigger_dag_id
        )
        super().execute(context)
