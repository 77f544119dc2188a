"""The ``okta-salesforce`` command: authorize, init, check, cleanup; from the repository also sandbox and
demo."""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading
from collections.abc import Sequence


def _sandbox(args: argparse.Namespace) -> int:
    from okta_salesforce.sandbox import Sandboxes

    with Sandboxes(
        users=args.users,
        seed=args.seed,
        latency=args.latency_ms / 1000,
        directory=args.directory,
        okta_port=args.okta_port,
        salesforce_port=args.salesforce_port,
    ) as sb:
        print(f"Okta sandbox:        {sb.okta.url}   (app id {sb.seed.okta_app_id})")
        print(f"Salesforce sandbox:  {sb.salesforce.url}")
        print(f"CA bundle:           {sb.ca_path}")
        print(f"Seeded company:      {args.users} people")
        if args.env_file:
            with open(args.env_file, "w", encoding="utf-8") as fh:
                for key, value in sb.connection_env().items():
                    fh.write(f"{key}='{value}'\n")
            print(
                f"Connections written: {args.env_file} (AIRFLOW_CONN_* variables; contains sandbox secrets)"
            )
        print("Press Ctrl+C to stop.", flush=True)
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        with contextlib.suppress(KeyboardInterrupt):
            stop.wait()
    return 0


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

    sandbox = commands.add_parser("sandbox", help="run the local Okta and Salesforce sandboxes")
    sandbox.add_argument("--users", type=int, default=200, help="people in the seeded company")
    sandbox.add_argument("--seed", type=int, default=7)
    sandbox.add_argument("--latency-ms", type=float, default=0.0, help="delay added to every response")
    sandbox.add_argument("--directory", default=None, help="where the CA bundle and keys are written")
    sandbox.add_argument("--okta-port", type=int, default=0)
    sandbox.add_argument("--salesforce-port", type=int, default=0)
    sandbox.add_argument("--env-file", default=None, help="write AIRFLOW_CONN_* lines for both connections")
    sandbox.set_defaults(func=_sandbox)

    from okta_salesforce import authorize, checks, demo, scaffold

    demo_parser = commands.add_parser("demo", help="run the end-to-end demo against the sandboxes")
    demo.add_arguments(demo_parser)
    demo_parser.set_defaults(func=demo.run)

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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
