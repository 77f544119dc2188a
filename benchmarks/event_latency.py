"""Assign-to-active latency of event-driven provisioning, push beside polling, on a real Airflow deployment.

Starts the Okta and Salesforce sandboxes and an
:class:`~okta_salesforce_testbed.event_deployment.EventDeployment`
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

:class:`~okta_salesforce_testbed.event_deployment.EventDeployment` is also the e2e events tests' harness
(both on the shared :mod:`okta_salesforce_testbed.deployment`).
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

from okta_salesforce.event_pipeline import fast_path_max_users
from okta_salesforce_testbed.event_deployment import DeploymentError, EventDeployment, wait_for

__all__ = ["DeploymentError", "EventDeployment", "assign_new_person", "measure", "percentile", "wait_for"]


def assign_new_person(deployment: EventDeployment, login: str) -> None:
    """Create an Okta user and assign them to the Salesforce app (what an identity admin does)."""
    deployment.assign_new_person(login)


def measure(deployment: EventDeployment, count: int, *, prefix: str = "bench") -> list[float]:
    """Assign ``count`` new people one after the other; return each assign-to-active delay."""
    return [sample["delay_s"] for sample in measure_samples(deployment, count, prefix=prefix)]


def measure_samples(
    deployment: EventDeployment, count: int, *, prefix: str = "bench"
) -> list[dict[str, Any]]:
    """As :func:`measure`, with each assignment's login, wall-clock times and the machine's load."""
    samples = []
    for index in range(count):
        login = f"{prefix}.{index}.{secrets.token_hex(3)}@example.com"
        assigned_at = time.time()
        assign_new_person(deployment, login)
        delay = deployment.wait_active(login)
        samples.append(
            {"login": login, "assigned_at": assigned_at, "delay_s": delay, "load_1m": os.getloadavg()[0]}
        )
    return samples


#: The stages of one assignment's delay, in order (see :func:`breakdown`).
STAGES = ("assign_to_asset_event", "asset_event_to_run", "run_to_first_task", "first_task_to_active")


def breakdown(deployment: EventDeployment, samples: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Where each delay went, from the metadata database: p50 and max of every stage, in seconds.

    ``assign_to_asset_event``: the receiver (push) or the trigger's poll; ``asset_event_to_run``:
    the scheduler creating the run (it waits while the previous run is active: ``max_active_runs=1``);
    ``run_to_first_task``: scheduling, the executor and the task process starting;
    ``first_task_to_active``: the tasks up to the user's write.
    """
    events = deployment.query(
        "SELECT e.id, e.timestamp, e.extra FROM asset_event e JOIN asset a ON a.id = e.asset_id "
        "WHERE a.name = %s ORDER BY e.id",
        "okta_salesforce_assignment_events",
    )
    stages: dict[str, list[float]] = {stage: [] for stage in STAGES}
    for sample in samples:
        event = next((e for e in events if sample["login"] in json.dumps(e[2])), None)
        if event is None:
            continue
        runs = deployment.query(
            "SELECT r.run_id, r.queued_at FROM dagrun_asset_event x JOIN dag_run r ON r.id = x.dag_run_id "
            "WHERE x.event_id = %s ORDER BY r.id LIMIT 1",
            event[0],
        )
        if not runs:
            continue
        run_id, queued_at = runs[0]
        [(first_task,)] = deployment.query(
            "SELECT min(start_date) FROM task_instance WHERE run_id = %s AND start_date IS NOT NULL", run_id
        )
        if first_task is None:
            continue
        active_at = sample["assigned_at"] + sample["delay_s"]
        points = [sample["assigned_at"], event[1].timestamp(), queued_at.timestamp(), first_task.timestamp()]
        for stage, start, end in zip(STAGES, points, [*points[1:], active_at], strict=True):
            stages[stage].append(end - start)
    return {
        stage: {"p50_s": round(statistics.median(values), 2), "max_s": round(max(values), 2)}
        for stage, values in stages.items()
        if values
    }


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
            run_dir=root,
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
    samples = measure_samples(running, count, prefix=mode)
    elapsed, calls = time.monotonic() - started, running.log_calls() - calls_before
    delays = [sample["delay_s"] for sample in samples]
    loads = [sample["load_1m"] for sample in samples]
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
        "load_1m": {"mean": round(statistics.mean(loads), 2), "max": round(max(loads), 2)},
        "breakdown": breakdown(running, samples),
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
        "events_dag": f"fast path (event_sync) up to {fast_path_max_users()} users, else the full pipeline",
        "modes": [push, poll],
        "event_hook_deliveries": {k: v for k, v in hooks.items() if k in ("delivered", "retries", "failed")},
        "workdir": workdir_used,
    }


def render_markdown(document: dict[str, Any]) -> str:
    """The results as Markdown: push beside polling, the machine's load, where the time went."""
    machine = document["machine"]
    lines = [
        f"# Event latency: push beside polling ({document['date']})",
        "",
        f"{machine['cpus']} CPUs, load average {machine['load_average_before']} before and "
        f"{machine['load_average_after']} after (1/5/15 min; the machine is shared). Events Dag: "
        f"{document.get('events_dag', 'full pipeline')}.",
        "",
        "| mode | trigger poll interval | n | p50 | p95 | max | System Log requests/h (measured) "
        "| idle requests/h | runs started by push / poll | load (1 min) mean / max |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for m in document["modes"]:
        load = m.get("load_1m") or {}
        lines.append(
            f"| {m['mode']} | {m['trigger_poll_interval_s']:g} s | {m['count']} | {m['p50_s']:.1f} s | "
            f"{m['p95_s']:.1f} s | {m['max_s']:.1f} s | {m['system_log_requests_per_hour']} "
            f"({m['system_log_requests']} in {m['elapsed_s']:.0f} s) | {m['idle_requests_per_hour']} | "
            f"{m['asset_events']['push']} / {m['asset_events']['poll']} | "
            f"{load.get('mean', '?')} / {load.get('max', '?')} |"
        )
    if any(m.get("breakdown") for m in document["modes"]):
        lines += [
            "",
            "Where the time went, p50 (max), s: assignment -> Asset event -> Dag run created -> "
            "first task started -> user active:",
            "",
            "| mode | " + " | ".join(STAGES) + " |",
            "|---|" + "---|" * len(STAGES),
        ]
        for m in document["modes"]:
            cells = [m.get("breakdown", {}).get(stage) for stage in STAGES]
            lines.append(
                f"| {m['mode']} | "
                + " | ".join(f"{c['p50_s']:.1f} ({c['max_s']:.1f})" if c else "-" for c in cells)
                + " |"
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
