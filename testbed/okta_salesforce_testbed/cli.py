"""The test bed's commands: ``sandbox`` (both emulators) and ``demo`` (the guided demo).

They are added to ``okta-salesforce`` when this package is installed (in the repository), and
run on their own as ``okta-salesforce-testbed``.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading
from collections.abc import Sequence
from typing import Any


def _sandbox(args: argparse.Namespace) -> int:
    from okta_salesforce_testbed.sandbox import Sandboxes

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


def add_commands(commands: Any) -> None:
    """Add ``sandbox`` and ``demo`` to an ``argparse`` sub-parser collection."""
    from okta_salesforce_testbed import demo

    sandbox = commands.add_parser("sandbox", help="run the local Okta and Salesforce sandboxes")
    sandbox.add_argument("--users", type=int, default=200, help="people in the seeded company")
    sandbox.add_argument("--seed", type=int, default=7)
    sandbox.add_argument("--latency-ms", type=float, default=0.0, help="delay added to every response")
    sandbox.add_argument("--directory", default=None, help="where the CA bundle and keys are written")
    sandbox.add_argument("--okta-port", type=int, default=0)
    sandbox.add_argument("--salesforce-port", type=int, default=0)
    sandbox.add_argument("--env-file", default=None, help="write AIRFLOW_CONN_* lines for both connections")
    sandbox.set_defaults(func=_sandbox)

    demo_parser = commands.add_parser("demo", help="run the end-to-end demo against the sandboxes")
    demo.add_arguments(demo_parser)
    demo_parser.set_defaults(func=demo.run)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="okta-salesforce-testbed", description=__doc__)
    add_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
