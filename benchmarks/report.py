"""Tables of a benchmark results document: plain text for the terminal, Markdown for the docs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

#: (header, how to read the cell from a reconcile row).
_COLUMNS: list[tuple[str, Any]] = [
    ("N", lambda r: f"{r['n']:,}"),
    ("approach", lambda r: r["approach"] + (" (extrapolated)" if r["extrapolated"] else "")),
    ("calls", lambda r: f"{r['total']:,}"),
    ("calls/user", lambda r: f"{r['total'] / r['assigned']:.4f}"),
    ("okta pages", lambda r: _calls(r, "okta:apps.users.list")),
    ("sf token", lambda r: _calls(r, "salesforce:oauth.token")),
    ("sf SOQL", lambda r: _calls(r, "salesforce:data.query", "salesforce:data.query_more")),
    ("sf describe", lambda r: _calls(r, "salesforce:data.describe")),
    (
        "sf batch writes",
        lambda r: _calls(r, "salesforce:data.composite.create", "salesforce:data.composite.update"),
    ),
    (
        "sf single writes",
        lambda r: _calls(r, "salesforce:data.sobject.create", "salesforce:data.sobject.update"),
    ),
    ("floor", lambda r: _get(r, "floor")),
    ("ours/floor", lambda r: _get(r, "ours_over_floor")),
    ("baseline/ours", lambda r: _get(r, "baseline_over_ours")),
    ("wall s", lambda r: _get(r, "wall_seconds")),
    ("peak RSS MB", lambda r: _get(r, "peak_rss_mb")),
    ("sandbox ms/req", lambda r: _get(r, "sandbox_ms_per_request")),
]


def _get(row: dict[str, Any], key: str) -> str:
    value = row.get(key)
    return "-" if value is None else str(value)


def _calls(row: dict[str, Any], *endpoints: str) -> str:
    return str(sum(row["calls"].get(e, 0) for e in endpoints))


def reconcile_table(rows: Sequence[dict[str, Any]]) -> list[list[str]]:
    """Header plus one row per (N, approach)."""
    return [[h for h, _ in _COLUMNS]] + [[cell(r) for _, cell in _COLUMNS] for r in rows]


#: Phases of our reconcile in the order they run.
PHASES = (
    "import_airflow",
    "import_operators",
    "poll_okta",
    "plan",
    "create_users",
    "activate_users",
    "update_users",
    "deprovision_users",
    "report",
)


def phases_table(rows: Sequence[dict[str, Any]]) -> list[list[str]]:
    """Seconds per DAG task of our reconcile, with interpreter start and first API call."""
    ours = [r for r in rows if r["approach"] == "ours"]
    seen = {k for r in ours for k in r["phases"]}
    names = [p for p in PHASES if p in seen] + sorted(seen - set(PHASES))
    header = [
        "N",
        "startup s",
        "first call s",
        "task overhead s",
        *[f"{n} s" for n in names],
        "work s",
        "wall s",
    ]
    body = [
        [
            f"{r['n']:,}",
            str(r["startup_seconds"]),
            _get(r, "first_call_seconds"),
            _get(r, "task_overhead_seconds"),
            *[f"{r['phases'].get(n, 0):.2f}" for n in names],
            str(r["work_seconds"]),
            str(r["wall_seconds"]),
        ]
        for r in ours
    ]
    return [header, *body]


def memory_table(rows: Sequence[dict[str, Any]]) -> list[list[str]]:
    """Peak RSS (MB) of our reconcile during each DAG task (``VmHWM`` reset before each task)."""
    ours = [r for r in rows if r["approach"] == "ours" and r.get("task_peak_rss_mb")]
    seen = {k for r in ours for k in r["task_peak_rss_mb"]}
    names = [p for p in PHASES if p in seen]
    header = [
        "N",
        *[f"{n} MB" for n in names],
        "sandbox s (incl. encode)",
        "okta handler ms/req",
        "sf handler ms/req",
    ]
    body = []
    for r in ours:
        by_server = r.get("sandbox_ms_per_request_by_server", {})
        body.append(
            [
                f"{r['n']:,}",
                *[str(r["task_peak_rss_mb"].get(n, "-")) for n in names],
                _get(r, "sandbox_seconds"),
                _get(by_server, "okta"),
                _get(by_server, "salesforce"),
            ]
        )
    return [header, *body]


def parse_table(rows: Sequence[dict[str, Any]]) -> list[list[str]]:
    """Median parse milliseconds per DAG file and the ratio to the trivial DAG."""
    header = ["DAG file", "median ms", "min ms", "x trivial", "dags", "import errors"]
    return [header] + [
        [r["file"], str(r["median_ms"]), str(r["min_ms"]), str(r["ratio"]), str(r["dags"]), str(r["errors"])]
        for r in rows
    ]


def text(table: list[list[str]]) -> str:
    """A fixed-width table."""
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    lines = ["  ".join(cell.rjust(w) for cell, w in zip(row, widths, strict=True)) for row in table]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def markdown(table: list[list[str]]) -> str:
    """A GitHub Markdown table."""
    lines = ["| " + " | ".join(table[0]) + " |", "|" + "|".join("---:" for _ in table[0]) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in table[1:]]
    return "\n".join(lines)


def targets(document: dict[str, Any]) -> list[tuple[str, str, bool | None]]:
    """Each target of issue 8: (target, measured, met); ``met`` is None when not measured."""
    rows = document["reconcile"]
    ours = {r["n"]: r for r in rows if r["approach"] == "ours"}
    out: list[tuple[str, str, bool | None]] = []
    for n, r in sorted(ours.items()):
        out.append(
            (f"calls <= 1.05 x floor (N={n:,})", f"{r['ours_over_floor']} x", r["ours_over_floor"] <= 1.05)
        )
    if 10_000 in ours and ours[10_000].get("baseline_over_ours") is not None:
        ratio = ours[10_000]["baseline_over_ours"]
        out.append(("baseline/ours >= 100 (N=10,000)", f"{ratio}", ratio >= 100))
    if 100_000 in ours:
        r = ours[100_000]
        out.append(("N=100,000 wall <= 60 s", f"{r['wall_seconds']} s", r["wall_seconds"] <= 60))
        out.append(("N=100,000 peak RSS <= 500 MB", f"{r['peak_rss_mb']} MB", r["peak_rss_mb"] <= 500))
    for p in document["parse"][1:]:
        out.append((f"parse {p['file']} <= 1.2 x trivial", f"{p['ratio']} x", p["ratio"] <= 1.2))
    return out


def render_text(document: dict[str, Any]) -> str:
    """Everything, for the terminal."""
    s = document["settings"]
    parts = [
        f"Reconcile at {s['latency_ms']:g} ms per request, {s['change_rate']:.0%} of users needing a change "
        f"(floor = ceil(N/500) + ceil(M/2000) + ceil(k/200) + {s['floor_constant']}):",
        text(reconcile_table(document["reconcile"])),
        "",
        "Our reconcile, seconds per DAG task (one child process; startup = interpreter start to main();"
        " task overhead = Task SDK loaded to first API call):",
        text(phases_table(document["reconcile"])),
        "",
        "Our reconcile, peak RSS during each task, and the sandboxes' own time (without the latency):",
        text(memory_table(document["reconcile"])),
        "",
        f"DAG parse, each in a fresh process, median of {s['parse_repetitions']}:",
        text(parse_table(document["parse"])),
        "",
        "Targets:",
        *[f"  [{_mark(met)}] {name}: {value}" for name, value, met in targets(document)],
        "",
        f"Machine: {document['machine']['cpus']} CPUs, load {document['machine']['load_before']} before, "
        f"{document['machine']['load_after']} after; {document['seconds']} s in all.",
    ]
    return "\n".join(parts)


def render_markdown(document: dict[str, Any]) -> str:
    """Everything, as a Markdown fragment (``benchmarks/results/*.md``)."""
    s = document["settings"]
    lines = [
        f"# Benchmark results ({document['started']})",
        "",
        f"Latency {s['latency_ms']:g} ms per request, change rate {s['change_rate']:.0%}, seed {s['seed']}, "
        f"baseline concurrency {s['baseline_concurrency']}; machine: {document['machine']['cpus']} CPUs, "
        f"load average {document['machine']['load_before']} before and "
        f"{document['machine']['load_after']} after.",
        "",
        "## API calls, time and memory",
        "",
        markdown(reconcile_table(document["reconcile"])),
        "",
        "## Our reconcile by DAG task (seconds)",
        "",
        markdown(phases_table(document["reconcile"])),
        "",
        "## Our reconcile: peak RSS by DAG task (MB), sandbox time",
        "",
        markdown(memory_table(document["reconcile"])),
        "",
        f"## DAG parse time (fresh process per parse, median of {s['parse_repetitions']})",
        "",
        markdown(parse_table(document["parse"])),
        "",
        "## Targets",
        "",
        *[f"- {'met' if met else 'MISSED'}: {name}: {value}" for name, value, met in targets(document)],
        "",
    ]
    return "\n".join(lines)


def _mark(met: bool | None) -> str:
    return "?" if met is None else ("ok" if met else "MISSED")
