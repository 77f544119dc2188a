"""Assign-to-active latency of event-driven provisioning, push beside polling, on a real Airflow deployment.

Starts the Okta and Salesforce sandboxes and an :class:`~benchmarks.event_deployment.EventDeployment`
(api-server, scheduler with LocalExecutor, dag-processor, triggerer on PostgreSQL), then in the
same run:

1. **push**: registers the Okta Event Hook (through the allow-list HTTPS proxy in front of the API
   server) and times ``--count`` assignments, one after the other, until each Salesforce user is
   active; the trigger polls every ``--push-poll-interval`` s as the safety net;
2. **polling**: deactivates the hook, lets one assignment switch the trigger back to
   ``--poll-interval`` (not counted), and times ``--count`` more.

For each mode it reports every delay, p50/p95/max and the System Log requests per hour the
trigger made, with the machine's load; ``--output`` keeps the results as JSON and Markdown::

    uv run python -m benchmarks events --count 20        # or: scripts/bench.sh events --count 20

:class:`~benchmarks.event_deployment.EventDeployment` is also the end-to-end tests' harness.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks.event_deployment import DeploymentError, EventDeployment, wait_for

__all__ = ["DeploymentError", "EventDeployment", "assign_new_person", "measure", "percentile", "wait_for"]


def assign_new_person(deployment: EventDeployment, login: str) -> None:
    """Create an Okta user and assign them to the Salesforce app (what an identity admin does)."""
    okta = deployment.sandboxes.okta_app
    okta.add_user(first_name="Event", last_name=login.split("@")[0].title(), login=login, department="Sales")
    okta.assign(login)


def measure(deployment: EventDeployment, count: int, *, prefix: str = "bench") -> list[float]:
    """Assign ``count`` new people one after the other; return each assign-to-active delay."""
    delays = []
    for index in range(count):
        login = f"{prefix}.{index}.{secrets.token_hex(3)}@example.com"
        assign_new_person(deployment, login)
        delays.append(deployment.wait_active(login))
    return delays


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile (``share`` in 0..1) of ``values``."""
    ranked = sorted(values)
    return ranked[max(math.ceil(share * len(ranked)) - 1, 0)]


@contextlib.contextmanager
def deployment(
    poll_interval: float, workdir: Path | None = None, *, push_poll_interval: float = 60.0
) -> Iterator[EventDeployment]:
    """Sandboxes and an :class:`EventDeployment` on them, stopped on exit."""
    from okta_salesforce_testbed.sandbox import Sandboxes

    root = workdir or Path(tempfile.mkdtemp(prefix="okta-events-bench-"))
    with (
        Sandboxes(users=100, directory=root / "sandbox") as sandboxes,
        EventDeployment(
            workdir=root,
            sandboxes=sandboxes,
            poll_interval=poll_interval,
            push_poll_interval=push_poll_interval,
        ) as running,
    ):
        yield running


def _phase(running: EventDeployment, mode: str, count: int, interval: float) -> dict[str, Any]:
    """Time ``count`` assignments; the System Log requests the trigger made meanwhile."""
    events_before = len(running.asset_events())
    calls_before, started = running.log_calls(), time.monotonic()
    delays = measure(running, count, prefix=mode)
    elapsed, calls = time.monotonic() - started, running.log_calls() - calls_before
    sources = [
        (e.get("from_event_hook") and "push") or "poll" for e in running.asset_events()[events_before:]
    ]
    return {
        "mode": mode,
        "trigger_poll_interval_s": interval,
        "count": len(delays),
        "delays_s": [round(d, 2) for d in delays],
        "p50_s": round(statistics.median(delays), 2),
        "p95_s": round(percentile(delays, 0.95), 2),
        "max_s": round(max(delays), 2),
        "system_log_requests": calls,
        "elapsed_s": round(elapsed, 1),
        "system_log_requests_per_hour": round(calls * 3600 / elapsed),
        "idle_requests_per_hour": round(3600 / interval),
        "asset_events": {"push": sources.count("push"), "poll": sources.count("poll")},
    }


def run(count: int, poll_interval: float, push_poll_interval: float, workdir: Path | None) -> dict[str, Any]:
    """Both modes on one deployment; the result document."""
    load_before = os.getloadavg()
    with deployment(poll_interval, workdir, push_poll_interval=push_poll_interval) as running:
        running.enable_push()
        push = _phase(running, "push", count, push_poll_interval)
        running.disable_push()
        # The first assignment after push stopped is found by a slow poll and puts the trigger
        # back on its normal interval: not part of the polling figures.
        measure(running, 1, prefix="switch")
        poll = _phase(running, "poll", count, poll_interval)
        hooks = dict(running.sandboxes.okta_app.hooks.counters)
        workdir_used = str(running.workdir)
    return {
        "benchmark": "event_latency",
        "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "machine": {
            "cpus": os.cpu_count(),
            "load_average_before": [round(x, 2) for x in load_before],
            "load_average_after": [round(x, 2) for x in os.getloadavg()],
        },
        "modes": [push, poll],
        "event_hook_deliveries": {k: v for k, v in hooks.items() if k in ("delivered", "retries", "failed")},
        "workdir": workdir_used,
    }


def render_markdown(document: dict[str, Any]) -> str:
    """The results as a Markdown table, with the machine's load."""
    machine = document["machine"]
    lines = [
        f"# Event latency: push beside polling ({document['date']})",
        "",
        f"{machine['cpus']} CPUs, load average {machine['load_average_before']} before and "
        f"{machine['load_average_after']} after (1/5/15 min; the machine is shared).",
        "",
        "| mode | trigger poll interval | n | p50 | p95 | max | System Log requests/h (measured) "
        "| idle requests/h | runs started by push / poll |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for m in document["modes"]:
        lines.append(
            f"| {m['mode']} | {m['trigger_poll_interval_s']:g} s | {m['count']} | {m['p50_s']:.1f} s | "
            f"{m['p95_s']:.1f} s | {m['max_s']:.1f} s | {m['system_log_requests_per_hour']} "
            f"({m['system_log_requests']} in {m['elapsed_s']:.0f} s) | {m['idle_requests_per_hour']} | "
            f"{m['asset_events']['push']} / {m['asset_events']['poll']} |"
        )
    lines += ["", "Delays (s), assign -> active Salesforce user:", ""]
    lines += [f"- {m['mode']}: " + ", ".join(f"{d:.1f}" for d in m["delays_s"]) for m in document["modes"]]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks events", description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=20, help="assignments to time per mode (default 20)")
    parser.add_argument("--poll-interval", type=float, default=10.0, help="trigger poll interval, s (10)")
    parser.add_argument(
        "--push-poll-interval", type=float, default=60.0, help="poll interval while push is healthy, s (60)"
    )
    parser.add_argument("--workdir", type=Path, default=None, help="keep the Airflow home and logs here")
    parser.add_argument("--output", type=Path, default=None, help="folder for <name>.json and <name>.md")
    parser.add_argument("--name", default="event-latency", help="results file name (without extension)")
    args = parser.parse_args(argv)

    document = run(args.count, args.poll_interval, args.push_poll_interval, args.workdir)
    text = render_markdown(document)
    print(text)
    if args.output:
        args.output.mkdir(parents=True, exist_ok=True)
        (args.output / f"{args.name}.json").write_text(json.dumps(document, indent=2) + "\n")
        (args.output / f"{args.name}.md").write_text(text)
        print(f"Results: {args.output / (args.name + '.json')} and .md", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
