"""``poll_okta`` alone at large N: CPU and wall of the operator against one seeded Okta sandbox.

Seeds the sandboxes once (``round(N / 0.9)`` people, 20 ms per response, as ``scripts/bench.sh``
does), then runs the reconcile DAG's ``poll_okta`` operator (full mode) in a fresh child process
several times, alternating between source trees (A/B: this checkout and, e.g., a worktree of
main), so that load from other work falls on each alike. Per run it prints the child's CPU
(``getrusage``, user + system) for the whole process and for ``execute`` alone, the wall time of
``execute``, the start-up before it (interpreter, ``airflow.sdk``, our operator module, then to the
first request the sandbox sees), and the sandbox's own CPU for the run (this parent process's CPU,
which only serves requests meanwhile).

    uv run python scripts/poll_bench.py --trees .,../perf-poll-base --rounds 3
    uv run python scripts/poll_bench.py --trees . --rounds 1 --profile /tmp/poll.prof

``--profile`` writes a cProfile of each child's ``execute`` (``<path>.<tree>.<round>``).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def _cpu(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def _peak_rss_mb() -> float:
    """``VmHWM``: unlike ``ru_maxrss``, it does not count the parent's pages a fork shared before exec."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _profile_loop_thread(path: str) -> None:
    """Profile the Okta hook's loop thread too (cProfile sees one thread), into ``path``."""
    try:
        from okta_salesforce.hooks import okta_loop
    except ImportError:  # a tree without the loop thread
        return
    serve = okta_loop.LoopThread._serve

    def profiled(self: Any) -> None:
        import cProfile

        profiler = cProfile.Profile()
        try:
            profiler.runcall(serve, self)
        finally:
            profiler.dump_stats(path)

    okta_loop.LoopThread._serve = profiled  # type: ignore[method-assign]


def child(out: Path, profile: str | None) -> None:
    """Run ``poll_okta`` once (imports timed from here) and write the figures to ``out``."""
    started = time.monotonic()
    import airflow.sdk  # noqa: F401 - loaded in every task process before the task runs

    airflow_ready = time.monotonic()
    from okta_salesforce.operators.okta import OktaAssignmentsOperator

    operator_ready = time.monotonic()
    from types import SimpleNamespace

    ti = SimpleNamespace(
        dag_id="okta_salesforce_reconcile",
        run_id="poll_bench",
        task_id="poll_okta",
        map_index=-1,
        try_number=1,
    )
    context: Any = {"ti": ti, "outlet_events": {}}
    operator = OktaAssignmentsOperator(task_id="poll_okta", mode="full")
    cpu_before = _cpu(resource.RUSAGE_SELF)
    t0 = time.monotonic()
    if profile:
        import cProfile

        _profile_loop_thread(f"{profile}.loop")
        profiler = cProfile.Profile()
        result = profiler.runcall(operator.execute, context)
        profiler.dump_stats(profile)
    else:
        result = operator.execute(context)
    wall = time.monotonic() - t0
    figures = {
        "started": started,
        "airflow_ready": airflow_ready,
        "operator_ready": operator_ready,
        "execute_started": t0,
        "execute_wall": wall,
        "execute_cpu": _cpu(resource.RUSAGE_SELF) - cpu_before,
        "cpu": _cpu(resource.RUSAGE_SELF),
        "count": result["count"],
        "peak_rss_mb": _peak_rss_mb(),
        "snapshot_bytes": Path(result["path"].removeprefix("file:").removeprefix("//")).stat().st_size,
    }
    out.write_text(json.dumps(figures))


