"""Run the benchmarks: our reconcile and the per-user baseline against the sandboxes, plus DAG parse times.

For each N the sandboxes are seeded with a company of about ``N / 0.9`` people (so about N are
assigned to the Salesforce app; ``Scenario.with_change_rate``: 10 % of the company needs a
change) and a per-request latency. The work runs in a child process; the sandboxes run in this
process and count every request by route and their own service time.
"""

from __future__ import annotations

import contextlib
import gc
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from okta_salesforce_testbed.sandbox import Sandboxes
    from okta_salesforce_testbed.sandbox.server import Request, Response, SandboxServer

#: Endpoints (sandbox route names) shown as columns, in this order, with their short labels.
ENDPOINTS = {
    "okta:apps.users.list": "okta_app_users",
    "okta:users.get": "okta_user_reads",
    "okta:apps.users.get": "okta_app_user_reads",
    "salesforce:oauth.token": "sf_token",
    "salesforce:data.query": "sf_query",
    "salesforce:data.query_more": "sf_query_more",
    "salesforce:data.describe": "sf_describe",
    "salesforce:data.composite.create": "sf_collections_post",
    "salesforce:data.composite.update": "sf_collections_patch",
    "salesforce:data.sobject.create": "sf_sobject_post",
    "salesforce:data.sobject.update": "sf_sobject_patch",
}
#: Requests of a full reconcile that do not grow with N: one OAuth token, one Profile id lookup.
FLOOR_CONSTANT = 2
OKTA_PAGE, SOQL_PAGE, COLLECTION_BATCH = 500, 2000, 200
WRITE_KINDS = ("create", "activate", "update", "deactivate", "freeze", "unfreeze")
BASELINE_MAX_N = 10_000
#: The repository: children run ``python -m benchmarks.*`` from here.
REPO_ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Settings:
    """What to run.

    :param sizes: the N values (assigned users).
    :param latency: seconds each sandbox response is delayed.
    :param change_rate: share of the company needing a change.
    :param seed: the sandbox company's random seed.
    :param baseline_max: run the baseline only for N up to this (extrapolate above).
    :param baseline_concurrency: template flows running side by side.
    :param parse_repetitions: fresh-process parses per DAG file (the median is kept).
    :param dags: DAG files whose parse time is measured.
    :param bytecode_cache: where children keep ``.pyc`` files (None: as the environment says).
    :param warm_up: run a small reconcile and a parse of each file first, unmeasured, so that
        the bytecode cache is filled before anything is timed.
    """

    sizes: Sequence[int] = (1_000, 10_000, 100_000)
    latency: float = 0.02
    change_rate: float = 0.1
    seed: int = 7
    baseline_max: int = BASELINE_MAX_N
    baseline_concurrency: int = 8
    parse_repetitions: int = 7
    dags: Sequence[Path] = field(default_factory=lambda: sorted((REPO_ROOT / "dags").glob("*.py")))
    bytecode_cache: Path | None = field(
        default_factory=lambda: Path(tempfile.gettempdir()) / "okta-salesforce-bench-pycache"
    )

    warm_up: bool = True

    def child_env(self) -> dict[str, str]:
        """The environment of every measured child process.

        With a ``bytecode_cache``, children read and write ``.pyc`` files under it (not in the
        source tree), as a deployed image has them, even where ``PYTHONDONTWRITEBYTECODE`` is set.
        """
        env = dict(os.environ)
        if self.bytecode_cache is not None:
            env.pop("PYTHONDONTWRITEBYTECODE", None)
            env["PYTHONPYCACHEPREFIX"] = str(self.bytecode_cache)
        return env


def floor_calls(assigned: int, salesforce_users: int, changes: int) -> int:
    """The fewest requests a batched full reconcile can make.

    ``ceil(N/500)`` Okta pages + ``ceil(M/2000)`` SOQL pages + ``ceil(k/200)`` sObject Collections
    writes + :data:`FLOOR_CONSTANT`.
    """
    return (
        math.ceil(assigned / OKTA_PAGE)
        + math.ceil(salesforce_users / SOQL_PAGE)
        + math.ceil(changes / COLLECTION_BATCH)
        + FLOOR_CONSTANT
    )


def company_size(assigned: int, change_rate: float) -> int:
    """People to seed so that about ``assigned`` of them are assigned to the app."""
    from okta_salesforce_testbed.sandbox import Scenario

    return round(assigned / Scenario.with_change_rate(change_rate).assigned)


