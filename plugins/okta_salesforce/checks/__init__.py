"""``okta-salesforce check``: is the set-up right, against the real tenants, before the first run?

It reads the config and checks, printing one line per item with what to fix in plain words:
the Salesforce connection (token flow, API version, granted scopes, that the integration user may
manage users), the Okta connection (authentication, the scopes the sync needs), the Okta app id,
every Profile / UserRole / PermissionSet the config names, every mapped User field (exists and is
writable, from describe) and the ``salesforce_api`` pool. Exit status 1 when anything is wrong.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from okta_salesforce.checks.findings import Finding, failed, passed

if TYPE_CHECKING:
    from okta_salesforce.sync.config import SyncConfig

__all__ = ["Finding", "add_arguments", "run", "run_checks"]


def _config(path: str | None, target: str | None = None) -> tuple[SyncConfig | None, Finding]:
    from okta_salesforce.config_location import resolve_config_path
    from okta_salesforce.sync.config import load_config

    try:
        resolved = resolve_config_path(path)
        where = f"{resolved} (target {target})" if target else str(resolved)
        return load_config(resolved, target=target), passed("Config", where)
    except Exception as err:  # noqa: BLE001 - missing file or invalid keys: the message names them
        return None, failed("Config", str(err))


def _pool(name: str) -> Finding:
    from okta_salesforce.pool import POOL_DESCRIPTION, POOL_SLOTS, PoolLookupError, pool_slots

    try:
        slots = pool_slots(name)
    except PoolLookupError as err:
        return failed(f"Airflow pool {name}", f"{err}; run check where the Airflow CLI works")
    if slots is None:
        return failed(
            f"Airflow pool {name}",
            "does not exist, so the scheduler would never start the Salesforce tasks: "
            f'airflow pools set {name} {POOL_SLOTS} "{POOL_DESCRIPTION}"',
        )
    return passed(f"Airflow pool {name}", f"{slots} slots")


def run_checks(
    *,
    config_path: str | None = None,
    okta_conn_id: str | None = None,
    salesforce_conn_id: str | None = None,
    pool: str | None = None,
    target: str | None = None,
) -> list[Finding]:
    """Every check, in the order a person would fix them.

    Connections and pool default to the config's (``okta.conn_id``, ``salesforce.conn_id``, the
    target's pool); ``target`` names the ``targets:`` entry to check.
    """
    from okta_salesforce.checks.okta import check_okta
    from okta_salesforce.checks.salesforce import check_salesforce
    from okta_salesforce.pool import SALESFORCE_POOL
    from okta_salesforce.sync.targets import target_names

    config, config_finding = _config(config_path, target)
    findings = [config_finding]
    findings += check_salesforce(
        salesforce_conn_id or (config.salesforce_conn_id if config else "salesforce_oauth_default"), config
    )
    if config is not None:
        findings += check_okta(okta_conn_id or config.okta_conn_id, config.okta_app_id)
    findings.append(_pool(pool or (target_names(config).pool if config else SALESFORCE_POOL)))
    return findings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the ``check`` options."""
    parser.add_argument("--config", default=None, help="the sync config (default: the configured one)")
    parser.add_argument("--target", default=None, help="the config's targets: entry to check")
    parser.add_argument("--okta-conn-id", default=None, help="default: the config's okta.conn_id")
    parser.add_argument("--salesforce-conn-id", default=None, help="default: the config's salesforce.conn_id")


def run(args: argparse.Namespace) -> int:
    """Print every finding; exit 1 when any is wrong."""
    findings = run_checks(
        config_path=args.config,
        okta_conn_id=args.okta_conn_id,
        salesforce_conn_id=args.salesforce_conn_id,
        target=args.target,
    )
    for finding in findings:
        print(finding.line())
    wrong = [f for f in findings if not f.ok]
    print()
    print(f"{len(wrong)} thing(s) to fix." if wrong else "Everything the sync needs is in place.")
    return 1 if wrong else 0
