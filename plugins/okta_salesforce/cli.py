"""The ``okta-salesforce`` command: authorize, init, check, cleanup; from the repository also sandbox and
demo."""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Sequence


def _cleanup(args: argparse.Namespace) -> int:
    from okta_salesforce.storage import prune_runs

    removed = prune_runs(base=args.storage, dag_id=args.dag_id, days=args.days, dry_run=args.dry_run)
    verb = "would remove" if args.dry_run else "removed"
    for folder in removed:
        print(f"{verb} {folder}")
    print(f"{len(removed)} run folder(s) {verb}.")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="okta-salesforce", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    from okta_salesforce import authorize, checks, scaffold

    auth = commands.add_parser(
        "authorize", help="authorize a Salesforce connected app and store the connection"
    )
    authorize.add_arguments(auth)
    auth.set_defaults(func=authorize.run)

    cleanup = commands.add_parser(
        "cleanup", help="remove run folders (snapshots, plans, reports) older than the retention"
    )
    cleanup.add_argument(
        "--days",
        type=float,
        default=None,
        help="retention in days (default $OKTA_SALESFORCE_RETENTION_DAYS or 30)",
    )
    cleanup.add_argument("--dag-id", default=None, help="only this DAG's runs")
    cleanup.add_argument("--storage", default=None, help="base URL (default $OKTA_SALESFORCE_STORAGE)")
    cleanup.add_argument("--dry-run", action="store_true", help="list what would be removed")
    cleanup.set_defaults(func=_cleanup)

    init = commands.add_parser(
        "init", help="write the DAG files and a commented config into an existing Airflow project"
    )
    scaffold.add_arguments(init)
    init.set_defaults(func=scaffold.run)

    check = commands.add_parser(
        "check", help="check the connections, the config and the pool against the real tenants"
    )
    checks.add_arguments(check)
    check.set_defaults(func=checks.run)

    # In the repository the test bed adds `sandbox` and `demo`; the provider wheel has no test bed.
    with contextlib.suppress(ImportError):
        from okta_salesforce_testbed.cli import add_commands

        add_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