class _FirstRequest:
    """Wraps a sandbox server's ``handle`` to note when its first request arrives (monotonic clock)."""

    def __init__(self, server: SandboxServer) -> None:
        self.at: float | None = None
        self._handle: Callable[[Request], Response | None] = server.handle
        server.handle = self  # type: ignore[method-assign]

    def __call__(self, request: Request) -> Response | None:
        if self.at is None:
            self.at = time.monotonic()
        return self._handle(request)


class _EncodeClock:
    """Adds the sandboxes' response encoding (done after ``handle``, outside ``service_seconds``) to a clock.

    Patches :meth:`Response.encode` of this (the parent) process while active.
    """

    def __init__(self) -> None:
        self.seconds = 0.0

    def __enter__(self) -> _EncodeClock:
        import threading

        from okta_salesforce_testbed.sandbox.server import Response

        self._original = original = Response.encode
        lock = threading.Lock()

        def timed_encode(response: Response) -> bytes:
            started = time.perf_counter()
            try:
                return original(response)
            finally:
                with lock:
                    self.seconds += time.perf_counter() - started

        Response.encode = timed_encode  # type: ignore[method-assign]
        return self

    def __exit__(self, *exc: object) -> None:
        from okta_salesforce_testbed.sandbox.server import Response

        Response.encode = self._original  # type: ignore[method-assign]


