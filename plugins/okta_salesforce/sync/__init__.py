"""The sync core: models, config, mapping, matching, plan and guards. No Airflow imports.

The entry points operators and DAGs call::

    from okta_salesforce.sync import apply_plan, build_plan, load_config, read_salesforce

    config = load_config()                                   # include/okta_salesforce.yaml
    snapshot = read_salesforce(sf, config)                   # or (sf, config, assignments)
    plan = build_plan(assignments, snapshot.users, config, directory=snapshot.directory)
    outcomes = apply_plan(sf, plan, config, snapshot.directory, dry_run=False,
                          approval=None)                     # Approval of plan.plan_id when the guard tripped

The writer refuses a plan's deactivations and freezes when ``plan.guard`` is blocked and no
approval of ``plan.plan_id`` is given, or when the plan is older than
``guards.max_plan_age_minutes`` (see :mod:`okta_salesforce.sync.guards`).

Names are imported lazily so that importing this package stays cheap at DAG parse time.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from okta_salesforce.sync.config import ConfigError, SyncConfig, load_config
    from okta_salesforce.sync.directory import SalesforceSnapshot, read_salesforce, resolve_directory
    from okta_salesforce.sync.guards import (
        Approval,
        GuardTripped,
        deprovision_refusal,
        plan_fingerprint,
        raise_for_guard,
    )
    from okta_salesforce.sync.models import (
        Action,
        ActionKind,
        DirectoryInfo,
        OktaAssignment,
        Outcome,
        Plan,
        SalesforceUser,
    )
    from okta_salesforce.sync.plan import build_plan
    from okta_salesforce.sync.recheck import recheck_deprovisions
    from okta_salesforce.sync.writer import apply_plan

_EXPORTS = {
    "ConfigError": "config",
    "SyncConfig": "config",
    "load_config": "config",
    "SalesforceSnapshot": "directory",
    "read_salesforce": "directory",
    "resolve_directory": "directory",
    "Approval": "guards",
    "GuardTripped": "guards",
    "deprovision_refusal": "guards",
    "plan_fingerprint": "guards",
    "raise_for_guard": "guards",
    "recheck_deprovisions": "recheck",
    "Action": "models",
    "ActionKind": "models",
    "DirectoryInfo": "models",
    "OktaAssignment": "models",
    "Outcome": "models",
    "Plan": "models",
    "SalesforceUser": "models",
    "build_plan": "plan",
    "apply_plan": "writer",
}
__all__ = [
    "Action",
    "ActionKind",
    "Approval",
    "ConfigError",
    "DirectoryInfo",
    "GuardTripped",
    "OktaAssignment",
    "Outcome",
    "Plan",
    "SalesforceSnapshot",
    "SalesforceUser",
    "SyncConfig",
    "apply_plan",
    "build_plan",
    "deprovision_refusal",
    "load_config",
    "plan_fingerprint",
    "raise_for_guard",
    "read_salesforce",
    "recheck_deprovisions",
    "resolve_directory",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{module}"), name)