def _run(tree: Path, env: dict[str, str], profile: str | None, okta: Any) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="poll-bench-") as tmp:
        out = Path(tmp) / "result.json"
        run_env = {
            **env,
            "PYTHONPATH": str(tree / "plugins"),
            "OKTA_SALESFORCE_STORAGE": (Path(tmp) / "runs").as_uri(),
            "AIRFLOW_HOME": str(Path(tmp) / "airflow"),
        }
        args = [sys.executable, str(Path(__file__).resolve()), "--child", str(out)]
        if profile:
            args += ["--child-profile", profile]
        first: list[float] = []
        handle = okta.handle

        def noting(request: Any) -> Any:
            if not first:
                first.append(time.monotonic())
            return handle(request)

        okta.handle = noting
        parent_cpu = _cpu(resource.RUSAGE_SELF)
        spawned = time.monotonic()
        try:
            proc = subprocess.run(args, env=run_env, capture_output=True, text=True, check=False)  # noqa: S603
        finally:
            okta.handle = handle
        sandbox_cpu = _cpu(resource.RUSAGE_SELF) - parent_cpu
        if proc.returncode != 0:
            raise RuntimeError(f"child failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
        figures = json.loads(out.read_text())
    return {
        "child_cpu": round(figures["cpu"], 2),
        "execute_cpu": round(figures["execute_cpu"], 2),
        "execute_wall": round(figures["execute_wall"], 2),
        "startup": round(figures["started"] - spawned, 3),
        "import_airflow": round(figures["airflow_ready"] - figures["started"], 3),
        "import_operator": round(figures["operator_ready"] - figures["airflow_ready"], 3),
        "first_request": round(first[0] - figures["operator_ready"], 3) if first else None,
        "sandbox_cpu": round(sandbox_cpu, 2),
        "count": figures["count"],
        "peak_rss_mb": round(figures["peak_rss_mb"], 1),
        "snapshot_mb": round(figures["snapshot_bytes"] / 1e6, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000, help="assigned users (default 100000)")
    parser.add_argument("--trees", default=".", help="comma-separated source trees to alternate")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--profile", help="write a cProfile of each run's execute to <path>.<tree>.<round>")
    parser.add_argument("--no-warm-up", action="store_true", help="skip the unmeasured first run")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--child-profile", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.child_profile)
        return 0

    from okta_salesforce_testbed.sandbox import Sandboxes, Scenario

    trees = [Path(t).resolve() for t in args.trees.split(",")]
    scenario = Scenario.with_change_rate(0.1)
    people = round(args.n / scenario.assigned)
    cache = Path(tempfile.gettempdir()) / "okta-salesforce-bench-pycache"
    with tempfile.TemporaryDirectory(prefix="poll-bench-sb-") as tmp:
        seeding = time.monotonic()
        with Sandboxes(
            users=people, seed=7, scenario=scenario, latency=args.latency_ms / 1000, directory=tmp
        ) as sb:
            print(f"seeded {people} people in {time.monotonic() - seeding:.1f} s", flush=True)
            gc.collect()
            gc.freeze()  # as benchmarks/runner.py does: the seeded state out of the GC's scans
            env = {**os.environ, **sb.connection_env(), "PYTHONPYCACHEPREFIX": str(cache)}
            env.pop("PYTHONDONTWRITEBYTECODE", None)
            env["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
            if not args.no_warm_up:
                _run(trees[0], env, None, sb.okta)  # unmeasured: fills the bytecode cache
            rows: dict[str, list[dict[str, Any]]] = {str(t): [] for t in trees}
            for i in range(args.rounds):
                for tree in trees:
                    profile = f"{args.profile}.{tree.name}.{i}" if args.profile else None
                    sb.okta.reset_counters()
                    row = _run(tree, env, profile, sb.okta)
                    row["requests"] = sb.okta.total_requests()
                    row["load"] = round(os.getloadavg()[0], 1)
                    rows[str(tree)].append(row)
                    print(tree.name, json.dumps(row), flush=True)
    for tree, runs in rows.items():
        summary = {
            key: statistics.median(r[key] for r in runs)
            for key in ("child_cpu", "execute_cpu", "execute_wall", "sandbox_cpu", "first_request")
            if all(r[key] is not None for r in runs)
        }
        print("median", Path(tree).name, json.dumps(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