def _child(module: str, args: list[str], env: dict[str, str]) -> tuple[dict[str, Any], float, float]:
    """Run ``python -m module``; return its result JSON, its spawn time and its wall seconds."""
    with tempfile.TemporaryDirectory(prefix="bench-out-") as tmp:
        out = Path(tmp) / "result.json"
        spawned = time.monotonic()
        proc = subprocess.run(
            [sys.executable, "-m", module, "--out", str(out), *args],
            env=env,
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        wall = time.monotonic() - spawned
        if proc.returncode != 0:
            raise RuntimeError(f"{module} failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
        return json.loads(out.read_text()), spawned, wall


def _rss_mb() -> float | None:
    """This process's resident set size in MB (``VmRSS``), or None off Linux."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return None


def _counters(sb: Sandboxes, encode: _EncodeClock) -> dict[str, Any]:
    calls = {f"okta:{k}": v for k, v in sb.okta.counters.items()}
    calls |= {f"salesforce:{k}": v for k, v in sb.salesforce.counters.items()}
    requests = sum(calls.values())
    service = sb.okta.service_seconds + sb.salesforce.service_seconds + encode.seconds

    def per_request(server: SandboxServer) -> float | None:
        n = server.total_requests()
        return round(1000 * server.service_seconds / n, 3) if n else None

    return {
        "calls": dict(sorted(calls.items())),
        "total": requests,
        "sandbox_seconds": round(service, 3),
        "sandbox_encode_seconds": round(encode.seconds, 3),
        "sandbox_ms_per_request": round(1000 * service / requests, 3) if requests else 0.0,
        "sandbox_ms_per_request_by_server": {
            "okta": per_request(sb.okta),
            "salesforce": per_request(sb.salesforce),
        },
    }


def _child_env(sb: Sandboxes, workdir: Path, settings: Settings) -> dict[str, str]:
    return {
        **settings.child_env(),
        **sb.connection_env(),
        "AIRFLOW_HOME": str(workdir / "airflow"),
        "OKTA_SALESFORCE_STORAGE": (workdir / "runs").as_uri(),
        # Shared between the task "processes" as a deployment's Variable store is (a 0600 file here).
        "OKTA_SALESFORCE_TOKEN_STORE": f"file:{workdir / 'tokens'}",
        "OKTA_SALESFORCE_LOCK_DIR": str(workdir / "locks"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    }


def _sandboxes(people: int, settings: Settings, workdir: Path) -> Sandboxes:
    from okta_salesforce_testbed.sandbox import Sandboxes, Scenario

    return Sandboxes(
        users=people,
        seed=settings.seed,
        scenario=Scenario.with_change_rate(settings.change_rate),
        latency=settings.latency,
        directory=workdir / "sandbox",
    )


@contextlib.contextmanager
def _frozen_heap() -> Iterator[None]:
    """Move the seeded sandboxes out of the cyclic GC's reach while they serve (``gc.freeze``).

    They are millions of long-lived objects in this process; every page a sandbox renders
    allocates thousands of short-lived ones, and the collections those trigger would scan the
    seeded state again and again (about a third of the Okta sandbox's time per 500-user page).
    """
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def run_ours(n: int, settings: Settings, log: Callable[[str], None]) -> dict[str, Any]:
    """One full reconcile in a child process against freshly seeded sandboxes."""
    people = company_size(n, settings.change_rate)
    with tempfile.TemporaryDirectory(prefix=f"bench-ours-{n}-") as tmp:
        workdir = Path(tmp)
        seeding = time.monotonic()
        sandboxes = _sandboxes(people, settings, workdir)
        seed_seconds = time.monotonic() - seeding
        with sandboxes as sb, _frozen_heap():
            sandbox_rss = _rss_mb()
            salesforce_users = len(sb.salesforce_app.org.table("User"))
            log(f"  ours N={n}: seeded {people} people in {seed_seconds:.1f} s; running the reconcile")
            okta_first, salesforce_first = _FirstRequest(sb.okta), _FirstRequest(sb.salesforce)
            sb.reset_counters()
            with _EncodeClock() as encode:
                result, spawned, wall = _child("benchmarks.reconcile", [], _child_env(sb, workdir, settings))
            counters = _counters(sb, encode)
    firsts = [t for t in (okta_first.at, salesforce_first.at) if t is not None]
    changes = sum(result["plan_counts"].get(kind, 0) for kind in WRITE_KINDS)
    floor = floor_calls(result["assignments"], salesforce_users, changes)
    return {
        "approach": "ours",
        "n": n,
        "people": people,
        "assigned": result["assignments"],
        "salesforce_users": salesforce_users,
        "changes": changes,
        "plan_counts": result["plan_counts"],
        "report_failed": result["report_failed"],
        **counters,
        "floor": floor,
        "ours_over_floor": round(counters["total"] / floor, 3),
        "wall_seconds": round(wall, 2),
        "work_seconds": round(result["seconds"], 2),
        "phases": result["phases"],
        "task_peak_rss_mb": result.get("task_peak_rss_mb", {}),
        "startup_seconds": round(result["main_entered_monotonic"] - spawned, 3),
        "first_call_seconds": round(min(firsts) - spawned, 3) if firsts else None,
        # What a task adds before its first request once the Task SDK is loaded (the task runner
        # has it loaded already): our operator, hook, okta SDK and aiohttp imports, config, connection.
        "task_overhead_seconds": round(min(firsts) - result["airflow_ready_monotonic"], 3)
        if firsts
        else None,
        "peak_rss_mb": result["peak_rss_mb"],
        "seed_seconds": round(seed_seconds, 2),
        # This (the parent) process after seeding: both sandboxes' state, what limits N here.
        "sandbox_rss_mb": sandbox_rss,
        "extrapolated": False,
    }


def run_baseline(n: int, settings: Settings, log: Callable[[str], None]) -> dict[str, Any]:
    """The per-user template flow for every assigned user, in a child process."""
    people = company_size(n, settings.change_rate)
    with tempfile.TemporaryDirectory(prefix=f"bench-base-{n}-") as tmp:
        workdir = Path(tmp)
        with _sandboxes(people, settings, workdir) as sb, _frozen_heap():
            events = workdir / "events.jsonl"
            assigned = [p for p in sb.seed.people if p.assigned]
            # What "User Assigned to Application" carries: the user's id and the app username.
            events.write_text(
                "".join(json.dumps({"okta_id": p.okta_id, "login": p.login}) + "\n" for p in assigned),
                "utf-8",
            )
            log(
                f"  baseline N={n}: {len(assigned)} template flows, {settings.baseline_concurrency} at a time"
            )
            sb.reset_counters()
            args = ["--events", str(events), "--concurrency", str(settings.baseline_concurrency)]
            with _EncodeClock() as encode:
                result, _, wall = _child("benchmarks.baseline", args, _child_env(sb, workdir, settings))
            counters = _counters(sb, encode)
    return {
        "approach": "baseline",
        "n": n,
        "people": people,
        "assigned": len(assigned),
        "outcomes": result["outcomes"],
        **counters,
        "wall_seconds": round(wall, 2),
        "work_seconds": round(result["seconds"], 2),
        "peak_rss_mb": result["peak_rss_mb"],
        "concurrency": settings.baseline_concurrency,
        "extrapolated": False,
    }


def extrapolate_baseline(measured: dict[str, Any], n: int, assigned: int) -> dict[str, Any]:
    """A baseline row for ``n`` scaled linearly (calls and time per assigned user) from a measured one."""
    scale = assigned / measured["assigned"]
    return {
        "approach": "baseline",
        "n": n,
        "assigned": assigned,
        "calls": {k: round(v * scale) for k, v in measured["calls"].items()},
        "total": round(measured["total"] * scale),
        "sandbox_ms_per_request": None,
        "wall_seconds": round(measured["wall_seconds"] * scale, 1),
        "work_seconds": round(measured["work_seconds"] * scale, 1),
        "peak_rss_mb": None,
        "concurrency": measured.get("concurrency"),
        "extrapolated": True,
        "extrapolated_from": measured["n"],
    }


def machine() -> dict[str, Any]:
    """Cores, CPU model, memory and Python of this machine (the load is recorded around the run)."""
    import platform

    info: dict[str, Any] = {"cpus": os.cpu_count(), "python": sys.version.split()[0]}
    info["platform"] = platform.platform()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu_model"] = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                info["memory_gb"] = round(int(line.split()[1]) / 1024 / 1024, 1)
                break
    except OSError:
        pass
    return info


def event_latency(path: Path) -> dict[str, Any] | None:
    """The event-freshness figures of ``scripts/bench.sh events`` (``event-latency.json``), if present."""
    try:
        document = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return {
        "file": str(path.relative_to(REPO_ROOT)) if path.is_relative_to(REPO_ROOT) else str(path),
        "date": document.get("date"),
        "machine": document.get("machine"),
        "modes": [{k: v for k, v in mode.items() if k != "delays_s"} for mode in document.get("modes", [])],
    }


def run_all(settings: Settings, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Every measurement of one invocation; returns the results document."""
    from benchmarks.parse import measure

    started = time.time()
    load_before = os.getloadavg()
    if settings.warm_up and settings.bytecode_cache is not None:
        log(
            f"  warm-up: a small reconcile and one parse per DAG file (bytecode in {settings.bytecode_cache})"
        )
        warm = Settings(latency=0.0, seed=settings.seed, bytecode_cache=settings.bytecode_cache)
        run_ours(200, warm, lambda _: None)
        measure(list(settings.dags), repetitions=1, env=settings.child_env())
    rows: list[dict[str, Any]] = []
    for n in sorted(settings.sizes):
        ours = run_ours(n, settings, log)
        log(f"  ours N={n}: {ours['total']} calls, {ours['wall_seconds']} s, {ours['peak_rss_mb']} MB")
        rows.append(ours)
        if n <= settings.baseline_max:
            base = run_baseline(n, settings, log)
            log(f"  baseline N={n}: {base['total']} calls, {base['wall_seconds']} s")
        else:
            measured = [r for r in rows if r["approach"] == "baseline" and not r["extrapolated"]]
            if not measured:
                continue
            base = extrapolate_baseline(measured[-1], n, ours["assigned"])
        base["baseline_over_ours"] = round(base["total"] / ours["total"], 1)
        ours["baseline_over_ours"] = base["baseline_over_ours"]
        rows.append(base)
    log(
        f"  DAG parse: {len(settings.dags)} files + a trivial DAG, "
        f"{settings.parse_repetitions} fresh processes each"
    )
    parse = measure(list(settings.dags), repetitions=settings.parse_repetitions, env=settings.child_env())
    return {
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(started)),
        "seconds": round(time.time() - started, 1),
        "settings": {
            "sizes": list(settings.sizes),
            "latency_ms": settings.latency * 1000,
            "change_rate": settings.change_rate,
            "seed": settings.seed,
            "baseline_concurrency": settings.baseline_concurrency,
            "parse_repetitions": settings.parse_repetitions,
            "floor_constant": FLOOR_CONSTANT,
            "bytecode_cache": settings.bytecode_cache is not None,
        },
        "machine": {
            **machine(),
            "load_before": [round(x, 2) for x in load_before],
            "load_after": [round(x, 2) for x in os.getloadavg()],
        },
        "reconcile": rows,
        "parse": parse,
        "events": event_latency(REPO_ROOT / "benchmarks" / "results" / "event-latency.json"),
        "task_overhead_seconds_median": statistics.median(
            r["task_overhead_seconds"] for r in rows if r.get("task_overhead_seconds") is not None
        ),
    }
